-- Step 1 of a request (design.md): check the caller's table against the
-- action's schema and turn every value into the exact text the API takes.
-- Nothing is sent when this says no.

local core = require "dts.core"
local errors = require "dts.errors"
local grammar = require "dts.dblist.grammar"
local json = require "dts.json"
local schema = require "dts.schema"
local suggest = require "dts.suggest"

local invalid = errors.invalid
local utf8_valid = core.utf8_valid

local function describe(v)
  if type(v) == "string" then return ("%q"):format(#v > 40 and v:sub(1, 40) .. "..." or v) end
  return type(v)
end


local function check_text(p, s)
  local ok, pos = utf8_valid(s)
  if not ok then return nil, invalid(p.name, "not valid UTF-8 (byte %d)", pos) end
  if p.ascii and s:find("[^\32-\126]") then
    return nil, invalid(p.name, "only printable ASCII characters are allowed")
  end
  if p.max_len and #s > p.max_len then
    return nil, invalid(p.name, "%d characters, at most %d are allowed", #s, p.max_len)
  end
  local format = p.format and schema.FORMATS[p.format]
  if format and not s:find(format.pattern) then
    return nil, invalid(p.name, "%s is not %s", describe(s), format.doc)
  end
  if p.enum then
    for _, allowed in ipairs(p.enum) do
      if s == allowed then return s end
    end
    return nil, invalid(p.name, "%s is not one of %s", describe(s), table.concat(p.enum, ", "))
  end
  return s
end

local convert = {}

function convert.string(p, v)
  if type(v) ~= "string" then
    return nil, invalid(p.name, "expected a string, got %s", describe(v))
  end
  return check_text(p, v)
end

-- The API's text for booleans; the strings are accepted as they are.
function convert.boolean(p, v)
  if v == true or v == "true" then return "true" end
  if v == false or v == "false" then return "false" end
  return nil, invalid(p.name, "expected true or false, got %s", describe(v))
end

-- text, or nil, err when it is over the parameter's size limit.
local function within_limit(p, text)
  if p.max_bytes and #text > p.max_bytes then
    return nil, invalid(p.name, "%d bytes of JSON, over the %d-byte (1 MB) limit",
      #text, p.max_bytes)
  end
  return text
end

-- A Lua table (encoded here) or JSON text (checked to parse).
function convert.json(p, v)
  local text, value
  if type(v) == "table" then
    local err
    if p.grammar == "dblist" then
      text, err = grammar.encode(v, p.name) -- JSON and grammar together
    else
      text, err = json.encode(v, p.name)
    end
    if not text then return nil, errors.new("invalid_argument", { param = p.name, message = err }) end
    value = v
  elseif type(v) == "string" then
    -- Text the one-pass scan vouches for is UTF-8, one object and a DbList:
    -- nothing to decode or walk.
    if p.grammar == "dblist" and grammar.text_ok(v) then return within_limit(p, v) end
    local ok, pos = utf8_valid(v)
    if not ok then return nil, invalid(p.name, "not valid UTF-8 (byte %d)", pos) end
    local err
    value, err = json.decode(v)
    if value == nil then
      return nil, invalid(p.name, "not valid JSON: %s", err)
    end
    text = v
  else
    return nil, invalid(p.name, "expected a table or JSON text, got %s", describe(v))
  end
  if p.json == "object" and (type(value) ~= "table" or not json.object_text(text)) then
    return nil, invalid(p.name, "expected a JSON object")
  end
  local limited, too_big = within_limit(p, text)
  if not limited then return nil, too_big end
  if type(v) == "string" then
    -- JSON text is sent as it is, but must still be JSON the service can
    -- store: a number like 1e999 reads as infinity (issue 11 item 5).
    local ok, err
    if p.grammar == "dblist" then
      ok, err = grammar.check(value, p.name)
    else
      ok, err = json.check(value, p.name, nil, nil, true)
    end
    if not ok then return nil, errors.new("invalid_argument", { param = p.name, message = err }) end
  end
  return text
end

-- The first fault in the schema's order (so that of several, the error
-- names the same one every time), for a table the one-pass way refused.
local function fault(def, given)
  for _, p in ipairs(def.params) do
    local v = given[p.name]
    if v == nil then
      if p.required then
        return invalid(p.name, "missing; %s requires it (or %s)", def.action, p.alias)
      end
    elseif p.required and v == "" then
      return invalid(p.name, "empty; %s requires a value", def.action)
    else
      local text, err = convert[p.type](p, v)
      if not text then return err end
    end
  end
  -- split refuses nothing that the walk above accepts; should they ever
  -- disagree, the call still stops here, saying so.
  return invalid(nil, "%s: the parameters were refused without a reason (a lua-dts bug)",
    def.action)
end

-- How the one-pass way takes each parameter of an action, made once:
-- plan.by_name[name] = { body = true when it goes in the body, required =
-- ..., plain = true for a string with nothing but UTF-8 to check (its
-- schema entry is then not read at all), p = the schema entry };
-- plan.nrequired counts the required ones.
local plans = setmetatable({}, { __mode = "k" })

local function plan_of(def)
  local plan = { by_name = {}, nrequired = 0 }
  for _, p in ipairs(def.params) do
    local plain = p.type == "string" and not (p.ascii or p.max_len or p.format or p.enum)
    plan.by_name[p.name] = { body = p.where == "body", required = p.required or false,
      plain = plain, p = p }
    if p.required then plan.nrequired = plan.nrequired + 1 end
  end
  plans[def] = plan
  return plan
end

-- The common call in one pass, straight into the request's two tables:
-- every key an API name (no alias), every value good.  Anything else (an
-- alias, a fault) answers nil, and the careful way below finds the same
-- values or names the fault.
local function split(def, params)
  -- Sized for the usual query (RegionId, DtsInstanceId, DtsJobId,
  -- ClientToken) and body (DbList): no table grows while filled.
  local query = { RegionId = nil, DtsInstanceId = nil, DtsJobId = nil, ClientToken = nil }
  local body = { DbList = nil }
  local plan, required = plans[def] or plan_of(def), 0
  local by_name = plan.by_name
  for name, v in next, params do
    local e = by_name[name]
    if not e or (e.required and v == "") then return nil end
    local text
    if e.plain then
      text = type(v) == "string" and utf8_valid(v) and v
    else
      text = convert[e.p.type](e.p, v)
    end
    if not text then return nil end
    if e.required then required = required + 1 end
    if e.body then body[name] = text else query[name] = text end
  end
  if required ~= plan.nrequired then return nil end
  return query, body
end

-- validate(def, params) -> { Name = "wire text", ... } | nil, err
-- validate(def, params, true) -> query, body (name -> wire text, by where
-- the parameter goes) | nil, err
return function(def, params, by_where)
  if by_where and type(params) == "table" then
    local query, body = split(def, params)
    if query then return query, body end
  end
  if type(params) ~= "table" then
    return nil, invalid(nil, "%s expects a table of parameters, got %s", def.action, type(params))
  end
  -- name -> the value given; key_of: name -> the alias it was given under
  -- (made only when an alias is used).  Nothing is made per parameter.
  local given, key_of = {}, nil
  -- Read raw (next, not pairs): a caller's metamethods never run here.
  for key, v in next, params do
    if type(key) ~= "string" then
      return nil, invalid(nil, "%s parameters are named; got a %s key", def.action, type(key))
    end
    local p = def.by_name[key] or def.by_alias[key]
    if not p then
      local names = {}
      for _, q in ipairs(def.params) do
        names[#names + 1] = q.name
        names[#names + 1] = q.alias
      end
      local hint = suggest(key, names)
      return nil, invalid(key, "not a parameter of %s%s", def.action,
        hint and ("; did you mean " .. hint .. "?") or "")
    end
    local name = p.name
    if given[name] ~= nil then
      local prev = key_of and key_of[name] or name
      if not json.equal(given[name], v) then
        return nil, invalid(name, "given as both %s and %s, with different values",
          prev < key and prev or key, prev < key and key or prev)
      end
    end
    given[name] = v
    if key ~= name then
      key_of = key_of or {}
      key_of[name] = key
    end
  end
  -- given holds API names only: the one-pass way takes it when all is
  -- well, and fault() names what is wrong otherwise.
  local query, body = split(def, given)
  if not query then return nil, fault(def, given) end
  if by_where then return query, body end
  for name, text in next, body do query[name] = text end
  return query
end
