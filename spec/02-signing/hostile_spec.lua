-- dts.core's entry points against hostile Lua values (issue 11 items 2, 3,
-- 10): argument tables with metatables, finalizers that replace or empty
-- the caller's tables while C reads them, values of every type, control
-- characters in credentials.  Each must come back as a value or nil, err:
-- never a crash, never a wrong signature.  spec/run runs this under
-- ASan+UBSan too, where a use-after-free is caught.
local core = require "dts.core"
local hostile = require "support.finalizers"

local long = hostile.long

-- Every string longer than Lua 5.4 interns and built at run time, so each
-- call makes new objects that only this request holds.
local function request(scheme)
  return {
    scheme = scheme, method = "POST", host = long("h") .. ".example.com", path = "/",
    action = long("Action"), version = long("V2020"), access_key_id = long("AKID"),
    access_key_secret = long("secret"), timestamp = "2024-05-06T07:08:09Z",
    nonce = long("nonce"),
    query = { [long("Q")] = long("qv"), [long("R")] = long("rv") },
    body = { [long("B")] = long("bv") },
    headers = { ["x-acs-" .. long("h")] = long("hv"), ["x-other"] = long("ov") },
  }
end

local function v1_args()
  return { method = "POST", access_key_secret = long("secret"),
           params = { [long("P")] = long("pv"), Action = long("Action") } }
end

local function v3_args()
  return {
    method = "POST", path = "/" .. long("p"), payload_hash = long("hash"),
    access_key_id = long("AKID"), access_key_secret = long("secret"),
    query = { [long("Q")] = long("qv") },
    headers = { host = long("h") .. ".example.com", ["x-acs-" .. long("a")] = { long("v1"), long("v2") } },
    signed_headers = "host;x-acs-" .. long("a"),
  }
end

-- Runs fn under finalizers that do action to its argument; every answer
-- must be `want` (the same call on a plain table) or an error message.
local function survives(fn, make, action, field, rounds)
  local want = assert(fn(make()))
  local answers = 0
  local hits = hostile.finalizers_inside(rounds or 12, fn, make, action, function(r)
    if r[1] == nil then
      assert.is_string(r[2])
    else
      answers = answers + 1
      assert.are.equal(want[field], r[1][field])
    end
  end)
  assert.truthy(hits > 0, "no finalizer ran inside the call: the spec proved nothing")
  return answers
end

