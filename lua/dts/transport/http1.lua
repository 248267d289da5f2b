-- HTTP/1.1 framing for the cosocket transport, apart from the socket so it
-- runs (and is specified) in plain Lua too: the URL, the request bytes, and
-- one response read from anything with ngx.socket.tcp's receiveany(max).
--
-- Failures come back as (nil, kind, message); messages never hold the
-- request target, which carries the signature and the STS token.

local http1 = {}

local DEFAULT_PORT = { https = 443, http = 80 }
-- Caps on what a server may send, enforced while reading: the header
-- block (also each of its lines), the status and chunk size lines, the
-- interim (1xx) answers before the real one.
local MAX_HEADER_BYTES = 64 * 1024
local MAX_HEADERS = 200
local MAX_LINE = 8 * 1024
local MAX_INTERIM = 10

-- RFC 9110 token characters: method and header names.
local TOKEN = "^[%w!#$%%&'*+%-%.%^_`|~]+$"

local function is_ip(host)
  return host:match("^%d+%.%d+%.%d+%.%d+$") ~= nil or host:find(":", 1, true) ~= nil
end
http1.is_ip = is_ip

-- parse_url(url) -> { scheme, host, port, target, host_header, origin, ip } | nil, message
-- origin ("https://host:port") is what error messages may show.
function http1.parse_url(url)
  if type(url) ~= "string" then
    return nil, "url: expected a string, got " .. type(url)
  end
  if url:find("[%s%c]") then
    return nil, "url: contains white space or control characters"
  end
  local scheme, authority, target = url:match("^(%a[%w+.-]*)://([^/?#]*)(.*)$")
  if not scheme then
    return nil, 'url: expected "https://host[:port]/path"'
  end
  scheme = scheme:lower()
  if not DEFAULT_PORT[scheme] then
    return nil, ("url: scheme %q is not supported (https, or http with allow_http)"):format(scheme)
  end
  if authority:find("@", 1, true) then
    return nil, "url: user information in the URL is not supported"
  end
  local host, port = authority:match("^%[([%x:.]+)%]:?(%d*)$")
  if not host then
    host, port = authority:match("^([%w.%-]+):?(%d*)$")
  end
  if not host or host == "" then
    return nil, "url: expected a host name or address after " .. scheme .. "://"
  end
  local explicit = port ~= ""
  port = explicit and tonumber(port) or DEFAULT_PORT[scheme]
  if port < 1 or port > 65535 then
    return nil, "url: port out of range"
  end
  if target == "" then
    target = "/"
  elseif target:sub(1, 1) == "#" then
    target = "/"
  elseif target:sub(1, 1) == "?" then
    target = "/" .. target
  end
  target = target:gsub("#.*$", "")
  local ip = is_ip(host)
  local bracketed = host:find(":", 1, true) and ("[" .. host .. "]") or host
  local host_header = bracketed
  if port ~= DEFAULT_PORT[scheme] then
    host_header = host_header .. ":" .. port
  end
  return {
    scheme = scheme, host = host:lower(), port = port, target = target, ip = ip,
    host_header = host_header:lower(),
    origin = scheme .. "://" .. bracketed:lower() .. ":" .. port,
  }
end

-- A control character (C0 but horizontal tab, and DEL) in a header value
-- would end the header early or smuggle another: "0x0D" for the first, or nil.
local function control_char(s)
  local c = s:match("[%z\1-\8\10-\31\127]")
  return c and ("0x%02X"):format(c:byte())
end
http1.control_char = control_char

local function header_value(name, v)
  local t = type(v)
  if t == "number" then
    v = tostring(v)
  elseif t ~= "string" then
    return nil, name .. ": expected a string, got " .. t
  end
  local c = control_char(v)
  if c then
    return nil, name .. ": control character " .. c .. " is not allowed in a header value"
  end
  return v
end

