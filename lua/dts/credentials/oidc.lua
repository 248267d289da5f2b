-- A RAM role through STS AssumeRoleWithOIDC (credentials.md 3.2): Kubernetes
-- RRSA and other OIDC identity providers.  The request is unsigned (no
-- access key at all), POST with everything in the form body (the token may
-- be 20 KB), and the token file is read again at every refresh because the
-- projected token rotates.  From the environment (ALIBABA_CLOUD_ROLE_ARN,
-- ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE, and
-- ALIBABA_CLOUD_ROLE_SESSION_NAME as Python reads it), a profile in OIDC
-- mode, an INI section of type oidc_role_arn, or type oidc_role_arn.

local core = require "dts.core"
local creds = require "dts.credentials.creds"
local errors = require "dts.errors"
local refresh = require "dts.credentials.refresh"
local sts = require "dts.credentials.sts"
local sys = require "dts.sys"

local M = {}

local function form(t)
  local names = {}
  for k in pairs(t) do names[#names + 1] = k end
  table.sort(names)
  local parts = {}
  for i, k in ipairs(names) do
    parts[i] = core.percent_encode(k) .. "=" .. core.percent_encode(t[k])
  end
  return table.concat(parts, "&")
end

-- The token, or why not (the path is named, never the contents).
local function read_token(path, label)
  local text, err = sys.read_file(path)
  if not text then
    return nil, errors.new("credentials", { message = ("%s: cannot read the OIDC token file %s: %s")
      :format(label, path, tostring(err)) })
  end
  -- A token holds no whitespace; a file written by `echo` ends in a newline.
  text = text:gsub("^%s+", ""):gsub("%s+$", "")
  if #text < 4 or #text > 20000 then
    return nil, errors.new("credentials", { message = ("%s: the OIDC token in %s is %d bytes long; "
      .. "STS takes 4 to 20000"):format(label, path, #text) })
  end
  if not core.utf8_valid(text) then
    return nil, errors.new("credentials", { message = ("%s: the OIDC token in %s is not valid UTF-8")
      :format(label, path) })
  end
  return text
end

-- M.new(spec, ctx, info) -> provider | nil, err
-- spec: role_arn, oidc_provider_arn, oidc_token_file, role_session_name,
-- duration_seconds, policy, sts_endpoint, sts_region, enable_vpc; where.
function M.new(spec, ctx, info)
  local where = spec.where or "credentials"
  for _, name in ipairs({ "role_arn", "oidc_provider_arn", "oidc_token_file" }) do
    if type(spec[name]) ~= "string" or spec[name] == "" then
      return nil, errors.invalid(creds.param(where, name), "missing")
    end
  end
  local role, err = sts.role(spec, ctx, where)
  if not role then return nil, err end
  local session, duration, host = role.session, role.duration, role.host
  local label = "STS AssumeRoleWithOIDC at " .. host
  info = info or {}

  local function fetch()
    local token, terr = read_token(spec.oidc_token_file, label)
    if not token then return nil, terr end
    return sts.call(ctx, {
      label = label, secrets = { token },
      build = function()
        return {
          method = "POST", url = "https://" .. host .. "/",
          headers = { ["content-type"] = "application/x-www-form-urlencoded",
            accept = "application/json",
            ["x-acs-credentials-provider"] = info.provider_name or "oidc_role_arn" },
          body = form{
            Action = "AssumeRoleWithOIDC", Version = sts.VERSION, Format = "JSON",
            Timestamp = core.timestamp(), RoleArn = spec.role_arn,
            OIDCProviderArn = spec.oidc_provider_arn, OIDCToken = token,
            RoleSessionName = session, DurationSeconds = duration, Policy = spec.policy,
          },
        }
      end,
    })
  end

  local key = refresh.key("oidc_role_arn", host, spec.role_arn, spec.oidc_provider_arn,
    spec.oidc_token_file, spec.role_session_name, duration, spec.policy)
  local p = refresh.new{
    fetch = fetch, name = label, key = key, ctx = ctx,
    describe = function()
      return { source = info.source or "explicit", where = info.where,
        type = "oidc_role_arn", mode = "OIDC", sts_endpoint = host }
    end,
  }
  p.key = key
  return p
end

return M
