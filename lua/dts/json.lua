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
--   refused.
--
-- Errors name the path: "DbList.shop.Table.orders.all: ...".

local cjson = require("cjson").new() -- a private instance: our settings stay ours
local core = require "dts.core"

local json = {}

cjson.encode_number_precision(14)
cjson.encode_invalid_numbers(false)
cjson.decode_invalid_numbers(false)

local function exact(n)
  return tonumber(("%.14g"):format(n)) == n
end

local function check(v, path, seen)
  local t = type(v)
  if t == "string" then
    local ok, pos = core.utf8_valid(v)
    if not ok then
      return nil, ("%s: not valid UTF-8 (byte %d)"):format(path, pos)
    end
    return true
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      return nil, path .. ": NaN and infinities have no JSON form"
    end
    if not exact(v) then
      return nil, ("%s: the number %.17g cannot be sent exactly; pass it as a string"):format(path, v)
    end
    return true
  elseif t == "boolean" then
    return true
  elseif t ~= "table" then
    return nil, ("%s: a %s has no JSON form"):format(path, t)
  end
  if seen[v] then
    return nil, path .. ": a table that contains itself (a cycle) has no JSON form"
  end
  seen[v] = true
  local n, strings, count = #v, 0, 0
  for k, item in pairs(v) do
    count = count + 1
    local sub
    if type(k) == "string" then
      strings = strings + 1
      local ok, pos = core.utf8_valid(k)
      if not ok then
        return nil, ("%s: a key is not valid UTF-8 (byte %d)"):format(path, pos)
      end
      sub = path .. "." .. k
    elseif type(k) == "number" and k >= 1 and k <= n and k % 1 == 0 then
      sub = path .. "[" .. k .. "]"
    else
      return nil, ("%s: key %s is neither a name nor an array index 1..%d"):format(
        path, tostring(k), n)
    end
    local ok, err = check(item, sub, seen)
    if not ok then return nil, err end
  end
  seen[v] = nil
  if strings > 0 and strings < count then
    return nil, path .. ": mixes array items and named keys"
  end
  return true
end

-- Lua value -> JSON text, or nil, message (naming the path).
function json.encode(value, path)
  local ok, err = check(value, path or "value", {})
  if not ok then return nil, err end
  local encoded, cerr = pcall(cjson.encode, value)
  if not encoded then return nil, (path or "value") .. ": " .. tostring(cerr) end
  return cerr
end

-- JSON text -> Lua value, or nil, message.  JSON null becomes json.null.
function json.decode(text)
  local ok, value = pcall(cjson.decode, text)
  if not ok then return nil, tostring(value) end
  return value
end

json.null = cjson.null

return json
