-- The driver of fuzz_lua_api: turns the fuzzer's bytes into Lua values
-- (names the C functions read, hostile metatables, finalizers, cycles) and
-- calls dts.core and dts.curl with them.  A memory error is ASan's to
-- report; what this file checks is the contract: core.sign, v1_signature,
-- v3_signature and json_grammar never raise and answer a table or nil, a
-- message; json_encode never raises and answers text or false;
-- client:request answers a table or nil, an error table, and raises only
-- for a closed client.  Violations raise, and the harness aborts.
--
-- dts.curl only ever talks to https://127.0.0.1:1/ (nothing listens; the
-- connection is refused at once): the URL, proxy and connect_to are never
-- taken from the input.
local core = require "dts.core"
local curl = require "dts.curl"

local NAMES = {
  "scheme", "method", "host", "path", "action", "version", "access_key_id", "access_key_secret",
  "security_token", "timestamp", "nonce", "query", "body", "headers", "params", "payload_hash",
  "signed_headers", "map", "keys", "required", "if_false_one_of", "if_true_none_of", "nonempty",
  "url", "timeout", "connect_timeout", "name", "all", "Table", "column", "filter",
}
local STRINGS = {
  "v1", "v3", "POST", "GET", "dts.cn-hangzhou.aliyuncs.com", "/", "2024-05-06T07:08:09Z",
  "ModifyDtsJob", "2020-01-01", "LTAI5tTestKey", "s3cr3t", "CAIS+token", "0123456789abcdef",
  "string", "boolean", "any", "ops", "filter", "host;x-acs-date", "x-acs-date", "RegionId",
  "DbList", "", "AK\0tail", "a\r\nX-Injected: yes", "\255\254", ("x"):rep(100),
}
local NUMBERS = { 0, 1, -1, 1.5, 0 / 0, 1 / 0, -1 / 0, 2 ^ 53, 2 ^ 63, math.mininteger or -2 ^ 63, 1e-300 }

-- DTS_FUZZ_TRACE=1 prints each call and its answer (to reproduce a crash:
-- DTS_FUZZ_TRACE=1 build/fuzz/fuzz_lua_api build/fuzz/crash-lua_api-...).
local trace = os.getenv("DTS_FUZZ_TRACE") and function(...)
  io.stderr:write(table.concat({ ... }, " "), "\n")
end or function() end

-- A DbList-like grammar for json_encode, in the names the values use.
local DBLIST = assert(core.json_grammar({ map = {
  keys = { name = "string", all = "boolean", column = "any",
           Table = { map = { keys = { name = "string", all = "boolean", filter = "filter",
                                      column = "any" }, required = "all" } } },
  required = "all", if_false_one_of = { "Table" } } }))

local URLS = { "https://127.0.0.1:1/", "http://127.0.0.1:1/", "https://127.0.0.1:1/x?y=z", "", "ftp://127.0.0.1:1/" }

local function new_client()
  return assert(curl.new{ proxy = "", no_proxy = "*", connect_timeout = 1, timeout = 2 })
end