-- build_request(req, url, settings) -> bytes | nil, message
-- req: { method, headers, body }; url: from parse_url; settings:
-- { user_agent, absolute = true to send the full URL (a plain-http proxy) }.
function http1.build_request(req, url, settings)
  local method = req.method or "GET"
  if type(method) ~= "string" or not method:match(TOKEN) then
    return nil, "method: expected an HTTP method name"
  end
  method = method:upper()
  local body = req.body
  if body ~= nil and type(body) ~= "string" then
    return nil, "body: expected a string, got " .. type(body)
  end
  local headers = req.headers or {}
  if type(headers) ~= "table" then
    return nil, "headers: expected a table of name = value, got " .. type(headers)
  end
  local names, seen = {}, {}
  for name, v in pairs(headers) do
    if type(name) ~= "string" then
      return nil, "headers: expected a table of name = value, got a list entry"
    end
    if not name:match(TOKEN) then
      return nil, name .. ": not a valid header name"
    end
    local value, err = header_value(name, v)
    if not value then return nil, err end
    local lower = name:lower()
    if lower == "content-length" or lower == "transfer-encoding" or lower == "connection" then
      return nil, name .. ": set by the transport itself"
    end
    if seen[lower] then
      return nil, name .. ": given twice (in different cases)"
    end
    seen[lower] = name
    -- A signer may have signed Host: it goes first, as given.
    if lower ~= "host" then names[#names + 1] = name end
  end
  table.sort(names)
  local target = settings.absolute and (url.scheme .. "://" .. url.host_header .. url.target)
    or url.target
  local host = seen.host and header_value(seen.host, headers[seen.host]) or url.host_header
  local lines = { method .. " " .. target .. " HTTP/1.1", "Host: " .. host }
  if not seen["user-agent"] and settings.user_agent then
    local ua, err = header_value("user_agent", settings.user_agent)
    if not ua then return nil, err end
    lines[#lines + 1] = "User-Agent: " .. ua
  end
  for _, name in ipairs(names) do
    lines[#lines + 1] = name .. ": " .. header_value(name, headers[name])
  end
  if (body and body ~= "") or method == "POST" or method == "PUT" or method == "PATCH" then
    lines[#lines + 1] = "Content-Length: " .. #(body or "")
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  return table.concat(lines, "\r\n")
end

-- A buffered reader over receiveany(max), the one receive that returns as
-- soon as any bytes are there: before every read, tick() applies what is
-- left of the call's deadline (false, message when time is up), and no read
-- asks for more than the caller may still accept, so neither a server that
-- drips nor one that never ends a line can hold the call or grow memory.
local READ_LINE = 16 * 1024
local READ_BODY = 64 * 1024

local function reader(sock, tick)
  local r = { got = 0, buf = "", pos = 1 }

  -- One read of at most max bytes, once the buffer is used up.
  local function fill(max)
    if tick then
      local ok = tick()
      if not ok then return nil, "timeout" end
    end
    local data, err = sock:receiveany(max)
    if not data then return nil, err end
    r.got = r.got + #data
    r.buf, r.pos = data, 1
    return true
  end

  -- The bytes of the buffer not read yet, taken.
  local function take_rest()
    local rest = r.pos == 1 and r.buf or r.buf:sub(r.pos)
    r.buf, r.pos = "", 1
    return rest
  end

  -- A line without its CR LF, at most limit bytes: nil, "long" as soon as
  -- more came without a line end; nil, "not_http" when prefix is given
  -- and the first bytes differ from it; else nil and the socket's error.
  function r.line(limit, prefix)
    local parts, size = {}, 0
    while true do
      local nl = r.buf:find("\n", r.pos, true)
      local piece
      if nl then
        piece = r.buf:sub(r.pos, nl - 1)
        r.pos = nl + 1
      else
        piece = take_rest()
      end
      size = size + #piece
      if size > limit + 1 then return nil, "long" end -- + 1: the CR
      parts[#parts + 1] = piece
      if prefix then
        local head = table.concat(parts):sub(1, #prefix)
        if head ~= prefix:sub(1, #head) then return nil, "not_http" end
        if #head == #prefix then prefix = nil end
      end
      if nl then
        local line = table.concat(parts)
        if line:sub(-1) == "\r" then line = line:sub(1, -2) end
        return line
      end
      local ok, err = fill(math.min(READ_LINE, limit + 2 - size))
      if not ok then return nil, err end
    end
  end

  -- Exactly n bytes.
  function r.bytes(n)
    local parts, have = {}, 0
    while true do
      local avail = #r.buf - r.pos + 1
      if avail > n - have then
        parts[#parts + 1] = r.buf:sub(r.pos, r.pos + n - have - 1)
        r.pos = r.pos + n - have
        have = n
      elseif avail > 0 then
        parts[#parts + 1] = take_rest()
        have = have + avail
      end
      if have == n then return table.concat(parts) end
      local ok, err = fill(math.min(READ_BODY, n - have))
      if not ok then return nil, err end
    end
  end

  -- Everything until the server closes, at most max bytes.
  function r.rest(max)
    local parts = { take_rest() }
    local size = #parts[1]
    while size <= max do
      local ok, err = fill(math.min(READ_BODY, max - size + 1))
      if not ok then
        if err == "closed" then return table.concat(parts) end
        return nil, err
      end
      parts[#parts + 1] = take_rest()
      size = size + #parts[#parts]
    end
    return nil, "long"
  end

  -- Bytes came that nobody read (a server sending more than one answer).
  function r.leftover()
    return r.pos <= #r.buf
  end

  return r
end

-- Maps a receive error: "timeout" -> timeout, anything else -> network.
local function io_failure(r, err, what)
  if err == "timeout" then
    return nil, "timeout", "timed out " .. what, r.got > 0
  end
  if err == "closed" then
    return nil, "network", "connection closed by the server " .. what, r.got > 0
  end
  return nil, "network", tostring(err) .. " " .. what, r.got > 0
end

local function protocol(r, message)
  return nil, "protocol", message, r.got > 0
end

-- Headers until the empty line, at most limit bytes in all: lower-case
-- name -> value, repeats joined with ", " (as curl and dts.curl do).
local function read_headers(r, limit)
  local headers, count, bytes, last = {}, 0, 0, nil
  while true do
    local line, err = r.line(limit - bytes)
    if not line then
      if err == "long" then
        return protocol(r, ("the answer's headers are larger than %d bytes"):format(limit))
      end
      return io_failure(r, err, "while sending the answer's headers")
    end
    bytes = bytes + #line + 2
    if line == "" then return headers end
    if line:match("^[ \t]") then
      -- Obsolete line folding (RFC 9112 5.2): part of the previous value.
      if not last then return protocol(r, "the answer starts its headers with a continuation line") end
      headers[last] = headers[last] .. " " .. line:match("^%s*(.-)%s*$")
    else
      local name, value = line:match("^([^:%s]+):%s*(.-)%s*$")
      if not name or not name:match(TOKEN) then
        return protocol(r, "the answer has a malformed header line")
      end
      count = count + 1
      if count > MAX_HEADERS then
        return protocol(r, ("the answer has more than %d headers"):format(MAX_HEADERS))
      end
      name = name:lower()
      headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
      last = name
    end
  end
end

local function too_big(r, size, max)
  return protocol(r, ("the answer is larger than max_response_size (%s bytes > %d)"):format(
    size and tostring(size) or "more", max))
end

local function read_chunked(r, max)
  local parts, size = {}, 0
  while true do
    local line, err = r.line(MAX_LINE)
    if not line then
      if err == "long" then return protocol(r, "the answer has a malformed chunk size line") end
      return io_failure(r, err, "while sending a chunked answer")
    end
    local hex = line:match("^(%x+)[ \t]*;") or line:match("^(%x+)[ \t]*$")
    if not hex or #hex > 12 then
      return protocol(r, "the answer has a malformed chunk size line")
    end
    local n = tonumber(hex, 16)
    if n == 0 then break end
    if size + n > max then return too_big(r, size + n, max) end
    local data
    data, err = r.bytes(n)
    if not data then return io_failure(r, err, "while sending a chunked answer") end
    local crlf
    crlf, err = r.line(0)
    if crlf ~= "" then
      if crlf or err == "long" then
        return protocol(r, "the answer has a chunk longer than its size line says")
      end
      return io_failure(r, err, "while sending a chunked answer")
    end
    parts[#parts + 1] = data
    size = size + n
  end
  -- Trailers, ignored.
  local trailers, err, message = read_headers(r, MAX_HEADER_BYTES)
  if not trailers then return nil, err, message, true end
  return table.concat(parts)
end

local function has_token(value, token)
  for item in (value or ""):gmatch("[^,]+") do
    if item:match("^%s*(.-)%s*$"):lower() == token then return true end
  end
  return false
end

-- A Content-Encoding other than identity: never asked for (no request
-- sends Accept-Encoding), so the body is not what the service meant to
-- say; dts.curl refuses the same answers.
local function encoded(headers)
  local ce = headers["content-encoding"]
  if not ce then return nil end
  for item in ce:gmatch("[^,]+") do
    local token = item:match("^%s*(.-)%s*$"):lower()
    if token ~= "identity" and token ~= "" then return item:match("^%s*(.-)%s*$") end
  end
  return nil
end

-- The status line: "HTTP/1.x NNN[ reason]".
local function read_status(r)
  local line, err = r.line(MAX_LINE, "HTTP/")
  if not line then
    if err == "not_http" or err == "long" or (err == "closed" and r.got > 0) then
      return protocol(r, "the answer does not start with an HTTP/1.x status line")
    end
    return io_failure(r, err, "before answering")
  end
  local major, minor, code, rest = line:match("^HTTP/(%d)%.(%d) (%d%d%d)(.*)$")
  if not code or not (rest == "" or rest:sub(1, 1) == " ") then
    local other = line:match("^HTTP/(%d[%d.]*) ")
    if other then return protocol(r, "the answer uses HTTP/" .. other .. " on an HTTP/1.1 connection") end
    return protocol(r, "the answer does not start with an HTTP/1.x status line")
  end
  local version = tonumber(major) * 10 + tonumber(minor)
  if version < 10 or version > 11 then
    return protocol(r, "the answer uses HTTP/" .. major .. "." .. minor)
  end
  return version, tonumber(code)
end

-- read_response(sock, method, max_size [, tick]) -> res, keepalive
--   | nil, kind, message, got_bytes
-- sock: anything with ngx.socket.tcp's receiveany(max).
-- res: { status, headers (lower-case names), body }.  keepalive is true
-- only when the answer was read to its end and the connection may carry
-- another request.  got_bytes tells a failure before any byte of the
-- answer (a kept-alive connection the server had closed) from one after.
function http1.read_response(sock, method, max, tick)
  local r = reader(sock, tick)
  local status, version, headers
  local interim = 0
  repeat
    local kind, message
    version, kind, message = read_status(r)
    if not version then return nil, kind, message, r.got > 0 end
    status = kind
    headers, kind, message = read_headers(r, MAX_HEADER_BYTES)
    if not headers then return nil, kind, message, true end
    if status == 101 then return protocol(r, "the server switched protocols") end
    if status < 200 then
      interim = interim + 1
      if interim > MAX_INTERIM then
        return protocol(r, ("the server sent more than %d interim (1xx) answers"):format(MAX_INTERIM))
      end
    end
  until status >= 200

  local keepalive
  if version == 11 then
    keepalive = not has_token(headers.connection, "close")
  else
    keepalive = has_token(headers.connection, "keep-alive")
  end
  local body, err
  local te, length = headers["transfer-encoding"], headers["content-length"]
  local bodyless = method == "HEAD" or status == 204 or status == 304
     or (method == "CONNECT" and status < 300)
  local coding = not bodyless and length ~= "0" and encoded(headers)
  if coding then
    return protocol(r, ("the answer is compressed (Content-Encoding: %s), which no request asks for")
      :format(coding))
  end
  if bodyless then
    body = ""
  elseif te then
    if not has_token(te, "chunked") then
      return protocol(r, "the answer uses an unsupported transfer encoding")
    end
    local kind, message
    body, kind, message = read_chunked(r, max)
    if not body then return nil, kind, message, true end
    -- RFC 9112 6.1: with both, the length is ignored and the connection
    -- must not be reused.
    if length then keepalive = false end
  elseif length then
    if not length:match("^%d+$") then
      -- "5, 5" from a repeated header is the same length twice.
      local first = length:match("^(%d+)")
      for v in length:gmatch("[^,]+") do
        if v:match("^%s*(.-)%s*$") ~= first then first = nil break end
      end
      if not first then return protocol(r, "the answer has a malformed Content-Length") end
      length = first
    end
    local n = tonumber(length)
    if n > max then return too_big(r, n, max) end
    body, err = r.bytes(n)
    if not body then return io_failure(r, err, "while sending its answer") end
  else
    body, err = r.rest(max)
    if not body then
      if err == "long" then return too_big(r, nil, max) end
      return io_failure(r, err, "while sending its answer")
    end
    keepalive = false
  end
  -- Bytes beyond the answer: the connection is out of step.
  if r.leftover() then keepalive = false end
  return { status = status, headers = headers, body = body }, keepalive
end

return http1
