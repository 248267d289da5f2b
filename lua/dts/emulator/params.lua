-- Checks an action's parameters against dts.schema, as the service does
-- before it runs the action, and types them: booleans become Lua booleans,
-- JSON parameters decoded tables.  Parameters the schema does not know are
-- left alone (the gateway ignores them; they were still signed).
--
--   local values, code, detail, reason = params.check(schema.ModifyDtsJob, raw)

local core = require "dts.core"
local grammar = require "dts.dblist.grammar"
local schema = require "dts.schema"

-- A private instance: strict JSON numbers (no NaN, Infinity, hex), as the
-- service's parser.
local cjson = require("cjson.safe").new()
cjson.decode_invalid_numbers(false)

local params = {}

-- Nesting the emulator takes in a JSON parameter (the client sends at most
-- 128 levels); deeper text could not be written back to state.json.
local MAX_DEPTH = 128

local function is_object(v)
  if type(v) ~= "table" then
    return false
  end
  for k in pairs(v) do
    if type(k) ~= "string" then
      return false
    end
  end
  return true
end

local function utf8_length(s)
  return select(2, s:gsub("[^\128-\191]", ""))
end

-- Why a decoded JSON value could not be kept and answered again, or nil:
-- a number out of range ("1e999" decodes to infinity, which no JSON can
-- hold), a string that is not UTF-8 (from a "\ud800" escape), too deep.
local function unkeepable(v, depth)
  local t = type(v)
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      return "holds a number out of range"
    end
  elseif t == "string" then
    if not core.utf8_valid(v) then return "holds a string that is not valid UTF-8" end
  elseif t == "table" then
    if depth > MAX_DEPTH then return "is nested more than " .. MAX_DEPTH .. " levels deep" end
    for k, x in pairs(v) do
      local why = unkeepable(k, depth + 1) or unkeepable(x, depth + 1)
      if why then return why end
    end
  end
  return nil
end

-- The DbList grammar (dts-api.md 3): the client's own, one place for it.
local SHAPES = {
  dblist = function(list, name)
    local ok, err = grammar.check(list, name)
    return not ok and err or nil
  end,
}

-- One value: the typed value, or nil and why it is refused.
local function convert(p, value)
  if p.type == "boolean" then
    if value == "true" then
      return true
    elseif value == "false" then
      return false
    end
    return nil, p.name .. ' must be "true" or "false"'
  end
  if p.enum then
    local found = false
    for _, e in ipairs(p.enum) do
      found = found or e == value
    end
    if not found then
      return nil, p.name .. " must be one of " .. table.concat(p.enum, ", ")
    end
  end
  if p.ascii and value:find("[\128-\255]") then
    return nil, p.name .. " must be ASCII"
  end
  if p.max_len and utf8_length(value) > p.max_len then
    return nil, p.name .. " is longer than " .. p.max_len .. " characters"
  end
  local format = p.format and schema.FORMATS[p.format]
  if format and not value:find(format.pattern) then
    return nil, p.name .. " is not " .. format.doc
  end
  if p.type == "json" then
    if p.max_bytes and #value > p.max_bytes then
      return nil, p.name .. " is larger than " .. p.max_bytes .. " bytes"
    end
    local decoded = cjson.decode(value)
    if decoded == nil then
      return nil, p.name .. " is not JSON"
    end
    local why = unkeepable(decoded, 1)
    if why then
      return nil, p.name .. " " .. why
    end
    if p.json == "object" and not (value:match("^%s*{") and is_object(decoded)) then
      return nil, p.name .. " must be a JSON object"
    end
    local bad = p.grammar and SHAPES[p.grammar](decoded, p.name)
    if bad then
      return nil, bad
    end
    return decoded
  end
  return value
end

-- raw: name -> string.  An empty value counts as absent, as the SDKs send
-- "" for a parameter that is set but empty.  Returns the typed values, or
-- nil, code (Missing<Name> or InvalidParameter), the parameter's name and
-- the reason.
function params.check(def, raw)
  local values = {}
  for _, p in ipairs(def.params) do
    local value = raw[p.name]
    if value == nil or value == "" then
      if p.required then
        return nil, "Missing" .. p.name, p.name
      end
    else
      local typed, why = convert(p, value)
      if typed == nil then
        return nil, "InvalidParameter", p.name, why .. "."
      end
      values[p.name] = typed
    end
  end
  return values
end

return params
