-- The library's names, in the dts command's terms.  An invalid_argument
-- error names what is wrong the way a Lua caller wrote it: a dts.new option
-- (region_id, ca_file), an API parameter (DtsJobId, DbList) or a workflow
-- option (interval, timeout).  On the command line the same thing is a
-- flag (--region, --dts-job-id, --poll), so the dts command says that.
--
-- Each subcommand records, as it declares a flag, which names the flag
-- sets (terms.record): the mapping comes from the declarations themselves,
-- not from a second list.  A name can mean different things in different
-- places (dts.new's timeout is --timeout, add_objects' is --wait), so the
-- client's names are a scope of their own (terms.CLIENT), and within a
-- scope the first flag recorded for a name keeps it.

local errors = require "dts.errors"

local terms = {}

terms.CLIENT = "(client)"

local FLAGS = {} -- scope -> { name -> flag }

function terms.record(scope, names, flag)
  local t = FLAGS[scope]
  if not t then
    t = {}
    FLAGS[scope] = t
  end
  if type(names) == "string" then names = { names } end
  for _, name in ipairs(names or {}) do
    if t[name] == nil then t[name] = flag end
  end
end

-- The flag that sets name in scope, or nil.
function terms.flag(scope, name)
  local t = FLAGS[scope]
  return t and t[name]
end

-- Lua idioms a library message may carry, and what the command says
-- instead (after names became flags).
local PHRASES = {
  { "set (%-%-[%w%-]+) in dts%.new{} or ([%u%d_]+), or pass %-%-[%w%-]+", "give %1 or set %2" },
  { "set (%-%-[%w%-]+) in dts%.new{}", "give %1" },
  { "pass keys or credentials = {%.%.%.} to dts%.new", "give --profile" },
  { "[%w_]+ = true %((%-%-[%w%-]+)%)", "%1" },
  { "; [%w_:]+ needs it %(or [%w_]+%)", "; this command needs it" },
}

-- A word of a message that is a name in code, not English: PascalCase or
-- with an underscore ("DtsJobId", "batch_size"; not "checkpoint").
local function code_like(word)
  return word:find("_", 1, true) ~= nil or word:find("^%a%l*%u") ~= nil
end

local function flags_in(scope, text)
  local t = FLAGS[scope] or {}
  return (text:gsub("()([%a_][%w_]*)", function(at, word)
    local before = at > 1 and text:sub(at - 1, at - 1) or ""
    if before == "-" or before == "." or before == "<" then return nil end
    local flag = t[word]
    if flag and code_like(word) then return flag end
    return nil
  end))
end

-- Kinds whose messages lua-dts words itself (not the service's text).
local OURS = { invalid_argument = true, credentials = true }

-- err in the command's terms: an invalid_argument error whose param has a
-- flag in scope comes back as a new error naming the flag (param and
-- message), and names and Lua idioms in the messages of our own errors
-- become flags; any other error comes back as it is.  "DbList.shop.all"
-- (a path inside the flag's JSON) becomes "--db-list: shop.all".
function terms.translate(scope, err)
  if not (errors.is(err) and OURS[err.kind]) or (err.kind == "credentials" and err.http_status) then
    return err
  end
  local param, message = err.param, tostring(err.message or "")
  local flag, rest = nil, nil
  if type(param) == "string" and err.kind == "invalid_argument" then
    flag = terms.flag(scope, param)
    if not flag then
      local head, sub = param:match("^([%a_][%w_]*)([%.%[].*)$")
      flag = head and terms.flag(scope, head)
      rest = flag and sub:gsub("^%.", "")
    end
  end
  if flag then
    local n = #param
    if message:sub(1, n) == param and message:sub(n + 1, n + 2) == ": " then
      message = flag .. ": " .. (rest and (rest .. ": ") or "") .. message:sub(n + 3)
    elseif message:sub(1, n) == param and message:find("^[%.%[]", n + 1) then
      -- "DbList.a: ...": a path below the flag
      local below = message:sub(n + 1):gsub("^%.", "")
      message = flag .. ": " .. below
    end
  end
  message = flags_in(scope, message)
  for _, p in ipairs(PHRASES) do message = message:gsub(p[1], p[2]) end
  local out = {}
  for k, v in pairs(err) do out[k] = v end
  local kind = err.kind
  out.kind, out.param, out.message = nil, flag or param, message
  return errors.new(kind, out)
end

return terms
