-- dts.curl against hostile callers (issue 11 item 3): request tables with
-- metatables, finalizers that close the client or call it again while a
-- request runs, and values of every type.  Never a crash; nil, err or the
-- answer.  Real nginx over HTTPS on 127.0.0.1 (spec/support/echo_server.lua).
local curl = require "dts.curl"
local nginx = require "dts.nginx"
local hostile = require "support.finalizers"
local cjson = require "cjson"

describe("dts.curl against hostile callers", function()
  local server, c_request

  local function new()
    return assert(curl.new{ ca_file = server.ca_file, proxy = "" })
  end

  local function echo_request()
    return { url = server.url .. "/echo", method = "POST", body = hostile.long("body"),
             headers = { ["X-A"] = hostile.long("a"), ["X-B"] = "b" } }
  end

  setup(function()
    local pipe = io.popen("pwd")
    local cwd = pipe:read("*l")
    pipe:close()
    local err
    server, err = nginx.start{
      lua_package_path = cwd .. "/spec/?.lua",
      server = function()
        return [[
    location / {
      content_by_lua_block { require("support.echo_server")() }
    }
]]
      end,
    }
    assert(server, err)
    local c = new()
    c_request = c.request -- the method, as it shows on the call stack
    c:close()
  end)

  teardown(function()
    if server then server.stop() end
  end)

  it("reads the request table raw: an __index that closes the client never runs", function()
    local c = new()
    local plain = echo_request()
    local calls = 0
    local res, err = c:request(setmetatable({}, { __index = function(_, k)
      calls = calls + 1
      c:close()
      collectgarbage()
      return plain[k]
    end }))
    assert.is_nil(res)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("url: expected a string", err.message)
    assert.are.equal(0, calls)
    -- still open and working
    res = assert(c:request(echo_request()))
    assert.are.equal(200, res.status)
    c:close()
  end)

  it("defers close() from a finalizer during a request to the end of it", function()
    -- Round k closes at the k-th finalizer inside the request, so the close
    -- lands before the request began (a closed client raises, as always),
    -- while it is read, and while the answer is pushed.
    local c, round, inside = nil, 0, 0
    local seen = { raised = 0, refused = 0, answered = 0 }
    local hits = hostile.finalizers_inside(8, function(...) return pcall(c_request, ...) end, function()
      c, round, inside = new(), round + 1, 0
      return c, echo_request()
    end, function(client)
      inside = inside + 1
      if inside == round then client:close() end
    end, function(r)
      if not r[1] then
        seen.raised = seen.raised + 1
        assert.matches("client is closed", r[2])
      elseif r[2] then
        seen.answered = seen.answered + 1
        assert.are.equal(200, r[2].status)
        assert.are.equal(hostile.long("body"), cjson.decode(r[2].body).body)
      else
        seen.refused = seen.refused + 1
        assert.are.equal("invalid_argument", r[3].kind)
        assert.are.equal("request: the client was closed while the request was read", r[3].message)
      end
      if inside >= round then -- closed now, and says so
        assert.matches("%(closed%)$", tostring(c))
        local ok, err = pcall(c.request, c, echo_request())
        assert.is_false(ok)
        assert.matches("client is closed", err)
      end
      c:close()
    end, c_request)
    assert.truthy(hits > 0, "no finalizer ran inside the request: the spec proved nothing")
    assert.truthy(seen.answered + seen.refused > 0,
      ("raised %d, refused %d, answered %d"):format(seen.raised, seen.refused, seen.answered))
  end)

  it("refuses a nested request from a finalizer, and the outer one completes", function()
    local c = new()
    local refused = 0
    -- A finalizer may strike before the outer request began (then the
    -- nested one is simply answered): go on until one struck inside.
    local hits = 0
    for _ = 1, 10 do
      if refused > 0 then break end
      hits = hits + hostile.finalizers_inside(3, c_request, function() return c, echo_request() end,
      function(client)
        local res, err = client:request(echo_request())
        if res then -- the finalizer ran before the outer request began
          assert.are.equal(200, res.status)
        else
          assert.are.equal("invalid_argument", err.kind)
          assert.matches("running a request already", err.message)
          refused = refused + 1
        end
      end, function(r)
        assert.are.equal(200, assert(r[1], r[2] and r[2].message).status)
      end)
    end
    assert.truthy(hits > 0 and refused > 0)
    assert.are.equal(200, assert(c:request(echo_request())).status)
    c:close()
  end)

  it("answers every field of every type with the answer or nil, err", function()
    local c = new()
    local odd = { true, 1, -1, 0 / 0, 1 / 0, {}, { "x" }, function() end,
                  coroutine.create(function() end), io.stdout, "", "a\0b" }
    for _, field in ipairs({ "url", "method", "body", "headers", "timeout", "connect_timeout" }) do
      for _, v in ipairs(odd) do
        local r = echo_request()
        r[field] = v
        local ok, res, err = pcall(c.request, c, r)
        assert.is_true(ok, res)
        assert.truthy(res ~= nil or (err and err.kind), field)
      end
    end
    for _, v in ipairs(odd) do
      local r = echo_request()
      r.headers = { ["X-V"] = v }
      local ok, res, err = pcall(c.request, c, r)
      assert.is_true(ok, res)
      assert.truthy(res ~= nil or err.kind == "invalid_argument")
      if v == v then -- NaN cannot be a key
        r = echo_request()
        r.headers = { [v] = "x" }
        ok, res, err = pcall(c.request, c, r)
        assert.is_true(ok, res)
        assert.truthy(res ~= nil or err.kind == "invalid_argument")
      end
    end
    for _, v in ipairs(odd) do
      local ok, cl, err = pcall(curl.new, { timeout = v })
      assert.is_true(ok)
      assert.truthy(cl or err.kind == "invalid_argument")
      if cl then cl:close() end
      if v == v then
        ok, cl, err = pcall(curl.new, { [v] = "x" })
        assert.is_true(ok)
        assert.truthy(cl or err.kind == "invalid_argument")
      end
    end
    c:close()
  end)

  it("an error's __tostring survives any table", function()
    local _, err = new():request{ url = 1 }
    local tostr = getmetatable(err).__tostring
    assert.are.equal("invalid_argument: url: expected a string", tostr(err))
    for _, v in ipairs({ {}, { kind = {}, message = 1 }, setmetatable({}, { __index = error }), 1 }) do
      assert.is_string(tostr(v))
    end
  end)

  it("defers getmetatable(client).__gc called during a request, as close()", function()
    local c = new()
    local gc, closed = getmetatable(c).__gc, false
    local hits = hostile.finalizers_inside(3, function(...) return pcall(c_request, ...) end,
      function() return c, echo_request() end, function(client)
        gc(client)
        closed = true
      end, function(r)
        -- raised (closed before it began), refused (closed while read) or answered
        assert.truthy(not r[1] and r[2]:find("client is closed", 1, true) or r[2] or
          r[3].kind == "invalid_argument")
        if closed then
          assert.matches("%(closed%)$", tostring(c))
          c, closed = new(), false
        end
      end, c_request)
    assert.truthy(hits > 0)
    c:close()
  end)

  it("close is idempotent, also as __gc after close", function()
    local c = new()
    c:close()
    c:close()
    assert.matches("%(closed%)$", tostring(c))
    c = nil -- luacheck: ignore
    collectgarbage()
    collectgarbage()
  end)
end)
