-- A RAM role through STS AssumeRole (credentials.md 3.1), signed with the
-- RPC V1 signer of dts.core, POST with the role's parameters in the form
-- body as Go sends them.  The signing keys are an access key (type
-- ram_role_arn, profile mode RamRoleArn) or any other provider's credential
-- (profile mode ChainableRamRoleArn: its source_profile), with its STS
-- token when it has one.  What STS hands out goes through the refreshing
-- cache (refresh.lua).
--
-- Defaults: RoleSessionName "lua-dts-<unix time>" (Go: credentials-go-<µs>),
-- DurationSeconds 3600.

local core = require "dts.core"
local creds = require "dts.credentials.creds"
local errors = require "dts.errors"
local refresh = require "dts.credentials.refresh"
local static = require "dts.credentials.static"
local sts = require "dts.credentials.sts"

local M = {}

-- M.new(spec, ctx, info) -> provider | nil, err
-- spec: access_key_id, access_key_secret, security_token (or source = a
-- provider), role_arn, role_session_name, duration_seconds, policy,
-- external_id, sts_endpoint, sts_region, enable_vpc; where = how spec is
-- named in messages.  info: what describe() says.
function M.new(spec, ctx, info)
  local where = spec.where or "credentials"
  if type(spec.role_arn) ~= "string" or spec.role_arn == "" then
    return nil, errors.invalid(creds.param(where, "role_arn"), "missing: the ARN of the RAM role to assume")
  end
  local role, err = sts.role(spec, ctx, where)
  if not role then return nil, err end
  local session, duration, host = role.session, role.duration, role.host
  local source = spec.source
  if not source then
    if not spec.access_key_id or not spec.access_key_secret then
      return nil, errors.invalid(creds.param(where, "access_key_id"),
        "AssumeRole is signed with an access key: give access_key_id and access_key_secret")
    end
    source = static.new(spec.access_key_id, spec.access_key_secret, spec.security_token)
    source.key = refresh.key("static", spec.access_key_id, spec.access_key_secret, spec.security_token)
  end
  local label = "STS AssumeRole at " .. host
  info = info or {}

  local function fetch()
    local good, src = source.get()
    if not good then
      local e = errors.new("credentials", {})
      for k, v in pairs(src) do e[k] = v end
      e.kind = "credentials"
      e.message = label .. ": the credential to sign it with: " .. tostring(src.message)
      return nil, e
    end
    return sts.call(ctx, {
      label = label, secrets = { src.access_key_secret, src.security_token },
      build = function()
        local signed, serr = core.sign{
          scheme = "v1", method = "POST", host = host, path = "/",
          action = "AssumeRole", version = sts.VERSION,
          access_key_id = src.access_key_id, access_key_secret = src.access_key_secret,
          security_token = src.security_token,
          timestamp = core.timestamp(), nonce = core.nonce(),
          body = { RoleArn = spec.role_arn, RoleSessionName = session,
            DurationSeconds = duration, Policy = spec.policy, ExternalId = spec.external_id },
        }
        if not signed then
          return nil, errors.new("credentials", { message = label .. ": " .. tostring(serr) })
        end
        signed.headers.accept = "application/json"
        signed.headers["x-acs-credentials-provider"] = info.provider_name or "ram_role_arn"
        return { method = signed.method, url = "https://" .. host .. signed.target,
          headers = signed.headers, body = signed.body }
      end,
    })
  end

  -- The default session name changes every second; it names, not identifies.
  local key = source.key and refresh.key("ram_role_arn", host, source.key, spec.role_arn,
    spec.role_session_name, duration, spec.policy, spec.external_id)
  local p = refresh.new{
    fetch = fetch, name = label, key = key, ctx = ctx,
    describe = function()
      return { source = info.source or "explicit", where = info.where,
        type = "ram_role_arn", mode = info.mode or "RamRoleArn", sts_endpoint = host }
    end,
  }
  p.key = key
  return p
end

return M
