-- A credentials URI (credentials.md 3.4): GET the URL (its query string
-- kept, no authentication), HTTP 200 and a JSON object with AccessKeyId,
-- AccessKeySecret, SecurityToken and Expiration; a Code, when present, must
-- be "Success" (the portable rule: Go ignores Code, Python and the CLI
-- require it).  From ALIBABA_CLOUD_CREDENTIALS_URI, a profile in
-- CredentialsURI mode, an INI section of type credentials_uri, or type
-- credentials_uri.  Messages show the URL without its query string, which
-- may hold a token.

local creds = require "dts.credentials.creds"
local errors = require "dts.errors"
local json = require "dts.json"
local refresh = require "dts.credentials.refresh"

local M = {}

function M.check(uri, param)
  if type(uri) ~= "string" or not uri:match("^[Hh][Tt][Tt][Pp][Ss]?://[^/?#%s]+[^%s]*$") then
    return nil, errors.invalid(param, "expected an http:// or https:// URL")
  end
  return true
end

-- M.new(spec, ctx, info) -> provider | nil, err
-- spec: credentials_uri; where.
function M.new(spec, ctx, info)
  local where = spec.where or "credentials"
  local uri = spec.credentials_uri
  local ok, err = M.check(uri, creds.param(where, "credentials_uri"))
  if not ok then return nil, err end
  local shown = uri:match("^[^?#]*")
  local label = "credentials URI " .. shown
  info = info or {}

  local function fail(message, fields)
    local f = fields or {}
    f.message = label .. ": " .. message
    return nil, errors.new("credentials", f)
  end

  local function fetch()
    local res, terr = ctx.request{ method = "GET", url = uri, headers = { accept = "application/json" } }
    if not res then
      return fail(terr.kind .. ": " .. tostring(terr.message):gsub("%?[^%s]*", ""))
    end
    if res.status ~= 200 then return fail("HTTP " .. res.status, { http_status = res.status }) end
    local t, jerr = json.decode(res.body)
    if type(t) ~= "table" then
      return fail("the answer is not a JSON object (" .. tostring(jerr or type(t)) .. ")")
    end
    if t.Code ~= nil and t.Code ~= "Success" then
      local code = type(t.Code) == "string" and #t.Code <= 64 and t.Code:match("^[%w%.%-_]*$")
      return fail("Code is " .. (code and ('"' .. code .. '"') or "not a string") .. ", not \"Success\"",
        { code = code or nil })
    end
    return creds.from_json(t, label)
  end

  local key = refresh.key("credentials_uri", uri)
  local p = refresh.new{
    fetch = fetch, name = label, key = key, ctx = ctx,
    describe = function()
      return { source = info.source or "explicit", where = info.where, type = "credentials_uri",
        mode = "CredentialsURI", credentials_uri = shown }
    end,
  }
  p.key = key
  return p
end

return M
