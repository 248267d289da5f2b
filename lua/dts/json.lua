-- JSON for the API's JSON parameters (DbList, Reserved, ...), on lua-cjson,
-- with the choices made deliberately (README "JSON parameters"):
--
-- * An empty Lua table encodes as an empty object {} (every JSON parameter
--   of ModifyDtsJob is an object).  For an empty array, pass JSON text.
-- * A table is an array when its keys are exactly 1..n, an object when all
--   keys are strings; any other mix is refused, naming where.
-- * Numbers: Debian's lua-cjson writes 14 significant digits, so a number
--   that would not survive that (2^53, 0.1 + 0.2) is refused rather than
--   silently changed: pass it as a string.  The DTS docs ask for strings in
--   Reserved anyway.  NaN and infinities are refused.
-- * Strings must be valid UTF-8; functions, userdata, threads and cycles are
--   refused; json.null (lua-cjson's null) is a JSON null.  At most 128
--   levels of nesting.
--
-- Errors name the path: "DbList.shop.Table.orders.all: ...".
--
-- The checking is one walk in C (core.json_check, src/lua_json.c) that can
-- also check a grammar on the way (dts.dblist.grammar): this file words
-- what it finds, so the checks cost little next to the encoding itself.

local cjson = require("cjson").new() -- a private instance: our settings stay ours
local core = require "dts.core"

local json_check = core.json_check
local cjson_encode = cjson.encode

local json = {}

cjson.encode_number_precision(14)
cjson.encode_invalid_numbers(false)
cjson.decode_invalid_numbers(false)

-- core.json_check's reasons that are about JSON itself; the grammar's own
-- reasons are worded by the caller's explain().
local WORDING = {
  utf8 = function(path, pos) return ("%s: not valid UTF-8 (byte %d)"):format(path, pos) end,
  utf8_key = function(path, pos)
    return ("%s: a key is not valid UTF-8 (byte %d)"):format(path, pos)
  end,
  nan = function(path) return path .. ": NaN and infinities have no JSON form" end,
  inexact = function(path, n)
    return ("%s: the number %.17g cannot be sent exactly; pass it as a string"):format(path, n)
  end,
  type = function(path, v) return ("%s: a %s has no JSON form"):format(path, type(v)) end,
  cycle = function(path)
    return path .. ": a table that contains itself (a cycle) has no JSON form"
  end,
  deep = function(path, limit)
    return ("%s: nested more than %d tables deep"):format(path, limit)
  end,
  badkey = function(path, key, n)
    return ("%s: key %s is neither a name nor an array index 1..%d"):format(path, tostring(key), n)
  end,
  mixed = function(path) return path .. ": mixes array items and named keys" end,
  changed = function(path)
    return path .. ": changed while it was checked (by a finalizer?); nothing was sent"
  end,
  hole = function(path, i)
    return ("%s: item %d is nil; an array needs every index 1..n (json.null is a JSON null)")
      :format(path, i)
  end,
}

local function word(explain, path, reason, detail, extra)
  local generic = WORDING[reason]
  if generic then return generic(path, detail, extra) end
  return explain(path, reason, detail, extra)
end

-- check(value [, path [, spec, explain [, decoded]]]) -> true | nil, message
--   spec     a grammar's root node (see src/lua_json.c); explain(path,
--            reason, detail, extra) words its failures
--   decoded  the value was decoded from JSON text that is sent as it is:
--            its numbers are never re-encoded, so need not survive that
function json.check(value, path, spec, explain, decoded)
  path = path or "value"
  local ok, where, reason, detail, extra = json_check(value, spec, path, decoded and "n" or "")
  if ok then return true end
  if decoded and reason == "nan" then -- text holds no NaN: a number too large
    return nil, where .. ": a number out of range (it reads as infinity); numbers must be finite"
  end
  return nil, word(explain, where, reason, detail, extra)
end

