-- The cosocket transport's HTTP/1.1 framing (dts.transport.http1), in
-- plain Lua over a fake socket: the malformed and edge-case answers that a
-- real server does not send on demand.
local http1 = require "dts.transport.http1"

-- A socket that serves `data` the way ngx.socket.tcp does: receive("*l")
-- strips CR LF, receive(n) waits for n bytes, receiveany(max) gives what is
-- there; at the end of data, nil, "closed" (or end_err) and the partial.
local function fake(data, end_err)
  local pos = 1
  local s = {}
  local function finish(partial)
    pos = #data + 1
    return nil, end_err or "closed", partial
  end
  function s.receive(_, what)
    if what == "*l" then
      local nl = data:find("\n", pos, true)
      if not nl then return finish(data:sub(pos)) end
      local line = data:sub(pos, nl - 1):gsub("\r", "")
      pos = nl + 1
      return line
    end
    if pos + what - 1 > #data then return finish(data:sub(pos)) end
    local chunk = data:sub(pos, pos + what - 1)
    pos = pos + what
    return chunk
  end
  function s.receiveany(_, max)
    if pos > #data then return finish("") end
    local chunk = data:sub(pos, pos + math.min(max, 7) - 1) -- small pieces
    pos = pos + #chunk
    return chunk
  end
  return s
end

local function read(data, method, max, end_err)
  return http1.read_response(fake(data, end_err), method or "GET", max or 1000)
end