describe("dts.core against hostile callers", function()
  describe("finalizers that replace every string of the argument while C reads it", function()
    for _, scheme in ipairs({ "v1", "v3" }) do
      it("core.sign " .. scheme .. " signs what it read, with no use after free", function()
        local answers = survives(core.sign, function() return request(scheme) end,
          hostile.refresh, "signature")
        assert.truthy(answers > 0)
      end)
    end

    it("core.v1_signature", function()
      assert.truthy(survives(core.v1_signature, v1_args, hostile.refresh, "signature") > 0)
    end)

    it("core.v3_signature", function()
      assert.truthy(survives(core.v3_signature, v3_args, hostile.refresh, "authorization") > 0)
    end)
  end)

  describe("finalizers that sign again while C signs (the module's reused buffers)", function()
    for _, name in ipairs({ "sign", "v1_signature", "v3_signature" }) do
      it("core." .. name .. ": the nested call and the outer one both get their own answer", function()
        local fn = core[name]
        local make = name == "sign" and function() return request("v3") end
          or name == "v1_signature" and v1_args or v3_args
        local field = name == "v3_signature" and "authorization" or "signature"
        local nested_want = assert(core.sign(request("v1")))
        local nested = 0
        survives(fn, make, function()
          -- A different request, so a mix-up of the two would show.
          local got = assert(core.sign(request("v1")))
          assert.are.equal(nested_want.target:gsub("SignatureNonce=[^&]*", ""),
            got.target:gsub("SignatureNonce=[^&]*", ""))
          nested = nested + 1
        end, field)
        assert.truthy(nested > 0)
      end)
    end
  end)

  describe("finalizers that empty the argument while C reads it", function()
    -- What was read before is still signed correctly; what was emptied is
    -- missing or "changed while it was read".  Only no crash is asked here.
    it("core.sign, v1_signature and v3_signature answer or refuse", function()
      local function empty(t)
        for k in next, t do rawset(t, k, nil) end
        for _, sub in ipairs({ "query", "body", "headers", "params" }) do
          if type(t[sub]) == "table" then hostile.refresh(t[sub]) end
        end
      end
      for _, case in ipairs({
        { core.sign, function() return request("v3") end },
        { core.v1_signature, v1_args },
        { core.v3_signature, v3_args },
      }) do
        local hits = hostile.finalizers_inside(6, case[1], case[2], empty, function(r)
          assert.truthy(r[1] ~= nil or type(r[2]) == "string", tostring(r[1]) .. " " .. tostring(r[2]) .. " " .. r.n)
        end)
        -- Lua 5.2's collector runs finalizers only at the end of a cycle,
        -- and in some heaps no cycle of 120 rounds ends inside
        -- v1_signature's few allocations: there "no crash" is all this
        -- proves (the replacing finalizers above prove the reads).
        assert.truthy(hits > 0 or _VERSION == "Lua 5.2", "case " .. _ .. " hits " .. hits)
      end
    end)
  end)

  describe("argument tables with metatables", function()
    it("reads them raw: __index never runs (the issue's fresh-strings __index)", function()
      local plain = request("v3")
      local calls = 0
      local proxy = setmetatable({}, { __index = function(_, k)
        calls = calls + 1
        collectgarbage()
        local v = plain[k]
        return type(v) == "string" and (v .. "x"):sub(1, -2) or v
      end })
      local s, err = core.sign(proxy)
      assert.is_nil(s)
      assert.are.equal('scheme: missing ("v1" or "v3")', err)
      s, err = core.v1_signature(setmetatable({}, getmetatable(proxy)))
      assert.is_nil(s)
      assert.are.equal("method: missing", err)
      s, err = core.v3_signature(setmetatable({}, getmetatable(proxy)))
      assert.is_nil(s)
      assert.are.equal("method: missing", err)
      assert.are.equal(0, calls)
    end)

    it("ignores __index, __pairs and __len on the inner tables too", function()
      local r = request("v3")
      local mt = {
        __index = function() error("__index ran") end,
        __pairs = function() error("__pairs ran") end,
        __len = function() error("__len ran") end,
        __tostring = function() error("__tostring ran") end,
      }
      local want = assert(core.sign(request("v3"))).canonical_request
      setmetatable(r.query, mt)
      setmetatable(r.headers, mt)
      setmetatable(r, mt)
      assert.are.equal(want, assert(core.sign(r)).canonical_request)
      want = assert(core.v3_signature(v3_args())).authorization
      local v3 = v3_args()
      for _, v in pairs(v3.headers) do
        if type(v) == "table" then setmetatable(v, mt) end
      end
      setmetatable(v3.headers, mt)
      assert.are.equal(want, assert(core.v3_signature(v3)).authorization)
    end)
  end)

  describe("values of every type", function()
    local odd = { true, 1, 1.5, 0 / 0, {}, function() end, coroutine.create(function() end),
                  io.stdout, "", ("x"):rep(100000) }
    local function every(fn, fields)
      for _, f in ipairs(fields) do
        for _, v in ipairs(odd) do
          local r = fn == core.sign and request("v3") or fn == core.v1_signature and v1_args() or v3_args()
          r[f] = v
          local ok, res, err = pcall(fn, r)
          assert.is_true(ok, res)
          assert.truthy(res ~= nil or type(err) == "string")
        end
      end
    end

    it("in every field of core.sign", function()
      every(core.sign, { "scheme", "method", "host", "path", "action", "version", "access_key_id",
        "access_key_secret", "security_token", "timestamp", "nonce", "query", "body", "headers" })
    end)

    it("in every field of v1_signature and v3_signature", function()
      every(core.v1_signature, { "method", "params", "access_key_secret" })
      every(core.v3_signature, { "method", "path", "query", "headers", "payload_hash",
        "access_key_id", "access_key_secret", "signed_headers" })
    end)

    it("as the argument and as keys and values of the inner tables", function()
      for _, fn in ipairs({ core.sign, core.v1_signature, core.v3_signature, core.json_grammar }) do
        for _, v in ipairs(odd) do
          assert.is_true((pcall(fn, v)))
          assert.is_nil((fn(v)))
        end
      end
      for _, v in ipairs(odd) do
        for _, inner in ipairs({ "query", "body", "headers" }) do
          local r = request("v3")
          r[inner][v == v and v or 1] = "x"
          r.body = inner == "body" and r.body or nil
          local ok, res, err = pcall(core.sign, r)
          assert.is_true(ok, res)
          assert.truthy(res ~= nil or type(err) == "string")
          r = request("v3")
          r[inner] = { x = v }
          ok, res, err = pcall(core.sign, r)
          assert.is_true(ok, res)
          assert.truthy(res ~= nil or type(err) == "string")
        end
      end
    end)
  end)

  describe("control characters in credentials and header-bound fields (item 10)", function()
    local plain = {
      scheme = "v3", method = "POST", host = "dts.cn-hangzhou.aliyuncs.com", path = "/",
      action = "ModifyDtsJob", version = "2020-01-01", access_key_id = "LTAI-test-id",
      access_key_secret = "s3cr3t", timestamp = "2024-05-06T07:08:09Z",
      nonce = "0123456789abcdef0123456789abcdef",
    }
    local function with(over)
      local r = {}
      for k, v in pairs(plain) do r[k] = v end
      for k, v in pairs(over) do r[k] = v end
      return r
    end

    it("refuses NUL, CR, LF, TAB and DEL in access_key_id, secret and token, both schemes", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        for _, field in ipairs({ "access_key_id", "access_key_secret", "security_token" }) do
          for _, c in ipairs({ "\0", "\r", "\n", "\t", "\127", "\1" }) do
            for _, token in ipairs({ false, true }) do
              local over = { scheme = scheme, [field] = "AK" .. c .. "tail" }
              if token and field ~= "security_token" then over.security_token = "tok" end
              local s, err = core.sign(with(over))
              assert.is_nil(s, field .. " " .. c:byte())
              assert.are.equal(("%s: control character 0x%02X at offset 2"):format(field, c:byte()), err)
            end
          end
        end
      end
    end)

    it("never signs a truncated Credential (the issue's AK\\0tail)", function()
      local s, err = core.sign(with({ access_key_id = "AK\0tail" }))
      assert.is_nil(s)
      assert.truthy(err:find("access_key_id", 1, true))
    end)

    it("refuses them in action, version, nonce and host", function()
      for _, field in ipairs({ "action", "version", "nonce", "host" }) do
        for _, scheme in ipairs({ "v1", "v3" }) do
          local s, err = core.sign(with({ scheme = scheme, [field] = "a\r\nX-Injected: yes" }))
          assert.is_nil(s)
          assert.are.equal(field .. ": control character 0x0D at offset 1", err)
        end
      end
    end)

    it("refuses them in the standalone signatures' credentials", function()
      local s, err = core.v3_signature{ method = "POST", payload_hash = "x", access_key_id = "AK\0x",
                                        access_key_secret = "s" }
      assert.is_nil(s)
      assert.are.equal("access_key_id: control character 0x00 at offset 2", err)
      s, err = core.v3_signature{ method = "POST", payload_hash = "x", access_key_id = "AK",
                                  access_key_secret = "s\n" }
      assert.is_nil(s)
      assert.are.equal("access_key_secret: control character 0x0A at offset 1", err)
      s, err = core.v1_signature{ method = "POST", params = {}, access_key_secret = "s\r" }
      assert.is_nil(s)
      assert.are.equal("access_key_secret: control character 0x0D at offset 1", err)
    end)

    it("never puts the secret in the message", function()
      local _, err = core.sign(with({ access_key_secret = "TopSecretValue\n" }))
      assert.falsy(err:find("TopSecret", 1, true))
    end)
  end)
end)