-- Fields computed on their first read: json.lazy(t, name, load) makes
-- t[name] call load() once, when read (a job's decoded DbObject takes 10 ms
-- for 10 000 tables, which a status poll never reads).  json.encode and
-- pairs (on Lua 5.2+) read them first, so the JSON of t still holds them.
local loaders = setmetatable({}, { __mode = "k" })

local LAZY = {
  __index = function(t, k)
    local pending = loaders[t]
    local load = pending and pending[k]
    if not load then return nil end
    pending[k] = nil
    local v = load()
    rawset(t, k, v)
    return v
  end,
  -- pairs(t) sees them too (Lua 5.2 and later honour __pairs).
  __pairs = function(t)
    local pending = loaders[t]
    if pending then
      for k in next, pending do local _ = t[k] end
    end
    return next, t, nil
  end,
}

function json.lazy(t, name, load)
  local pending = loaders[t]
  if not pending then
    pending = {}
    loaders[t] = pending
    setmetatable(t, LAZY)
  end
  pending[name] = load
  return t
end

-- Lua value -> JSON text, or nil, message (naming the path); checked against
-- a grammar too when spec and explain are given (as in check).
function json.encode(value, path, spec, explain)
  path = path or "value"
  local pending = loaders[value]
  if pending then
    for k in pairs(pending) do local _ = value[k] end
  end
  -- Strings are checked on the encoded text instead ("u"), in one fast scan:
  -- lua-cjson copies their bytes as they are between ASCII quotes and
  -- escapes, so the text is UTF-8 exactly when every string is.
  local ok, where, reason, detail, extra = json_check(value, spec, path, "u")
  if not ok then return nil, word(explain, where, reason, detail, extra) end
  local encoded, text = pcall(cjson_encode, value)
  if not encoded then return nil, path .. ": " .. tostring(text) end
  if not json_check(text) then
    local _, err = json.check(value, path, spec, explain) -- names the string
    return nil, err or (path .. ": not valid UTF-8")
  end
  return text
end

local OPEN_BRACE = ("{"):byte()

-- Whether JSON text is (or starts as) an object: "{" first, the usual
-- case, read as one byte; else after white space.
function json.object_text(text)
  return text:byte(1) == OPEN_BRACE or text:find("^%s*{") ~= nil
end

-- JSON text -> Lua value, or nil, message.  JSON null becomes json.null.
function json.decode(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then return nil, tostring(value) end
  return value
end

json.null = cjson.null

-- Whether two values are the same JSON value (tables compared by content,
-- so key order never matters).
-- Read raw: a caller's metamethods never run; a cycle ends the walk
-- (different, as nothing cyclic has a JSON form).
function json.equal(a, b, depth)
  if rawequal(a, b) then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  depth = (depth or 0) + 1
  if depth > 200 then return false end
  for k, v in next, a do
    if not json.equal(v, rawget(b, k), depth) then return false end
  end
  for k in next, b do
    if rawget(a, k) == nil then return false end
  end
  return true
end

-- A placeholder for an empty JSON array: Debian's lua-cjson 2.1.0 has no
-- empty_array or array_mt (OpenResty's fork has), and an empty Lua table
-- encodes as {}.  Put json.EMPTY_ARRAY where [] is meant, encode, then
-- json.empty_arrays(text).  No text from elsewhere can hold it (a nonce).
local MARK = "lua-dts-empty-array-" .. core.nonce()
json.EMPTY_ARRAY = "\0" .. MARK .. "\0"
local EMPTY_ARRAY_JSON = '"\\u0000' .. MARK .. '\\u0000"'

-- text with every encoded json.EMPTY_ARRAY as [].
function json.empty_arrays(text)
  local i, j = text:find(EMPTY_ARRAY_JSON, 1, true)
  while i do
    text = text:sub(1, i - 1) .. "[]" .. text:sub(j + 1)
    i, j = text:find(EMPTY_ARRAY_JSON, i + 2, true)
  end
  return text
end

return json
