-- Options of the functions above the API (the workflows, the DbList
-- builder's methods): each function declares its options once, as a table,
-- and everything else is derived from it here: the check of names and
-- types with a "did you mean", the API's names and snake_case aliases
-- (from dts.schema, so a workflow takes DtsJobId and dts_job_id exactly as
-- modify_dts_job does), the value checks of API parameters (dts.validate),
-- and the docs' tables.
--
--   local spec = options.define("add_objects", {
--     { api = "DtsJobId", required = true },        -- name, alias, type, doc: the schema's
--     { name = "interval", type = "seconds", default = 5, doc = "..." },
--   })
--   local o, err = options.check(spec, opts)        -- o: keyed by the canonical names
--
-- Types: boolean, seconds (a finite number > 0), count (a whole number
-- >= 1), string (non-empty), function, objects (a table: the caller checks
-- its contents), columns (a list of names, or a map of source -> destination
-- name).

local errors = require "dts.errors"
local schema = require "dts.schema"
local suggest = require "dts.suggest"
local validate = require "dts.validate"

local options = {}

local function finite(v)
  return type(v) == "number" and v == v and v > -math.huge and v < math.huge
end

local function non_empty_string(v)
  return type(v) == "string" and v ~= ""
end

local function columns(v)
  if type(v) ~= "table" or next(v) == nil then return false end
  local n = rawlen and rawlen(v) or #v
  for k, x in next, v do
    if type(k) == "number" then
      if k % 1 ~= 0 or k < 1 or k > n or not non_empty_string(x) then return false end
    elseif not non_empty_string(k) or not non_empty_string(x) or n > 0 then
      return false
    end
  end
  return true
end

-- type -> { accepts(v), what it expects, for the message }
local TYPES = {
  boolean = { function(v) return type(v) == "boolean" end, "true or false" },
  seconds = { function(v) return finite(v) and v > 0 end, "a number of seconds > 0" },
  count = { function(v) return finite(v) and v >= 1 and v % 1 == 0 end, "a whole number >= 1" },
  string = { non_empty_string, "a non-empty string" },
  ["function"] = { function(v) return type(v) == "function" end, "a function" },
  objects = { function(v) return type(v) == "table" end,
    'a list of objects ("db", "db.table", { db =, table = }) or a DbList' },
  columns = { columns, "a list of column names, or a map of source -> destination name" },
}
options.TYPES = TYPES

local function describe(v)
  if type(v) == "string" then return ("%q"):format(#v > 40 and v:sub(1, 40) .. "..." or v) end
  if type(v) == "number" then return tostring(v) end
  return type(v)
end

-- An API parameter as the workflows take it: what the schema says of it.
local function api_param(o)
  local p = schema.ModifyDtsJob.by_name[o.api] or schema.DescribeDtsJobDetail.by_name[o.api]
  assert(p, "dts.options: no API parameter " .. tostring(o.api))
  return { name = p.name, alias = p.alias, type = p.type == "string" and "string" or p.type,
           param = p, required = o.required, doc = o.doc or p.doc, enum = p.enum }
end

-- define(what, list) -> spec: the declarative table, indexed.
function options.define(what, list)
  local spec = { what = what, list = {}, by_key = {}, keys = {} }
  for i, o in ipairs(list) do
    local d = o.api and api_param(o) or o
    assert(TYPES[d.type] or d.param, "dts.options: unknown type " .. tostring(d.type))
    d.index = i
    spec.list[i] = d
    for _, key in ipairs({ d.name, d.alias }) do
      spec.by_key[key] = d
      spec.keys[#spec.keys + 1] = key
    end
  end
  table.sort(spec.keys)
  return spec
end

local function check_value(spec, d, v, param)
  if d.param then
    -- The schema's own check (type, enum, length), as modify_dts_job does it.
    local one = { action = spec.what, params = { d.param },
                  by_name = { [d.name] = d.param }, by_alias = { [d.alias] = d.param } }
    local ok, err = validate(one, { [d.name] = v })
    if not ok then
      err.param = param
      err.message = err.message:gsub("^" .. d.name:gsub("%p", "%%%0"), param)
      return nil, err
    end
    if v == "" then return nil, errors.invalid(param, "must not be empty") end
    return true
  end
  local t = TYPES[d.type]
  if not t[1](v) then
    return nil, errors.invalid(param, "expected %s, got %s", t[2], describe(v))
  end
  return true
end

-- check(spec, opts [, prefix]) -> options keyed by canonical name | nil, err
-- prefix: where opts sits in a bigger value ("objects[2]"), for the names
-- in messages.
function options.check(spec, opts, prefix)
  local function name_of(key) return prefix and (prefix .. "." .. key) or key end
  if type(opts) ~= "table" then
    return nil, errors.invalid(prefix, "%s expects a table of options, got %s", spec.what, describe(opts))
  end
  local out, given = {}, {}
  for key, v in next, opts do -- raw: the caller's metamethods never run
    if type(key) ~= "string" then
      return nil, errors.invalid(prefix, "%s takes named options; got a %s key", spec.what, type(key))
    end
    local d = spec.by_key[key]
    if not d then
      local hint = suggest(key, spec.keys)
      return nil, errors.invalid(name_of(key), "not an option of %s%s", spec.what,
        hint and ("; did you mean " .. hint .. "?") or "")
    end
    if given[d.name] and out[d.name] ~= v then
      local a, b = given[d.name], key
      if b < a then a, b = b, a end
      return nil, errors.invalid(name_of(d.name), "given as both %s and %s, with different values", a, b)
    end
    local ok, err = check_value(spec, d, v, name_of(d.name))
    if not ok then return nil, err end
    out[d.name], given[d.name] = v, key
  end
  for _, d in ipairs(spec.list) do
    if out[d.name] == nil then
      if d.required then
        return nil, errors.invalid(name_of(d.name), "missing; %s needs it%s", spec.what,
          d.alias and (" (or " .. d.alias .. ")") or "")
      end
      out[d.name] = d.default
    end
  end
  return out
end

-- The options of a function as a Markdown table (README.md carries them;
-- a spec checks that the two agree).
function options.markdown(spec)
  local rows = { "| option | alias | type | default | |", "|---|---|---|---|---|" }
  for _, d in ipairs(spec.list) do
    local notes = d.doc or ""
    if d.required then notes = "**required.** " .. notes end
    if d.enum then notes = notes .. " One of: " .. table.concat(d.enum, ", ") .. "." end
    rows[#rows + 1] = ("| `%s` | %s | %s | %s | %s |"):format(d.name,
      d.alias and ("`" .. d.alias .. "`") or "", d.param and "string" or d.type,
      d.default ~= nil and ("`" .. tostring(d.default) .. "`") or "", notes)
  end
  return table.concat(rows, "\n") .. "\n"
end

return options
