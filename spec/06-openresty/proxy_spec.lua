-- The cosocket transport through an HTTP proxy: HTTPS by CONNECT (with
-- Proxy-Authorization from the proxy URL), plain http in absolute form,
-- no_proxy, and pools kept apart.  The proxy is spec/support/
-- openresty_proxy.pl on 127.0.0.1, which only ever tunnels to 127.0.0.1.
local cjson = require "cjson"
local launch = require "support.openresty_launch"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text
end

-- Starts the proxy; its port, pid and log file.
local function start_proxy(dir, name, auth)
  local state, log = dir .. "/" .. name .. ".state", dir .. "/" .. name .. ".log"
  launch.sh(("perl '%s/spec/support/openresty_proxy.pl' '%s' '%s' %s >/dev/null 2>&1 &")
    :format(launch.root, state, log, auth and ("'" .. auth .. "'") or ""))
  for _ = 1, 200 do
    local text = read(state)
    if text then
      local pid, port = text:match("^(%d+) (%d+)")
      return { pid = pid, port = tonumber(port), log = log }
    end
    launch.sleep(0.02)
  end
  error("the proxy did not start")
end

local function proxy_log(p)
  local lines = {}
  for line in (read(p.log) or ""):gmatch("[^\n]+") do lines[#lines + 1] = line end
  return lines
end

describe("cosocket transport through a proxy", function()
  local s, open, closed

  setup(function()
    local err
    s, err = launch.start{}
    assert(s, err)
    open = start_proxy(s.prefix, "open")
    closed = start_proxy(s.prefix, "closed", "dts user:p@ss/word")
  end)

  teardown(function()
    if s then s.stop() end
    for _, p in ipairs{ open, closed } do
      if p then launch.sh("kill " .. p.pid) end
    end
  end)

  local function run(settings, reqs)
    settings.connect_address = settings.connect_address or "127.0.0.1"
    local status, out = s.post("/t/request", { settings = settings, requests = reqs })
    assert.equal(200, status)
    assert.is_nil(out.new_err, out.new_err and out.new_err.text)
    return out.results
  end

  local function ok(r)
    assert(r.status, r.err and r.err.text)
    return r
  end

  it("tunnels HTTPS with CONNECT, the host name still checked, kept alive", function()
    local before = #proxy_log(open)
    local results = run({ proxy = "http://127.0.0.1:" .. open.port },
      { { url = s.at("/echo") }, { url = s.at("/echo") }, { url = s.at("/echo") } })
    local conn = ok(results[1]).headers["x-connection"]
    for _, r in ipairs(results) do
      assert.equal(conn, ok(r).headers["x-connection"])
      local req = cjson.decode(r.body)
      assert.same({ "localhost", "localhost:" .. s.port }, { req.sni, req.headers.host })
    end
    local log = proxy_log(open)
    assert.equal(before + 1, #log)
    assert.equal("CONNECT localhost:" .. s.port .. " HTTP/1.1 auth-ok", log[#log])
    -- A direct connection is another pool.
    local direct = run({}, { { url = s.at("/echo") } })
    assert.not_equal(conn, ok(direct[1]).headers["x-connection"])
  end)

  it("sends the proxy URL's user and password, percent-decoded, and never shows them", function()
    local url = "http://dts%20user:p%40ss%2Fword@127.0.0.1:" .. closed.port
    local results = run({ proxy = url }, {
      { url = s.at("/echo") },
      { url = s.at("/slow?s=5"), timeout = 0.1 },
    })
    ok(results[1])
    assert.equal("CONNECT localhost:" .. s.port .. " HTTP/1.1 auth-ok", proxy_log(closed)[1])
    assert.equal("timeout", results[2].err.kind)
    assert.matches("(through the proxy 127.0.0.1:" .. closed.port .. ")", results[2].err.message, 1, true)
    for _, secret in ipairs{ "p@ss", "p%40ss", "dts user" } do
      assert.not_matches(secret, results[2].err.text, 1, true)
    end
  end)

  it("fails with network when the proxy refuses the tunnel", function()
    local r = run({ proxy = "http://nobody:wrong@127.0.0.1:" .. closed.port },
      { { url = s.at("/echo") } })[1]
    assert.equal("network", r.err.kind)
    assert.matches("refused the tunnel (HTTP 407)", r.err.message, 1, true)
    assert.not_matches("wrong", r.err.text, 1, true)
    assert.equal("network", run({ proxy = "http://127.0.0.1:1" }, { { url = s.at("/echo") } })[1].err.kind)
  end)

  it("sends plain http in absolute form through the proxy", function()
    local r = run({ proxy = "127.0.0.1:" .. open.port, allow_http = true },
      { { url = "http://localhost:" .. s.port .. "/echo?a=1" } })[1]
    assert.equal(405, ok(r).status) -- the test proxy tunnels only
    local log = proxy_log(open)
    assert.equal("GET http://localhost:" .. s.port .. "/echo?a=1 HTTP/1.1 auth-ok", log[#log])
  end)

  it("goes direct for the hosts of no_proxy", function()
    local before = #proxy_log(open)
    local r = run({ proxy = "http://127.0.0.1:" .. open.port, no_proxy = "example.com, .localhost" },
      { { url = s.at("/echo") } })[1]
    ok(r)
    assert.equal(before, #proxy_log(open))
  end)
end)
