-- The cosocket transport inside a real nginx (Debian's Lua module, LuaJIT),
-- over HTTPS on 127.0.0.1: the spec's nginx calls its own upstream
-- locations (spec/support/echo_server.lua) through the transport and
-- answers busted with what came back (spec/support/openresty_server.lua).
local certs = require "dts.certs"
local launch = require "support.openresty_launch"

describe("cosocket transport", function()
  local s, wrong, other_ca

  setup(function()
    local _, dir = launch.sh('mktemp -d "${TMPDIR:-/tmp}/lua-dts-ca.XXXXXX"')
    other_ca = assert(certs.make(dir)).ca_file
    local err
    s, err = launch.start{
      client_cert = true,
      http = [[
  init_by_lua_block { require("support.openresty_server").init() }
  init_worker_by_lua_block { require("support.openresty_server").init_worker() }
]],
      server = [[
    location = /t/phases {
      set_by_lua_block $set_result { return require("support.openresty_server").set() }
      content_by_lua_block { ngx.say("phases") }
      header_filter_by_lua_block { require("support.openresty_server").header_filter() }
      body_filter_by_lua_block { require("support.openresty_server").body_filter() }
      log_by_lua_block { require("support.openresty_server").log() }
    }
]],
    }
    assert(s, err)
    -- nginx whose lua_ssl_trusted_certificate holds another CA than the
    -- one of s's certificate: its calls go to s.
    wrong, err = launch.start{ trusted = other_ca }
    assert(wrong, err)
    launch.sh("rm -rf '" .. dir .. "'")
  end)

  teardown(function()
    if s then s.stop() end
    if wrong then wrong.stop() end
  end)

  -- The transport's answers to reqs, made in nginx (in a timer if asked).
  local function run(settings, reqs, opts)
    opts = opts or {}
    local st = settings or {}
    if st.connect_address == nil then st.connect_address = "127.0.0.1" end
    if st.connect_address == false then st.connect_address = nil end
    local status, out = (opts.from or s).post("/t/request",
      { settings = st, requests = reqs, timer = opts.timer })
    assert.equal(200, status)
    return out.results, out
  end

  local function one(settings, req, opts)
    local results, out = run(settings, { req }, opts)
    return results[1], out
  end

  local function ok(r)
    assert(r.status, r.err and r.err.text)
    return r
  end

  local function fails(kind, r)
    assert.is_nil(r.status)
    assert.equal(kind, r.err.kind, r.err.text)
    assert.equal("dts: " .. kind .. ": " .. r.err.message, r.err.text)
    assert.not_matches("SECRET", r.err.text)
    return r.err
  end

  local cjson = require "cjson"
  local function echo(r)
    return cjson.decode(ok(r).body)
  end

  describe("answers", function()
    it("a GET: status, lower-case headers, SNI and Host from the host name", function()
      local r = one({ user_agent = "lua-dts/test" }, {
        url = s.at("/echo?a=1"), headers = { ["X-Custom"] = "v", ["X-Number"] = 42 },
      })
      assert.equal(200, r.status)
      for name in pairs(r.headers) do assert.equal(name:lower(), name) end
      assert.equal("one, two", r.headers["x-twice"])
      local req = echo(r)
      assert.same({ "GET", "/echo?a=1", "localhost" }, { req.method, req.target, req.sni })
      assert.equal("localhost:" .. s.port, req.headers.host)
      assert.equal("v", req.headers["x-custom"])
      assert.equal("42", req.headers["x-number"])
      assert.equal("lua-dts/test", req.headers["user-agent"])
    end)

    it("a POST with a body, and other methods", function()
      local body = "DbList=" .. string.rep("%7B%7D", 2000)
      local results = run(nil, {
        { method = "POST", url = s.at("/echo"), body = body,
          headers = { ["Content-Type"] = "application/x-www-form-urlencoded" } },
        { method = "POST", url = s.at("/echo") },
        { method = "HEAD", url = s.at("/echo") },
        { method = "DELETE", url = s.at("/echo") },
      })
      local req = echo(results[1])
      assert.same({ "POST", body }, { req.method, req.body })
      assert.equal("application/x-www-form-urlencoded", req.headers["content-type"])
      assert.same({ "POST", "", "0" }, { echo(results[2]).method, echo(results[2]).body,
        echo(results[2]).headers["content-length"] })
      assert.same({ 200, "" }, { results[3].status, results[3].body })
      assert.equal("DELETE", echo(results[4]).method)
    end)

    it("a 404 as an answer, not an error", function()
      assert.equal(404, ok(one(nil, { url = s.at("/nowhere") })).status)
    end)

    it("bodies with Content-Length and chunked, up to max_response_size", function()
      local results = run({ max_response_size = 70000 }, {
        { url = s.at("/big?n=70000") },
        { url = s.at("/big?n=70000&chunked=1") },
        { url = s.at("/big?n=0") },
      })
      assert.equal(70000, #ok(results[1]).body)
      assert.equal("70000", results[1].headers["content-length"])
      assert.equal(70000, #ok(results[2]).body)
      assert.equal("chunked", results[2].headers["transfer-encoding"])
      assert.equal("", ok(results[3]).body)
    end)

    it("from a timer too", function()
      local r, out = one(nil, { url = s.at("/echo") }, { timer = true })
      assert.equal("timer", out.phase)
      assert.equal("localhost", echo(r).sni)
    end)

    it("with a client certificate", function()
      local r = one({ client_cert = s.client_cert_file, client_key = s.client_key_file },
        { url = s.at("/echo") })
      assert.equal("SUCCESS", echo(r).client_verify)
      assert.equal("NONE", echo(one(nil, { url = s.at("/echo") })).client_verify)
    end)
  end)

  describe("keep-alive", function()
    it("reuses one TLS connection for many calls", function()
      local reqs = {}
      for i = 1, 8 do reqs[i] = { url = s.at("/echo") } end
      local results = run(nil, reqs)
      local conn = results[1].headers["x-connection"]
      local n = tonumber(results[1].headers["x-connection-requests"])
      for i, r in ipairs(results) do
        assert.equal(conn, ok(r).headers["x-connection"])
        assert.equal(tostring(n + i - 1), r.headers["x-connection-requests"])
      end
      -- The pool outlives the request that filled it (same worker, same pool name).
      local again = one(nil, { url = s.at("/echo") })
      assert.equal(conn, again.headers["x-connection"])
      assert.equal(tostring(n + 8), again.headers["x-connection-requests"])
    end)

    it("keeps apart connections that differ in verify mode or client certificate", function()
      local first = one(nil, { url = s.at("/echo") }).headers["x-connection"]
      local cert = one({ client_cert = s.client_cert_file, client_key = s.client_key_file },
        { url = s.at("/echo") })
      assert.not_equal(first, cert.headers["x-connection"])
      local insecure = one({ insecure_host = "localhost" }, { url = s.at("/echo") })
      assert.not_equal(first, insecure.headers["x-connection"])
      assert.not_equal(cert.headers["x-connection"], insecure.headers["x-connection"])
    end)

    it("never after an answer that was not read to its end", function()
      local results = run({ max_response_size = 4096 }, {
        { url = s.at("/echo") },
        { url = s.at("/big?n=100000") },
        { url = s.at("/echo") },
        { url = s.at("/slow?s=5"), timeout = 0.1 },
        { url = s.at("/echo") },
      })
      local conn = ok(results[1]).headers["x-connection"]
      fails("protocol", results[2])
      local after_big = ok(results[3]).headers["x-connection"]
      assert.not_equal(conn, after_big)
      assert.equal("1", results[3].headers["x-connection-requests"])
      fails("timeout", results[4])
      assert.not_equal(after_big, ok(results[5]).headers["x-connection"])
      assert.equal("1", results[5].headers["x-connection-requests"])
    end)
  end)

  describe("fails", function()
    it("with tls when the certificate's CA is not in lua_ssl_trusted_certificate", function()
      local r = one({ ca_file = "/etc/ssl/certs/ca-certificates.crt" },
        { url = s.at("/echo?Signature=SECRET") }, { from = wrong })
      local err = fails("tls", r)
      assert.equal("https://localhost:" .. s.port .. ": ", err.message:sub(1, #s.url + 2))
      assert.matches("lua_ssl_trusted_certificate", err.message, 1, true)
      assert.matches("the ca_file option does not apply inside nginx", err.message, 1, true)
      assert.not_matches("/echo", err.message, 1, true)
    end)

    it("with tls on an IP address endpoint, pointing to connect_address", function()
      local err = fails("tls", one({ connect_address = false },
        { url = "https://127.0.0.1:" .. s.port .. "/echo" }))
      assert.matches("certificate host mismatch", err.message, 1, true)
      assert.matches("connect_address", err.message, 1, true)
    end)

    it("with network on a host name without resolver nor connect_address", function()
      local err = fails("network", one({ connect_address = false }, { url = s.at("/echo") }))
      assert.matches('"resolver"', err.message, 1, true)
      assert.matches("connect_address", err.message, 1, true)
    end)

    it("with network on a closed port", function()
      local err = fails("network", one(nil, { url = "https://localhost:1/x?Signature=SECRET" }))
      assert.matches("^https://localhost:1: cannot connect to connect_address 127%.0%.0%.1: ", err.message)
    end)

    it("with timeout on a slow answer (per call and per transport)", function()
      fails("timeout", one(nil, { url = s.at("/slow?s=5"), timeout = 0.1 }))
      fails("timeout", one({ timeout = 0.1 }, { url = s.at("/slow?s=5") }))
    end)

    it("with protocol on an answer above max_response_size", function()
      local results = run({ max_response_size = 4096 }, {
        { url = s.at("/big?n=4097") },
        { url = s.at("/big?n=100000&chunked=1") },
        { url = s.at("/big?n=4096&chunked=1") },
      })
      assert.matches("max_response_size", fails("protocol", results[1]).message, 1, true)
      assert.matches("max_response_size", fails("protocol", results[2]).message, 1, true)
      assert.equal(4096, #ok(results[3]).body)
    end)

    it("with invalid_argument on plain http unless allow_http", function()
      local plain = "http://localhost:" .. s.port .. "/echo"
      fails("invalid_argument", one(nil, { url = plain }))
      -- Sent: nginx answers plain HTTP on its HTTPS port with its own 400.
      assert.equal(400, ok(one({ allow_http = true }, { url = plain })).status)
    end)

    it("with invalid_argument on a bad request, naming the field", function()
      local u = s.at("/echo")
      local cases = {
        { { url = "not a url" }, "url" },
        { { url = "ftp://localhost/" }, "url" },
        { { url = "https://" }, "url" },
        { { url = u, method = "GE T" }, "method" },
        { { url = u, body = {} }, "body" },
        { { url = u, timeout = -1 }, "timeout" },
        { { url = u, connect_timeout = "1" }, "connect_timeout" },
        { { url = u, headers = { ["Bad Name"] = "v" } }, "Bad Name" },
        { { url = u, headers = { ["X-A"] = "a\r\nX-B: b" } }, "X-A" },
        { { url = u, headers = { ["Content-Length"] = "1" } }, "Content-Length" },
      }
      local reqs = {}
      for i, case in ipairs(cases) do reqs[i] = case[1] end
      for i, r in ipairs(run(nil, reqs)) do
        local err = fails("invalid_argument", r)
        assert.equal(cases[i][2] .. ": ", err.message:sub(1, #cases[i][2] + 2))
      end
    end)

    it("with invalid_argument on bad settings, at creation", function()
      local cases = {
        { { timeout = 0 }, "timeout" },
        { { max_response_size = 1.5 }, "max_response_size" },
        { { client_cert = "x.pem" }, "client_cert" },
        { { proxy = "https://proxy:3128" }, "proxy" },
        { { shared_dict = "missing" }, "shared_dict" },
        { { connect_address = "1.2.3.4 5" }, "connect_address" },
      }
      for _, case in ipairs(cases) do
        local _, out = run(case[1], {})
        assert.equal("invalid_argument", out.new_err.kind)
        assert.equal(case[2], out.new_err.param)
      end
    end)
  end)

  describe("insecure_host", function()
    it("skips verification for that host only, saying so in errors", function()
      local results = run({ insecure_host = "localhost" }, {
        { url = s.at("/echo") },
        { url = s.at("/slow?s=5"), timeout = 0.1 },
      }, { from = wrong })
      assert.equal(200, ok(results[1]).status)
      assert.matches("TLS verification is disabled for this host: unsafe%)$",
        fails("timeout", results[2]).message)
    end)
  end)

  describe("phases", function()
    local results

    setup(function()
      assert.equal(200, (s.get("/t/phases")))
      -- The log phase runs after the answer: wait for its record.
      for _ = 1, 100 do
        local _
        _, results = s.post("/t/results")
        if results.log then break end
        launch.sleep(0.02)
      end
    end)

    it("a client is made in init, with the cosocket transport", function()
      assert.same({ transport = "cosocket" }, results.init_new)
    end)

    for _, phase in ipairs{ "init", "init_worker", "set", "header_filter", "body_filter", "log" } do
      it("every call in " .. phase .. " returns an error naming the phase", function()
        local r = assert(results[phase], "no record for " .. phase)
        assert.equal(phase, r.phase)
        assert.is_nil(r.raised)
        assert.equal("invalid_argument", r.err.kind)
        assert.equal(phase, r.err.phase)
        assert.equal(1, r.err.attempts)
        assert.matches("nginx's " .. phase .. " phase", r.err.message, 1, true)
        assert.matches("ngx.timer.at(0,", r.err.message, 1, true)
      end)
    end

    it("sleep does not block nor raise where it cannot yield", function()
      assert.same({ phase = "init_worker", result = true }, results.init_worker_sleep)
    end)

    it("the client made in init works in a content handler", function()
      local _, out = s.post("/t/init_client?url=" .. s.at("/echo"))
      assert.equal(200, out.status, out.err and out.err.text)
    end)
  end)

  describe("shared_dict", function()
    it("a throttled call makes every call to that endpoint wait it out", function()
      local _, out = s.post("/t/throttle", { url = s.at("/t/now"), seconds = 0.3 })
      assert.is_nil(out.error)
      assert.is_true(out.recorded_until > out.before)
      assert.is_true(out.ttl > 0 and out.ttl <= 0.3)
      -- A second transport (as in another worker) sent only once it was over.
      assert.is_true(out.sent_at >= out.recorded_until, "sent before the back-off ended")
      assert.is_nil(out.other_host_until)
      assert.is_true(out.not_throttling_kept)
    end)
  end)

  it("never loads dts.curl inside nginx", function()
    local _, out = s.post("/t/loaded")
    assert.is_false(out.curl)
    assert.truthy(out.modules[1])
  end)
end)
