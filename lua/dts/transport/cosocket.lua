-- luacheck: globals ngx
-- The transport inside nginx (OpenResty or Debian's Lua module): pure Lua
-- on ngx.socket.tcp, so a call yields to the worker's event loop instead
-- of blocking it.  dts.curl is never loaded here.
--
-- * TLS is verified against nginx's `lua_ssl_trusted_certificate` (with
--   `lua_ssl_verify_depth`): this lua-nginx-module cannot take a CA file
--   per socket, so the ca_file/ca_path options do not apply, and a failed
--   verification says where the CA comes from.  The certificate is checked
--   against the URL's host *name* (also the SNI and the Host header); the
--   TCP connection goes to connect_address when one is set.  Host names
--   need a `resolver` in nginx.conf unless connect_address is set.
-- * Calls work in the phases where cosockets do (rewrite, access, content,
--   timers, ssl_certificate, ssl_session_fetch, ssl_client_hello).  In the
--   others every call returns an invalid_argument error naming the phase
--   (err.phase) and pointing to ngx.timer.at; nothing ever blocks instead.
-- * Connections go back to nginx's keep-alive pool (sized and timed by
--   `lua_socket_pool_size` / `lua_socket_keepalive_timeout`) only after a
--   complete answer; the pool is named from the scheme, the address, port,
--   SNI host, verify mode, proxy and client certificate path, never from a
--   credential.  transport.connections counts, per worker, the connections
--   opened and those taken from the pool.  A kept-alive connection the
--   server closed meanwhile fails before any answer: that request is sent
--   again on another connection (at most twice).
--   (Nor from lua_ssl_trusted_certificate, which Lua cannot read: locations
--   that set different ones share connections to the same endpoint.)
-- * timeout bounds the whole call (connect, proxy, handshake, send, read,
--   the resends of a stale keep-alive connection), whatever the server does:
--   every operation waits at most what is left, and a watchdog light thread
--   ends the exchange at the deadline.  connect_timeout bounds the connect
--   alone.  What a server sends is capped while it is read (status line,
--   header lines and block, chunk size lines, interim answers, the body:
--   see transport/http1.lua), so no answer grows the worker's memory.
-- * proxy = "http://[user:password@]host:port": HTTPS goes through a
--   CONNECT tunnel, plain http in absolute form; no_proxy lists host names
--   (and their subdomains) that go direct.  Only the options count here:
--   nginx hides the *_proxy environment variables unless `env` lists them.
-- * shared_dict = "name" (a `lua_shared_dict`): a throttled call records
--   "throttled until" for its endpoint there, and every worker's calls to
--   that endpoint wait it out (ngx.sleep) before sending.
--
-- Nothing here touches the network or reads a file before the first call.

local errors = require "dts.errors"
local http1 = require "dts.transport.http1"

local transport = {}
transport.__index = transport

local DEFAULT_MAX = 8 * 1024 * 1024
local STALE_RETRIES = 2

-- Where ngx.socket.tcp and ngx.sleep work (lua-nginx-module's "context:"
-- lines for them).
local ALLOWED = {
  rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true,
}
transport.ALLOWED_PHASES = ALLOWED

-- The host each light thread last sent to, for sleep() to know which
-- endpoint a throttling error came from.  Weak: threads come and go.
local last_host = setmetatable({}, { __mode = "k" })

local function thread_key()
  return coroutine.running() or "main"
end

local function invalid(message, fields)
  local f = fields or {}
  f.message = message
  return errors.new("invalid_argument", f)
end

local function phase_error(phase)
  return invalid(("cannot send a request in nginx's %s phase: cosockets are not "
    .. "available there and lua-dts never falls back to a blocking call; run it in a "
    .. "timer instead, e.g. ngx.timer.at(0, function(premature) ... end)"):format(phase),
    { phase = phase })
end

local function positive(name, v)
  if v ~= nil and (type(v) ~= "number" or v ~= v or v <= 0 or v == math.huge) then
    return nil, invalid(name .. ": expected a positive number of seconds", { param = name })
  end
  return true
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- "http://[user:password@]host[:port]" or "host[:port]".
local function parse_proxy(s)
  local scheme, rest = s:match("^(%a[%w+.-]*)://(.*)$")
  if scheme and scheme:lower() ~= "http" then
    return nil, "proxy: only http:// proxies are supported by the cosocket transport"
  end
  rest = (rest or s):gsub("/.*$", "")
  local userinfo, hostport = rest:match("^(.*)@(.-)$")
  hostport = hostport or rest
  local host, port = hostport:match("^%[([%x:.]+)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([%w.%-]+):?(%d*)$") end
  if not host or host == "" then
    return nil, 'proxy: expected "http://host:port"'
  end
  port = port ~= "" and tonumber(port) or 1080
  if port < 1 or port > 65535 then return nil, "proxy: port out of range" end
  local p = { host = host, port = port, id = host .. ":" .. port }
  if userinfo then
    p.authorization = "Basic " .. ngx.encode_base64(unescape(userinfo))
  end
  return p
