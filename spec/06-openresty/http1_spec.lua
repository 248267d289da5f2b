-- The cosocket transport's HTTP/1.1 framing (dts.transport.http1), in
-- plain Lua over a fake socket: the malformed and edge-case answers that a
-- real server does not send on demand.
local http1 = require "dts.transport.http1"

-- A socket that serves `data` the way ngx.socket.tcp's receiveany(max)
-- does (the only receive the reader uses), in small pieces; at the end of
-- data, nil, "closed" (or end_err).
local function fake(data, end_err)
  local pos = 1
  local s = {}
  function s.receiveany(_, max)
    assert(type(max) == "number" and max >= 1 and max % 1 == 0, "receiveany(max) needs max >= 1")
    if pos > #data then return nil, end_err or "closed" end
    local chunk = data:sub(pos, pos + math.min(max, 7) - 1) -- small pieces
    pos = pos + #chunk
    return chunk
  end
  return s
end

-- A socket that sends prefix, then `piece` forever, counting what it gave.
local function endless(prefix, piece)
  local s = { given = 0 }
  local pending = prefix
  function s.receiveany(_, max)
    if pending == "" then pending = piece end
    local chunk = pending:sub(1, max)
    pending = pending:sub(#chunk + 1)
    s.given = s.given + #chunk
    assert(s.given < 10 * 1024 * 1024, "read on and on")
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

  describe("build_request and control characters", function()
    local url = assert(http1.parse_url("https://localhost:8443/"))

    it("refuses them in every header value and in user_agent, naming which; allows tab", function()
      for _, v in ipairs{ "a\rb", "a\nb", "a\0b", "a\1b", "a\27b", "a\127b", "ua\r\nX-Injected: yes" } do
        local bytes, err = http1.build_request({ headers = { ["X-A"] = v } }, url, {})
        assert.is_nil(bytes)
        assert.matches("^X%-A: control character 0x%x%x is not allowed", err)
        bytes, err = http1.build_request({}, url, { user_agent = v })
        assert.is_nil(bytes)
        assert.matches("^user_agent: control character 0x%x%x is not allowed", err)
      end
      assert.matches("\r\nX%-A: a\tb\r\n", http1.build_request({ headers = { ["X-A"] = "a\tb" } }, url, {}))
      assert.matches("\r\nUser%-Agent: ua/\128\255\r\n", http1.build_request({}, url, { user_agent = "ua/\128\255" }))
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

    it("caps what it reads while reading: lines that never end, endless answers", function()
      local big = string.rep("a", 65536)
      for _, case in ipairs{
        { "HTTP/1.1 200 ", big, 8 * 1024, "status line" },
        { "HTTP/1.1 200 OK\r\nX-Endless: ", big, 64 * 1024, "headers" },
        { "HTTP/1.1 200 OK\r\n", "X-Many: 1\r\n", 64 * 1024, "headers" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", string.rep("0", 65536),
          8 * 1024, "chunk size" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n ", big, 8 * 1024, "chunk longer" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n", big, 64 * 1024, "headers" },
        { "HTTP/1.1 200 OK\r\n\r\n", big, 100000, "max_response_size" },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "10000\r\n" .. big .. "\r\n",
          100000 + 65536, "max_response_size" },
        { "", "HTTP/1.1 100 Continue\r\n\r\n", 1024, "interim" },
      } do
        local sock = endless(case[1], case[2])
        local res, kind, message = http1.read_response(sock, "GET", 100000)
        assert.is_nil(res, case[4])
        assert.equal("protocol", kind, case[4])
        assert.matches(case[4], message, 1, true)
        assert(sock.given <= #case[1] + case[3] + 16 * 1024,
          ("%s: read %d bytes"):format(case[4], sock.given))
      end
    end)

    it("tells bytes that are not HTTP/1.x at once, without waiting for a line end", function()
      for _, data in ipairs{ '{"RequestId":"x"}', "\0\1\2", "HTTP/2 200\r\n\r\n", "HTTX" } do
        local res, kind, message = read(data, "GET", 1000, "timeout")
        assert.is_nil(res)
        assert.equal("protocol", kind, data)
        assert.matches("HTTP", message)
      end
      assert.matches("HTTP/2 on an HTTP/1.1 connection",
        (select(3, read("HTTP/2 200\r\ncontent-length: 0\r\n\r\n"))))
    end)

    it("refuses a compressed answer (no request asks for one)", function()
      local message = fails("protocol", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc")
      assert.matches("Content-Encoding: gzip", message, 1, true)
      assert.equal("abc", read("HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 3\r\n\r\nabc").body)
      assert.equal("", read("HTTP/1.1 204 No Content\r\nContent-Encoding: gzip\r\n\r\n").body)
    end)

    it("does not keep alive a connection that sent more than one answer", function()
      local res, keep = read("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n")
      assert.equal("ok", res.body)
      assert.is_false(keep)
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
