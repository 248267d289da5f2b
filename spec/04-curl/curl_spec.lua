-- dts.curl against a real nginx over HTTPS on 127.0.0.1 (dts.nginx,
-- spec/support/echo_server.lua).  Nothing here contacts another address.
local curl = require "dts.curl"
local nginx = require "dts.nginx"
local certs = require "dts.certs"
local cjson = require "cjson"

describe("dts.curl", function()
  local server, other_ca

  -- A client trusting the test CA; proxies off, whatever the environment.
  local function new(opts)
    local o = { ca_file = server.ca_file, proxy = "" }
    for k, v in pairs(opts or {}) do
      o[k] = v
    end
    return assert(curl.new(o))
  end

  local function ok(res, err)
    assert(res, err and tostring(err))
    return res
  end

  local function echo(res)
    return cjson.decode(ok(res).body)
  end

  local function url(target)
    return server.url .. target
  end

  setup(function()
    local pipe = io.popen("pwd")
    local cwd = pipe:read("*l")
    pipe:close()
    local err
    server, err = nginx.start{
      client_cert = true,
      lua_package_path = cwd .. "/spec/?.lua",
      server = function(s)
        return ([[
    client_body_buffer_size 1m;
    ssl_client_certificate %s;
    ssl_verify_client optional;
    location / {
      content_by_lua_block { require("support.echo_server")() }
    }
]]):format(s.ca_file)
      end,
    }
    assert(server, err)
    local other = server.prefix .. "/other"
    os.execute("mkdir " .. other)
    other_ca = assert(certs.make(other)).ca_file
  end)

  teardown(function()
    if server then
      server.stop()
    end
  end)

  it("has a version", function()
    assert.matches("^libcurl/%d", curl.version)
  end)

  describe("answers", function()
    it("to a GET: status, headers both ways, body", function()
      local c = new()
      local res = ok(c:request{
        url = url("/echo?a=1"),
        headers = { ["X-Custom"] = "value", ["X-Number"] = 42, ["X-Empty"] = "" },
      })
      assert.equal(200, res.status)
      assert.equal("application/json", res.headers["content-type"])
      assert.equal("one, two", res.headers["x-twice"])
      for name in pairs(res.headers) do
        assert.equal(name:lower(), name)
      end
      local req = cjson.decode(res.body)
      assert.equal("GET", req.method)
      assert.equal("/echo?a=1", req.target)
      assert.equal("value", req.headers["x-custom"])
      assert.equal("42", req.headers["x-number"])
      assert.equal("", req.headers["x-empty"])
      assert.matches("^lua%-dts/", req.headers["user-agent"])
      assert.equal("", req.body)
      assert.equal("localhost", req.sni)
    end)

    it("to a POST with a body", function()
      local body = "DbList=" .. string.rep("%7B%7D", 1000)
      local req = echo(new():request{
        method = "POST",
        url = url("/echo"),
        headers = { ["Content-Type"] = "application/x-www-form-urlencoded" },
        body = body,
      })
      assert.equal("POST", req.method)
      assert.equal(body, req.body)
      assert.equal("application/x-www-form-urlencoded", req.headers["content-type"])
    end)

    it("with no header the caller did not set: no Content-Type, no Expect", function()
      -- A V3 signature covers content-type: libcurl must not add its own.
      local req = echo(new():request{ method = "POST", url = url("/echo"),
                                      body = string.rep("x", 4096) })
      assert.is_nil(req.headers["content-type"])
      assert.is_nil(req.headers["expect"])
      assert.equal(4096, #req.body)
      req = echo(new():request{ method = "POST", url = url("/echo") })
      assert.is_nil(req.headers["content-type"])
    end)

    it("to other methods", function()
      local c = new()
      assert.equal("", echo(c:request{ method = "POST", url = url("/echo") }).body)
      local put = echo(c:request{ method = "PUT", url = url("/echo"), body = "x" })
      assert.same({ "PUT", "x" }, { put.method, put.body })
      assert.equal("DELETE", echo(c:request{ method = "DELETE", url = url("/echo") }).method)
      local head = ok(c:request{ method = "HEAD", url = url("/echo") })
      assert.same({ 200, "" }, { head.status, head.body })
    end)

    it("with a 404 as an answer, not an error", function()
      assert.equal(404, ok(new():request{ url = url("/nowhere") }).status)
    end)

    it("with the final response's headers only after 100 Continue", function()
      local res = ok(new():request{
        method = "POST",
        url = url("/echo"),
        headers = { Expect = "100-continue" },
        body = "x",
      })
      assert.equal(200, res.status)
      assert.equal("x", cjson.decode(res.body).body)
      assert.equal("application/json", res.headers["content-type"])
    end)

    it("with the user_agent option", function()
      local req = echo(new{ user_agent = "runbook/1" }:request{ url = url("/echo") })
      assert.equal("runbook/1", req.headers["user-agent"])
    end)

    it("with a client certificate", function()
      local c = new{ client_cert = server.client_cert_file, client_key = server.client_key_file }
      assert.equal("SUCCESS", echo(c:request{ url = url("/echo") }).client_verify)
      assert.equal("NONE", echo(new():request{ url = url("/echo") }).client_verify)
    end)

    it("over one kept-alive connection", function()
      local c = new()
      local first
      for i = 1, 3 do
        local res = ok(c:request{ url = url("/echo") })
        first = first or res.headers["x-connection"]
        assert.equal(first, res.headers["x-connection"])
        assert.equal(tostring(i), res.headers["x-connection-requests"])
      end
    end)
  end)

  describe("fails", function()
    local function fails(kind, res, err)
      assert.is_nil(res)
      assert.equal(kind, err.kind)
      assert.equal(kind .. ": " .. err.message, tostring(err))
      assert.not_matches("SECRET", err.message)
      return err
    end

    it("with tls on a certificate from another CA", function()
      local err = fails("tls", new{ ca_file = other_ca }:request{
        url = url("/echo?Signature=SECRET"),
      })
      assert.equal(server.url .. ": ", err.message:sub(1, #server.url + 2))
      assert.not_matches("/echo", err.message, 1, true)
    end)

    it("with tls on an unreadable client certificate", function()
      fails("tls", new{ client_cert = server.prefix .. "/missing.pem" }:request{ url = url("/echo") })
    end)

    it("with network on a closed port", function()
      local err = fails("network", new():request{ url = "https://127.0.0.1:1/x?Signature=SECRET" })
      assert.matches("^https://127%.0%.0%.1:1: ", err.message)
    end)

    it("with timeout on a slow answer", function()
      fails("timeout", new():request{ url = url("/slow?s=5"), timeout = 0.3 })
      fails("timeout", new{ timeout = 0.3 }:request{ url = url("/slow?s=5") })
    end)

    it("with protocol on an answer above max_response_size", function()
      local c = new{ max_response_size = 4096 }
      assert.equal(4096, #ok(c:request{ url = url("/big?n=4096") }).body)
      assert.equal(4096, #ok(c:request{ url = url("/big?n=4096&chunked=1") }).body)
      local err = fails("protocol", c:request{ url = url("/big?n=100000") })
      assert.matches("max_response_size", err.message)
      fails("protocol", c:request{ url = url("/big?n=100000&chunked=1") })
      assert.equal(200, ok(c:request{ url = url("/echo") }).status)
    end)

    it("with invalid_argument on plain http unless allow_http", function()
      local plain = "http://127.0.0.1:" .. server.port .. "/echo"
      fails("invalid_argument", new():request{ url = plain })
      -- Sent: nginx answers plain HTTP on its HTTPS port with its own 400.
      assert.equal(400, ok(new{ allow_http = true }:request{ url = plain }).status)
      fails("invalid_argument", new{ allow_http = true }:request{ url = "ftp://127.0.0.1:1/" })
    end)

    it("with invalid_argument on a malformed URL", function()
      local c = new()
      for _, bad in ipairs{ "", "not a url", "https://", "https://exa mple.com/SECRET", "https://[::1/" } do
        fails("invalid_argument", c:request{ url = bad })
      end
    end)

    it("with invalid_argument on bad request fields, naming them", function()
      local c, u = new(), url("/echo")
      local cases = {
        { {}, "url" },
        { { url = 1 }, "url" },
        { { url = u, method = "GE T" }, "method" },
        { { url = u, method = true }, "method" },
        { { url = u, body = {} }, "body" },
        { { url = u, timeout = -1 }, "timeout" },
        { { url = u, connect_timeout = "1" }, "connect_timeout" },
        { { url = u, headers = "x" }, "headers" },
        { { url = u, headers = { "x" } }, "headers" },
        { { url = u, headers = { ["Bad Name"] = "v" } }, "Bad Name" },
        { { url = u, headers = { ["X-A"] = "a\r\nX-B: b" } }, "X-A" },
        { { url = u, headers = { ["X-A"] = {} } }, "X-A" },
      }
      for _, case in ipairs(cases) do
        local err = fails("invalid_argument", c:request(case[1]))
        assert.equal(case[2] .. ": ", err.message:sub(1, #case[2] + 2))
      end
      assert.equal(200, ok(c:request{ url = u }).status)
    end)
  end)

  describe("options", function()
    it("are refused with nil, err naming the option", function()
      local cases = {
        { { timeout = -1 }, "timeout" },
        { { timeout = "5" }, "timeout" },
        { { connect_timeout = 0 }, "connect_timeout" },
        { { max_response_size = 1.5 }, "max_response_size" },
        { { max_response_size = 0 }, "max_response_size" },
        { { allow_http = "yes" }, "allow_http" },
        { { ca_file = 42 }, "ca_file" },
        { { ca_file = "a\0b" }, "ca_file" },
        { { insecure_host = true }, "insecure_host" },
        { { colour = "blue" }, "colour" },
        { { "positional" }, "options" },
      }
      for _, case in ipairs(cases) do
        local c, err = curl.new(case[1])
        assert.is_nil(c)
        assert.equal("invalid_argument", err.kind)
        assert.equal(case[2] .. ": ", err.message:sub(1, #case[2] + 2))
      end
    end)

    it("may all be left out", function()
      assert.matches("^dts%.curl%.client %(", tostring(assert(curl.new())))
    end)

    it("insecure_host skips verification for that host only, saying so", function()
      local c = assert(curl.new{ ca_file = other_ca, proxy = "", insecure_host = "localhost" })
      assert.equal(200, ok(c:request{ url = url("/echo") }).status)
      local _, err = c:request{ url = url("/slow?s=5"), timeout = 0.3 }
      assert.equal("timeout", err.kind)
      assert.matches("TLS verification is disabled for this host: unsafe%)$", err.message)
      local _, other = c:request{ url = "https://127.0.0.1:" .. server.port .. "/echo" }
      assert.equal("tls", other.kind)
      assert.not_matches("unsafe", other.message)
    end)

    it("connect_to sends TCP there, the URL's host naming the server", function()
      local c = new{ connect_to = "127.0.0.1" }
      local invalid = "https://dts.test.invalid:" .. server.port .. "/echo"
      local _, err = c:request{ url = invalid }
      assert.equal("tls", err.kind)
      assert.equal(200, ok(c:request{ url = url("/echo") }).status)
      local trusting = new{ connect_to = "127.0.0.1", insecure_host = "dts.test.invalid" }
      local req = echo(trusting:request{ url = invalid })
      assert.equal("dts.test.invalid:" .. server.port, req.headers.host)
      assert.equal("dts.test.invalid", req.sni)
    end)
  end)

  describe("close", function()
    it("is idempotent and a closed client refuses requests", function()
      local c = new()
      c:close()
      c:close()
      assert.equal("dts.curl.client (closed)", tostring(c))
      assert.has_error(function() c:request{ url = url("/echo") } end)
    end)

    it("is what the garbage collector does", function()
      for _ = 1, 10 do
        assert.equal(200, ok(new():request{ url = url("/echo") }).status)
      end
      collectgarbage()
      collectgarbage()
    end)

    it("raises on a request that is not a table", function()
      assert.has_error(function() new():request() end)
      assert.has_error(function() new().request({}, {}) end)
    end)

    if _VERSION == "Lua 5.4" then
      it("happens when a <close> variable goes out of scope", function()
        local scope = assert(load([[
          local curl, opts = ...
          local c <close> = assert(curl.new(opts))
          return c
        ]]))
        assert.equal("dts.curl.client (closed)", tostring(scope(curl, {})))
      end)
    end
  end)
end)