end

local function bypass(no_proxy, host)
  if not no_proxy then return false end
  for entry in no_proxy:gmatch("[^,%s]+") do
    entry = entry:lower():gsub("^%.", "")
    if entry == "*" or host == entry or host:sub(-#entry - 1) == "." .. entry then
      return true
    end
  end
  return false
end

-- transport.new(settings) -> transport | nil, err
-- settings: connect_timeout, timeout, connect_address, insecure_host,
-- allow_http, max_response_size, user_agent, proxy, no_proxy, client_cert,
-- client_key, shared_dict; ca_file and ca_path are only remembered for the
-- message of a failed verification.
function transport.new(opts)
  opts = opts or {}
  if type(ngx) ~= "table" or type(ngx.socket) ~= "table" or type(ngx.get_phase) ~= "function" then
    return nil, invalid("transport: the cosocket transport runs only inside nginx's Lua module "
      .. "(ngx.socket.tcp is missing); use transport = \"curl\" in plain Lua", { param = "transport" })
  end
  for _, name in ipairs{ "connect_timeout", "timeout", "max_response_size" } do
    local ok, err = positive(name, opts[name])
    if not ok then return nil, err end
  end
  if opts.max_response_size and opts.max_response_size % 1 ~= 0 then
    return nil, invalid("max_response_size: expected a whole number of bytes", { param = "max_response_size" })
  end
  if type(opts.user_agent) == "string" and http1.control_char(opts.user_agent) then
    return nil, invalid(("user_agent: control character %s is not allowed in a header value")
      :format(http1.control_char(opts.user_agent)), { param = "user_agent" })
  end
  if (opts.client_cert == nil) ~= (opts.client_key == nil) then
    return nil, invalid("client_cert: client_cert and client_key go together", { param = "client_cert" })
  end
  local self = setmetatable({
    name = "cosocket",
    connect_timeout = opts.connect_timeout or 5,
    timeout = opts.timeout or 30,
    connect_address = opts.connect_address,
    insecure_host = opts.insecure_host and opts.insecure_host:lower(),
    allow_http = opts.allow_http or false,
    max_response_size = opts.max_response_size or DEFAULT_MAX,
    user_agent = opts.user_agent,
    no_proxy = opts.no_proxy,
    client_cert = opts.client_cert, client_key = opts.client_key,
    ca_option = (opts.ca_file and "ca_file") or (opts.ca_path and "ca_path") or nil,
    -- Per worker: connections this transport opened, and took from the pool.
    connections = { opened = 0, reused = 0 },
  }, transport)
  if opts.connect_address ~= nil and
     (type(opts.connect_address) ~= "string" or not opts.connect_address:match("^[%w.:%-]+$")) then
    return nil, invalid("connect_address: expected an IP address or host name", { param = "connect_address" })
  end
  if opts.proxy and opts.proxy ~= "" then
    local p, err = parse_proxy(opts.proxy)
    if not p then return nil, invalid(err, { param = "proxy" }) end
    self.proxy = p
  end
  if opts.shared_dict ~= nil then
    if type(opts.shared_dict) ~= "string" then
      return nil, invalid("shared_dict: expected the name of a lua_shared_dict", { param = "shared_dict" })
    end
    local dict = ngx.shared and ngx.shared[opts.shared_dict]
    if not dict then
      return nil, invalid(("shared_dict: nginx.conf declares no lua_shared_dict %s"):format(
        opts.shared_dict), { param = "shared_dict" })
    end
    self.dict = dict
  end
  return self
end

local function now()
  ngx.update_time()
  return ngx.now()
end

local function ms(seconds)
  return math.max(1, math.floor(seconds * 1000 + 0.5))
end

local function throttle_key(host)
  return "lua-dts:throttled-until:" .. host
end

-- The shared back-off: wait until a throttling recorded by any worker is
-- over, or the call's deadline.
local function wait_throttle(self, host, deadline)
  if not self.dict then return end
  local until_time = self.dict:get(throttle_key(host))
  if type(until_time) == "number" then
    local wait = math.min(until_time, deadline) - now()
    if wait > 0 then ngx.sleep(wait) end
  end
end

local function is_throttling(err)
  local code = type(err) == "table" and (err.bare_code or err.code)
  return type(code) == "string" and code:find("^Throttling") ~= nil
end

-- Records "throttled until now + seconds" for the endpoint: add() is
-- atomic and the TTL ends the window by itself; extending an open window
-- (get, then set) may lose to a concurrent extension, which only means the
-- shorter of two close back-offs.
local function record_throttle(self, seconds)
  local host = last_host[thread_key()]
  if not host or seconds <= 0 then return end
  local key, until_time = throttle_key(host), now() + seconds
  local ttl = math.max(seconds, 0.001)
  local ok, err = self.dict:add(key, until_time, ttl)
  if not ok and err == "exists" then
    local current = self.dict:get(key)
    if type(current) ~= "number" or current < until_time then
      self.dict:set(key, until_time, ttl)
    end
  end
end

-- transport:sleep(seconds, err): the pause before a retry, yielding to the
-- event loop; err is the failure being backed off from.
function transport:sleep(seconds, err)
  if self.dict and is_throttling(err) then
    record_throttle(self, seconds)
  end
  if type(seconds) == "number" and seconds > 0 and ALLOWED[ngx.get_phase()] then
    ngx.sleep(seconds)
  end
end

local function load_client_cert(self)
  if self.cert_cdata then return true end
  local ok, ssl = pcall(require, "ngx.ssl")
  if not ok then
    return nil, "client_cert: needs lua-resty-core's ngx.ssl module"
  end
  local function read(path)
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local data = f:read("*a")
    f:close()
    return data
  end
  local pem, err = read(self.client_cert)
  if not pem then return nil, "client_cert: " .. tostring(err) end
  local cert
  cert, err = ssl.parse_pem_cert(pem)
  if not cert then return nil, "client_cert: " .. tostring(err) end
  pem, err = read(self.client_key)
  if not pem then return nil, "client_key: " .. tostring(err) end
  local key
  key, err = ssl.parse_pem_priv_key(pem)
  if not key then return nil, "client_key: " .. tostring(err) end
  self.cert_cdata, self.key_cdata = cert, key
  return true
end

local function pool_name(self, url, verify, proxy)
  return table.concat({
    "lua-dts", url.scheme, self.connect_address or url.host, tostring(url.port),
    url.host, verify and "verify" or "noverify",
    proxy and proxy.id or "direct", self.client_cert or "",
  }, "|")
end

-- A failure of one exchange: the error, and whether it happened on a
-- kept-alive connection before any byte of an answer (then the server had
-- closed it, and a fresh connection may be tried).
local function failure(kind, message, stale)
  return nil, errors.new(kind, { message = message }), stale
end

local function connect_failure(url, err, where)
  local message = url.origin .. ": cannot connect"
    .. (where and (" to " .. where) or "") .. ": " .. tostring(err)
  if err == "timeout" then
    return failure("timeout", url.origin .. ": timed out connecting"
      .. (where and (" to " .. where) or ""))
  end
  if tostring(err):find("resolve", 1, true) then
    message = message .. '; nginx resolves host names only with a "resolver" directive in '
      .. "nginx.conf: add one, or set connect_address to the endpoint's IP address"
  end
  return failure("network", message)
end

local function tls_failure(self, url, verify, err)
  local message = url.origin .. ": TLS handshake failed: " .. tostring(err)
  err = tostring(err)
  local unknown = err:find("closed the connection", 1, true)
  if err:find("host mismatch", 1, true) or (unknown and url.ip) then
    if url.ip then
      message = message .. "; the Lua module checks certificates against host names only: "
        .. "use the host name as endpoint and connect_address for the IP address"
    else
      message = message .. "; the server's certificate does not name " .. url.host
    end
  end
  if verify and (err:find("verify", 1, true) or err:match("^%d+:") or unknown) then
    message = message .. "; nginx verifies the server with the CAs of lua_ssl_trusted_certificate "
      .. "(and lua_ssl_verify_depth) in nginx.conf: point it at a bundle that holds the CA "
      .. "of the endpoint's certificate"
      .. (self.ca_option and (" (the " .. self.ca_option .. " option does not apply inside nginx)") or "")
  end
  return failure("tls", message)
end

-- Said of every timeout: what the limit was.
local function whole(limits)
  return (" (timeout = %gs bounds the whole call)"):format(limits.timeout)
end

-- One request on one connection (kept-alive or new).
local function exchange(self, url, bytes, limits)
  local verify = url.scheme == "https" and url.host ~= self.insecure_host
  local unsafe = (url.scheme == "https" and not verify)
    and " (TLS verification is disabled for this host: unsafe)" or ""
  local proxy = self.proxy and not bypass(self.no_proxy, url.host) and self.proxy or nil
  -- Said at the end of every error of this exchange.
  local note = (proxy and (" (through the proxy " .. proxy.id .. ")") or "") .. unsafe
  local deadline = limits.deadline
  local sock = ngx.socket.tcp()
  -- For the watchdog (bounded): what to close, and what to say.
  limits.sock, limits.note, limits.stage = sock, note, "connecting"

  -- Before every read and write: the time still left for the whole call.
  local function tick()
    local rest = deadline - now()
    if rest <= 0 then return false, "timeout" end
    sock:settimeouts(ms(math.min(limits.connect_timeout, rest)), ms(rest), ms(rest))
    return true
  end

  if not tick() then
    return failure("timeout", url.origin .. ": timed out before connecting" .. whole(limits) .. note)
  end
  local address, port = self.connect_address or url.host, url.port
  if proxy then address, port = proxy.host, proxy.port end
  local ok, err = sock:connect(address, port, { pool = pool_name(self, url, verify, proxy) })
  if not ok then
    local where = proxy and ("the proxy " .. proxy.id)
      or (self.connect_address and ("connect_address " .. self.connect_address)) or nil
    local _, e, s = connect_failure(url, err, where)
    e.message = e.message .. unsafe
    return nil, e, s
  end
  local reused = (sock:getreusedtimes() or 0) > 0
  local counts = self.connections
  if reused then counts.reused = counts.reused + 1 else counts.opened = counts.opened + 1 end

  local function fail(kind, message, got_bytes)
    sock:close()
    if kind == "timeout" then message = message .. whole(limits) end
    return failure(kind, url.origin .. ": " .. message .. note,
      reused and not got_bytes and kind == "network")
  end

  if not reused then
    if proxy and url.scheme == "https" then
      local authority = (url.host:find(":", 1, true) and ("[" .. url.host .. "]") or url.host)
        .. ":" .. url.port
      local lines = { "CONNECT " .. authority .. " HTTP/1.1", "Host: " .. authority }
      if proxy.authorization then
        lines[#lines + 1] = "Proxy-Authorization: " .. proxy.authorization
      end
      lines[#lines + 1] = "\r\n"
      limits.stage = "opening the tunnel through the proxy"
      if not tick() then return fail("timeout", "timed out opening the tunnel through the proxy") end
      local _, serr = sock:send(table.concat(lines, "\r\n"))
      if serr then return fail(serr == "timeout" and "timeout" or "network", "proxy " .. proxy.id .. ": " .. serr) end
      local res, kind, message = http1.read_response(sock, "CONNECT", 65536, tick)
      if not res then return fail(kind, "proxy " .. proxy.id .. ": " .. message) end
      if res.status ~= 200 then
        return fail("network", ("the proxy %s refused the tunnel (HTTP %d)"):format(proxy.id, res.status))
      end
    end
    if url.scheme == "https" then
      if self.client_cert then
        local loaded, lerr = load_client_cert(self)
        if not loaded then return fail("tls", lerr) end
        local set, serr = sock:setclientcert(self.cert_cdata, self.key_cdata)
        if not set then return fail("tls", "client certificate: " .. tostring(serr)) end
      end
      limits.stage = "during the TLS handshake"
      if not tick() then return fail("timeout", "timed out during the TLS handshake") end
      local done, herr = sock:sslhandshake(false, url.host, verify)
      -- lua-nginx-module 0.10.23 may report success for a handshake that
      -- failed after waiting for the server (a certificate that does not
      -- verify): the socket is then closed already, and its reason only
      -- in nginx's error log.
      if done and not sock:getreusedtimes() then
        done, herr = nil, "nginx closed the connection during the handshake "
          .. "(its error log says why)"
      end
      if not done then
        sock:close()
        if herr == "timeout" then
          return failure("timeout", url.origin .. ": timed out during the TLS handshake" .. whole(limits) .. note)
        end
        local _, e = tls_failure(self, url, verify, herr)
        e.message = e.message .. note
        return nil, e
      end
    end
  end

  limits.stage = "sending the request"
  if not tick() then return fail("timeout", "timed out before sending") end
  local _, serr = sock:send(bytes)
  if serr then
    if serr == "timeout" then return fail("timeout", "timed out sending the request") end
    return fail("network", "sending the request: " .. serr)
  end
  limits.stage = "waiting for the answer"
  local res, kind, message, got_bytes = http1.read_response(sock, limits.method,
    self.max_response_size, tick)
  if not res then
    if kind == "protocol" and message:find("max_response_size", 1, true) then
      message = message .. "; raise max_response_size in dts.new{}"
    end
    return fail(kind, message, got_bytes)
  end
  if kind then -- keep-alive allowed: the answer was read to its end
    sock:setkeepalive()
  else
    sock:close()
  end
  return res
end

local WATCHDOG = {}

local function watch(seconds)
  ngx.sleep(seconds)
  return WATCHDOG
end

-- One exchange in a light thread, ended at the deadline by a watchdog
-- thread.  nginx's socket timeouts bound one operation each, and a read's
-- timer restarts with every event: a TLS record passed on one byte at a
-- time (spec/08-hostile's tls_trickle) held a 0.3 s call for 13 s.  Only
-- killing the thread, which closes its socket, bounds the call whatever
-- the server does.
local function bounded(self, url, bytes, limits)
  local rest = limits.deadline - now()
  if rest <= 0 then
    return failure("timeout", url.origin .. ": timed out before connecting" .. whole(limits))
  end
  local worker = ngx.thread.spawn(exchange, self, url, bytes, limits)
  local ok, res, err, stale
  if coroutine.status(worker) == "dead" then -- done without waiting on I/O
    ok, res, err, stale = ngx.thread.wait(worker)
  else
    local watchdog = ngx.thread.spawn(watch, rest)
    ok, res, err, stale = ngx.thread.wait(worker, watchdog)
    if ok and res == WATCHDOG then
      ngx.thread.kill(worker)
      if limits.sock then limits.sock:close() end
      return failure("timeout", ("%s: timed out %s%s%s")
        :format(url.origin, limits.stage, whole(limits), limits.note or ""))
    end
    ngx.thread.kill(watchdog)
  end
  if not ok then error(res, 0) end -- a bug in exchange: as if called directly
  return res, err, stale
end

-- transport:request{ method, url, headers, body, connect_timeout, timeout }
--   -> { status, headers, body } | nil, err
-- err.kind: invalid_argument (bad request, plain http, or a phase without
-- cosockets: then err.phase is set), timeout, tls, network, protocol.
function transport:request(req)
  if getmetatable(self) ~= transport or type(req) ~= "table" then
    error("use transport:request{ url = ..., ... }", 2)
  end
  local phase = ngx.get_phase()
  if not ALLOWED[phase] then return nil, phase_error(phase) end
  local url, msg = http1.parse_url(req.url)
  if not url then return nil, invalid(msg, { param = "url" }) end
  if url.scheme == "http" and not self.allow_http then
    return nil, invalid(url.origin .. ": plain http is refused; use https (or protocol = \"http\" "
      .. "in dts.new{} for a test endpoint)", { param = "url" })
  end
  for _, name in ipairs{ "connect_timeout", "timeout" } do
    local ok, err = positive(name, req[name])
    if not ok then return nil, err end
  end
  local via_proxy = self.proxy and not bypass(self.no_proxy, url.host)
  local headers = req.headers
  if via_proxy and url.scheme == "http" and self.proxy.authorization
     and (headers == nil or type(headers) == "table") then
    headers = {}
    for k, v in pairs(req.headers or {}) do headers[k] = v end
    headers["Proxy-Authorization"] = self.proxy.authorization
  end
  local bytes, berr = http1.build_request({ method = req.method, headers = headers, body = req.body },
    url, { user_agent = self.user_agent, absolute = via_proxy and url.scheme == "http" })
  if not bytes then
    return nil, invalid(berr, { param = berr:match("^([^:]+):") })
  end
  local timeout = req.timeout or self.timeout
  local limits = {
    method = (req.method or "GET"):upper(),
    connect_timeout = req.connect_timeout or self.connect_timeout,
    timeout = timeout,
    -- One deadline for everything below, the resends included.
    deadline = now() + timeout,
  }
  last_host[thread_key()] = url.host
  wait_throttle(self, url.host, limits.deadline)
  local res, err, stale
  for _ = 0, STALE_RETRIES do
    res, err, stale = bounded(self, url, bytes, limits)
    if res or not stale then break end
  end
  if not res then return nil, err end
  return res
end

return transport
