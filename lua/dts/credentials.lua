-- Where the access key comes from.  A provider is anything with
-- get() -> true, { access_key_id, access_key_secret, security_token } | nil, err
-- (the success flag first, so a mis-assigned err can never hold a secret).
-- The chain tries explicit options, then the environment; the rest of the
-- official chain (CLI profile, OIDC, instance metadata) plugs in here.

local errors = require "dts.errors"

local credentials = {}

local function static(id, secret, token)
  return { get = function() return true, {
    access_key_id = id, access_key_secret = secret, security_token = token,
  } end }
end

-- Stray whitespace is the classic cause of SignatureDoesNotMatch
-- (dts-api.md 8.8): refuse it before anything is signed.
local function check(name, v, required)
  if v == nil or v == "" then
    if required then return nil, errors.new("credentials", { message = name .. ": missing" }) end
    return true
  end
  if type(v) ~= "string" then
    return nil, errors.new("credentials", { message = name .. ": expected a string, got " .. type(v) })
  end
  if v:match("^%s") or v:match("%s$") then
    return nil, errors.new("credentials", {
      message = name .. ": has leading or trailing whitespace; copy it again without it" })
  end
  return true
end

function credentials.validate(c)
  for _, f in ipairs({ { "access_key_id", true }, { "access_key_secret", true },
                       { "security_token", false } }) do
    local ok, err = check(f[1], c[f[1]], f[2])
    if not ok then return nil, err end
  end
  return true
end

function credentials.from_env(getenv)
  getenv = getenv or os.getenv
  local id = getenv("ALIBABA_CLOUD_ACCESS_KEY_ID")
  if not id or id == "" then return nil end
  local token = getenv("ALIBABA_CLOUD_SECURITY_TOKEN")
  return static(id, getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"), token ~= "" and token or nil)
end

-- An aliyun CLI profile (~/.aliyun/config.json, dts-api.md 7.1): AK and
-- StsToken modes.  -> provider, region | nil, err
function credentials.from_profile(name, path)
  path = path or ((os.getenv("HOME") or "") .. "/.aliyun/config.json")
  local text = require("dts.sys").read_file(path)
  if not text then
    return nil, errors.new("credentials", { message = "profile " .. name .. ": cannot read " .. path })
  end
  local config = require("dts.json").decode(text)
  if type(config) ~= "table" or type(config.profiles) ~= "table" then
    return nil, errors.new("credentials", { message = path .. ": not an aliyun CLI configuration" })
  end
  for _, p in ipairs(config.profiles) do
    if type(p) == "table" and p.name == name then
      if p.mode ~= "AK" and p.mode ~= "StsToken" then
        return nil, errors.new("credentials", { message = ("profile %s: mode %s is not supported "
          .. "yet (AK and StsToken are)"):format(name, tostring(p.mode)) })
      end
      local token = p.mode == "StsToken" and p.sts_token or nil
      return static(p.access_key_id, p.access_key_secret, token), p.region_id
    end
  end
  return nil, errors.new("credentials", { message = ("profile %s: not in %s"):format(name, path) })
end

-- The provider for dts.new's options: explicit keys, a given provider, or
-- the environment.
function credentials.resolve(opts, getenv)
  if opts.credentials then return opts.credentials end
  if opts.access_key_id or opts.access_key_secret then
    return static(opts.access_key_id, opts.access_key_secret, opts.security_token)
  end
  local env = credentials.from_env(getenv)
  if env then return env end
  return nil, errors.new("credentials", {
    message = "no credentials: pass access_key_id and access_key_secret to dts.new, "
      .. "or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET" })
end

credentials.static = static

return credentials
