-- What a credential is, wherever it comes from:
--   { access_key_id, access_key_secret, security_token, expiration }
-- (expiration: epoch seconds, nil for long-lived keys).  Checked once, when
-- a source hands it over, never per call; read from the JSON object that
-- STS, instance metadata and a credentials URI all answer with; and shown
-- only masked.

local errors = require "dts.errors"
local time = require "dts.time"

local creds = {}

local function fail(message, fields)
  local f = fields or {}
  f.message = message
  return nil, errors.new("credentials", f)
end

-- Stray whitespace is the classic cause of SignatureDoesNotMatch
-- (dts-api.md 8.8): refuse it before anything is signed.  Messages name
-- the field, never its value.
local function check(name, v, required)
  if v == nil or v == "" then
    if required then return fail(name .. ": missing") end
    return true
  end
  if type(v) ~= "string" then
    return fail(name .. ": expected a string, got " .. type(v))
  end
  if v:match("^%s") or v:match("%s$") then
    return fail(name .. ": has leading or trailing whitespace; copy it again without it")
  end
  return true
end

local FIELDS = { { "access_key_id", true }, { "access_key_secret", true }, { "security_token", false } }

-- creds.validate(c) -> true | nil, err (kind credentials)
function creds.validate(c)
  if type(c) ~= "table" then
    return fail("expected a table { access_key_id, access_key_secret, security_token }, got "
      .. type(c))
  end
  for _, f in ipairs(FIELDS) do
    local ok, err = check(f[1], c[f[1]], f[2])
    if not ok then return nil, err end
  end
  local e = c.expiration
  if e ~= nil and (type(e) ~= "number" or e ~= e or e == math.huge or e == -math.huge) then
    return fail("expiration: expected epoch seconds, got " .. type(e))
  end
  return true
end

-- A copy with only the four fields (a source's table may carry more, or be
-- changed by its owner later).
function creds.copy(c)
  return {
    access_key_id = c.access_key_id, access_key_secret = c.access_key_secret,
    security_token = c.security_token ~= "" and c.security_token or nil,
    expiration = c.expiration,
  }
end

-- The credential object of an STS answer, of instance metadata and of a
-- credentials URI: AccessKeyId, AccessKeySecret, SecurityToken and
-- Expiration, all required, Expiration strictly "yyyy-MM-ddTHH:mm:ssZ"
-- (what Go and Python accept).  `what` names the source in messages; the
-- values are never quoted, the Expiration excepted (not a secret).
function creds.from_json(t, what)
  if type(t) ~= "table" then
    return fail(what .. ": the answer holds no credentials object")
  end
  local missing = {}
  for _, name in ipairs({ "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration" }) do
    if type(t[name]) ~= "string" or t[name] == "" then missing[#missing + 1] = name end
  end
  if #missing > 0 then
    return fail(what .. ": the answer lacks " .. table.concat(missing, ", "))
  end
  local expiration = time.parse(t.Expiration)
  if not expiration then
    local shown = #t.Expiration <= 40 and t.Expiration:match("^[%w%-:%.%+ TZ]*$")
    return fail(what .. ": Expiration " .. (shown and ('"' .. shown .. '"') or "")
      .. " is not a time of the form yyyy-MM-ddTHH:mm:ssZ")
  end
  local c = {
    access_key_id = t.AccessKeyId, access_key_secret = t.AccessKeySecret,
    security_token = t.SecurityToken, expiration = expiration,
  }
  local ok, err = creds.validate(c)
  if not ok then
    err.message = what .. ": " .. err.message
    return nil, err
  end
  return c
end

-- How a provider's field is named in messages: "credentials.role_arn" for
-- dts.new's table, "[default] in FILE: role_arn" for a file's.
function creds.param(where, field)
  if where:find(" ", 1, true) then return where .. ": " .. field end
  return where .. "." .. field
end

-- "LTAI****************wxyz": enough to tell two keys apart, not to use one.
function creds.mask(id)
  if type(id) ~= "string" or id == "" then return nil end
  if #id < 12 then return id:sub(1, 2) .. ("*"):rep(math.max(#id - 2, 4)) end
  return id:sub(1, 4) .. ("*"):rep(#id - 8) .. id:sub(-4)
end

return creds