describe("dts.transport.http1", function()
  describe("parse_url", function()
    it("splits scheme, host, port and target, and builds Host", function()
      local u = assert(http1.parse_url("https://DTS.cn-hangzhou.aliyuncs.com/?Action=X&a=%2F"))
      assert.same({ "https", "dts.cn-hangzhou.aliyuncs.com", 443, "/?Action=X&a=%2F" },
        { u.scheme, u.host, u.port, u.target })
      assert.equal("dts.cn-hangzhou.aliyuncs.com", u.host_header)
      assert.equal("https://dts.cn-hangzhou.aliyuncs.com:443", u.origin)
      assert.is_false(u.ip)
      u = assert(http1.parse_url("https://localhost:8443"))
      assert.same({ "localhost:8443", "/" }, { u.host_header, u.target })
      u = assert(http1.parse_url("http://127.0.0.1?x=1"))
      assert.same({ 80, "/?x=1", true }, { u.port, u.target, u.ip })
      u = assert(http1.parse_url("https://[::1]:99/p"))
      assert.same({ "::1", "[::1]:99", true }, { u.host, u.host_header, u.ip })
    end)

    it("refuses what it cannot send, naming url and never the target", function()
      for _, bad in ipairs{ "", "x", "https://", "ftp://h/", "https://a b/", "https://u:p@h/",
                            "https://h:0/", "https://h:70000/", "https://h/\r\nX: y", 42 } do
        local u, err = http1.parse_url(bad)
        assert.is_nil(u)
        assert.matches("^url: ", err)
      end
      local _, err = http1.parse_url("https://h/?Signature=SECRET x")
      assert.not_matches("SECRET", err)
    end)
  end)

  describe("build_request", function()
    local url = assert(http1.parse_url("https://localhost:8443/?a=1"))

    it("writes the request line, Host, sorted headers, length and body", function()
      local bytes = assert(http1.build_request({
        method = "post", body = "k=v",
        headers = { ["x-b"] = "2", ["X-A"] = 1, ["Content-Type"] = "application/x-www-form-urlencoded" },
      }, url, { user_agent = "ua/1" }))
      assert.equal(table.concat({
        "POST /?a=1 HTTP/1.1", "Host: localhost:8443", "User-Agent: ua/1",
        "Content-Type: application/x-www-form-urlencoded", "X-A: 1", "x-b: 2",
        "Content-Length: 3", "", "k=v" }, "\r\n"), bytes)
    end)

    it("sends Content-Length 0 for an empty POST, none for a GET; the caller's User-Agent wins", function()
      assert.matches("Content%-Length: 0\r\n\r\n$", http1.build_request({ method = "POST" }, url, {}))
      local get = http1.build_request({ headers = { ["User-Agent"] = "mine" } }, url, { user_agent = "ua" })
      assert.equal("GET /?a=1 HTTP/1.1\r\nHost: localhost:8443\r\nUser-Agent: mine\r\n\r\n", get)
    end)

    it("sends a Host header given (as signed) in place of its own", function()
      assert.equal("GET /?a=1 HTTP/1.1\r\nHost: localhost:8443\r\nX: 1\r\n\r\n",
        http1.build_request({ headers = { host = "localhost:8443", X = "1" } }, url, {}))
    end)

    it("uses the absolute form through a plain-http proxy", function()
      local plain = assert(http1.parse_url("http://example.test/x"))
      assert.matches("^GET http://example.test/x HTTP/1.1\r\n",
        http1.build_request({}, plain, { absolute = true }))
    end)

    it("refuses bad fields, naming them", function()
      local cases = {
        { { method = "GE T" }, "method" }, { { method = 1 }, "method" },
        { { headers = { ["A B"] = "v" } }, "A B" },
        { { body = {} }, "body" }, { { headers = "x" }, "headers" },
        { { headers = { "x" } }, "headers" },
        { { headers = { ["X-A"] = "a\nb" } }, "X-A" }, { { headers = { ["X-A"] = true } }, "X-A" },
        { { headers = { ["Content-Length"] = "5" } }, "Content-Length" },
        { { headers = { host = "x", Host = "y" } }, "host" },
      }
      for _, case in ipairs(cases) do
        local bytes, err = http1.build_request(case[1], url, {})
        assert.is_nil(bytes)
        assert.equal(case[2]:lower() .. ": ", err:sub(1, #case[2] + 2):lower())
      end
    end)
  end)

  describe("read_response", function()
    it("reads a Content-Length answer and allows keep-alive", function()
      local res, keep = read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n"
        .. "Folded: a\r\n  b\r\n\r\nhello")
      assert.same({ status = 200, body = "hello",
        headers = { ["content-length"] = "5", ["x-a"] = "1, 2", folded = "a b" } }, res)
      assert.is_true(keep)
    end)

    it("reads a chunked answer with extensions and trailers", function()
      local res, keep = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        .. "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n")
      assert.equal("hello world", res.body)
      assert.is_true(keep)
    end)

    it("reads to the end without a length, and then no keep-alive", function()
      local res, keep = read("HTTP/1.1 200 OK\r\n\r\n" .. string.rep("z", 50))
      assert.equal(string.rep("z", 50), res.body)
      assert.is_false(keep)
    end)

    it("skips 100 Continue; no body for HEAD, 204 and 304", function()
      local res = read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
      assert.same({ 201, "ok" }, { res.status, res.body })
      assert.equal("", read("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", "HEAD").body)
      assert.equal("", read("HTTP/1.1 204 No Content\r\n\r\n").body)
      assert.equal("", read("HTTP/1.1 200 OK\r\n\r\n", "CONNECT").body)
    end)

    it("keeps alive only as the version and Connection allow", function()
      local _, keep = read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
      assert.is_false(keep)
      _, keep = read("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
      assert.is_false(keep)
      _, keep = read("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
      assert.is_true(keep)
      _, keep = read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n")
      assert.is_false(keep)
    end)

    it("accepts a repeated identical Content-Length", function()
      assert.equal("abc", read("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc").body)
    end)

    local function fails(kind, data, max, end_err)
      local res, k, message, got = read(data, "GET", max, end_err)
      assert.is_nil(res)
      assert.equal(kind, k, message)
      assert.is_string(message)
      return message, got
    end

    it("fails with protocol on malformed answers", function()
      for _, data in ipairs{
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\n continued\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
      } do
        fails("protocol", data)
      end
    end)

    it("fails with protocol above max_response_size, before reading the body", function()
      assert.matches("max_response_size", (fails("protocol", "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 10)))
      assert.matches("max_response_size", (fails("protocol",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n", 10)))
      assert.matches("max_response_size", (fails("protocol", "HTTP/1.1 200 OK\r\n\r\n" .. string.rep("x", 11), 10)))
      assert.equal(10, #read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n" .. string.rep("x", 10), "GET", 10).body)
    end)

    it("fails with protocol on huge headers", function()
      fails("protocol", "HTTP/1.1 200 OK\r\nX: " .. string.rep("a", 70000) .. "\r\n\r\n")
    end)

    it("fails with network on a closed connection, telling whether bytes came", function()
      local message, got = fails("network", "")
      assert.matches("closed by the server before answering", message)
      assert.is_false(got)
      message, got = fails("network", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
      assert.matches("closed", message)
      assert.is_true(got)
    end)

    it("fails with timeout when the socket times out", function()
      local _, got = fails("timeout", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", nil, "timeout")
      assert.is_true(got)
      local res, kind = http1.read_response(fake("HTTP/1.1 200 OK\r\n\r\n"), "GET", 10,
        function() return false, "timeout" end)
      assert.is_nil(res)
      assert.equal("timeout", kind)
    end)
  end)
end)