local function refresh(t, seen)
  seen = seen or {}
  if type(t) ~= "table" or seen[t] then return end
  seen[t] = true
  local entries = {}
  for k, v in next, t do entries[#entries + 1] = { k, v } end
  for _, e in ipairs(entries) do
    refresh(e[2], seen)
    rawset(t, e[1], nil)
  end
  for _, e in ipairs(entries) do
    local k, v = e[1], e[2]
    if type(k) == "string" then k = (k .. "x"):sub(1, -2) end
    if type(v) == "string" then v = (v .. "x"):sub(1, -2) end
    rawset(t, k, v)
  end
end

return function(bytes)
  local pos = 0
  local function byte()
    pos = pos + 1
    return bytes:byte(pos) or 0
  end
  local function str()
    local n = byte() % 48
    local s = bytes:sub(pos + 1, pos + n)
    pos = pos + n
    return s
  end

  local built = {} -- every value built, for references (cycles, sharing)
  local victim     -- the arguments of the call running now
  local client = new_client()
  local client_now = client

  -- What a hostile metamethod or finalizer does.
  local function act(what)
    what = what % 8
    if what == 0 then collectgarbage()
    elseif what == 1 then collectgarbage("step")
    elseif what == 2 then refresh(victim)
    elseif what == 3 and type(victim) == "table" then
      for k in next, victim do rawset(victim, k, nil) end
    elseif what == 4 then pcall(core.sign, victim)
    elseif what == 5 then client_now:close()
    elseif what == 6 then
      pcall(client_now.request, client_now, { url = URLS[1] })
    elseif what == 7 then error("hostile")
    end
  end

  local value
  local function hostile_table(t)
    local how = byte()
    local mt = {
      __index = function(_, k)
        act(how)
        return type(k) == "string" and (k .. "x"):sub(1, -2) or nil
      end,
      __newindex = function() act(how) end,
      __len = function() act(how); return byte() end,
      __pairs = function() error("__pairs must not run") end,
      __tostring = function() act(how); return str() end,
      __eq = function() act(how); return true end,
      __gc = function() act(how) end,
    }
    if byte() % 2 == 0 then mt.__metatable = "locked" end
    return setmetatable(t, mt)
  end

  function value(depth)
    local b = byte()
    local kind = b % 12
    local v
    if kind == 0 then v = nil
    elseif kind == 1 then v = b >= 128
    elseif kind == 2 then v = NUMBERS[byte() % #NUMBERS + 1]
    elseif kind == 3 then v = byte() - 128
    elseif kind == 4 or kind == 5 then v = STRINGS[byte() % #STRINGS + 1]
    elseif kind == 6 then v = str()
    elseif kind <= 9 and depth < 6 then
      v = {}
      for _ = 1, byte() % 16 do
        local k
        if byte() % 4 > 0 then k = NAMES[byte() % #NAMES + 1] else k = value(depth + 1) end
        if k ~= nil and k == k then v[k] = value(depth + 1) end
      end
      if kind == 9 then v = hostile_table(v) end
    elseif kind == 10 and #built > 0 then v = built[byte() % #built + 1]
    elseif kind == 11 then
      local pick = byte() % 4
      v = pick == 0 and print or pick == 1 and io.stdout or pick == 2 and coroutine.create(print)
        or core.json_grammar({ keys = { a = "string" } })
    end
    if v ~= nil then built[#built + 1] = v end
    return v
  end

  -- Finalizers: garbage whose __gc acts, with a collector that runs often.
  local gc = byte()
  if gc % 2 == 1 then
    collectgarbage("setpause", 0)
    collectgarbage("setstepmul", 1000)
    for _ = 1, gc % 7 do
      local how = byte()
      setmetatable({}, { __gc = function() act(how) end })
    end
  end

  for _ = 1, 1 + byte() % 4 do
    local which = byte() % 10
    local arg = value(0)
    victim = arg
    local ok, r, err
    if which <= 2 then
      local fn = ({ core.sign, core.v1_signature, core.v3_signature })[which + 1]
      ok, r, err = pcall(fn, arg)
      assert(ok, r)
      assert(type(r) == "table" or (r == nil and type(err) == "string"))
    elseif which == 3 then
      ok, r, err = pcall(core.json_grammar, arg)
      assert(ok, r)
      assert(type(r) == "userdata" or (r == nil and type(err) == "string"))
    elseif which == 4 then
      local spec = value(0)
      pcall(core.json_check, arg, type(spec) == "table" and spec or nil, "v", byte() % 2 == 0 and "n" or "")
    elseif which == 5 then
      local g = value(0)
      pcall(core.json_scan, type(arg) == "string" and arg or str(), g)
      g = byte() % 2 == 0 and core.json_grammar(g) or DBLIST
      ok, r = pcall(core.json_encode, arg, g)
      assert(ok, r)
      assert(r == false or type(r) == "string")
    elseif which == 6 then
      for _, fn in ipairs({ core.percent_encode, core.utf8_valid, core.sha256_hex, core.base64,
                            core.timestamp }) do
        pcall(fn, arg)
      end
      pcall(core.hmac_sha256_hex, arg, value(0))
    elseif which <= 8 then
      -- A request: the URL always one of URLS (loopback or refused).
      if type(arg) == "table" then rawset(arg, "url", URLS[byte() % #URLS + 1]) end
      ok, r, err = pcall(client_now.request, client_now, arg)
      if ok then
        assert(type(r) == "table" or (r == nil and type(err) == "table" and type(err.kind) == "string"))
        if err then assert(type(tostring(err)) == "string") end
      else
        assert(tostring(r):find("client is closed", 1, true) or type(arg) ~= "table", r)
      end
    else
      -- New clients with options from the input; never a proxy or another host.
      local opts = type(arg) == "table" and arg or {}
      rawset(opts, "proxy", "")
      rawset(opts, "connect_to", nil)
      rawset(opts, "ca_path", nil)
      ok, r, err = pcall(curl.new, opts)
      if ok and r then
        client_now = r
      else
        assert(not ok or type(err) == "table", tostring(r))
      end
    end
    trace("call", which, tostring(ok), tostring(r), type(err) == "table" and tostring(err.message) or tostring(err))
    victim = nil
  end
  collectgarbage("setpause", 200)
  collectgarbage("setstepmul", 100)
  client:close()
  client_now:close()
end
