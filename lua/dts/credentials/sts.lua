-- Security Token Service: where it is, and one exchange with it for
-- AssumeRole (ram_role_arn.lua) and AssumeRoleWithOIDC (oidc.lua).
--
-- Endpoint (credentials.md 1.4, plus the aliyun CLI's variable): the
-- sts_endpoint option of dts.new, else the provider's or profile's
-- sts_endpoint, else ALIBABA_CLOUD_STS_ENDPOINT (host[:port]; an http:// or
-- https:// prefix and a trailing / are dropped, as the CLI does), else
-- sts.<region>.aliyuncs.com for the sts_region option, the provider's or
-- profile's sts_region, or ALIBABA_CLOUD_STS_REGION (sts-vpc.<region> with
-- enable_vpc, or ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED=true when enable_vpc is
-- not given), else sts.aliyuncs.com.  Always HTTPS.
--
-- An exchange goes through the client's own transport (CA file, proxy,
-- timeouts; cosockets in nginx).  Answers are read by dts.decode, so STS's
-- refusals are the usual error objects (code, http_status, request_id),
-- of kind credentials; throttling and 5xx are retried with the client's
-- back-off, each attempt built (and signed) afresh.

local creds = require "dts.credentials.creds"
local decode = require "dts.decode"
local errors = require "dts.errors"
local retry = require "dts.retry"

local sts = {}

sts.VERSION = "2015-04-01"

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

local function invalid(param, message)
  return nil, errors.invalid(param, message)
end

-- "host[:port]" from what a user or the aliyun CLI's variable holds.
function sts.normalize(e)
  if type(e) ~= "string" then return nil end
  e = e:gsub("^[Hh][Tt][Tt][Pp][Ss]?://", ""):gsub("/+$", "")
  if e:match("^[%w%.%-]+$") or e:match("^[%w%.%-]+:%d+$") then return e end
  return nil
end

-- sts.endpoint(spec, ctx, where) -> host | nil, err
-- spec: the provider's fields (sts_endpoint, sts_region, enable_vpc);
-- where: how spec is named in messages ("credentials", "profile x").
function sts.endpoint(spec, ctx, where)
  local getenv = ctx.getenv or os.getenv
  local candidates = {
    { ctx.sts_endpoint, "sts_endpoint" },
    { spec.sts_endpoint, creds.param(where, "sts_endpoint") },
    { nonempty(getenv("ALIBABA_CLOUD_STS_ENDPOINT")), "ALIBABA_CLOUD_STS_ENDPOINT" },
  }
  for _, c in ipairs(candidates) do
    if c[1] ~= nil then
      local host = sts.normalize(c[1])
      if not host then return invalid(c[2], 'expected "host" or "host:port" of an STS endpoint') end
      return host
    end
  end
  local region, name = ctx.sts_region, "sts_region"
  if region == nil then region, name = spec.sts_region, creds.param(where, "sts_region") end
  if region == nil then region, name = nonempty(getenv("ALIBABA_CLOUD_STS_REGION")), "ALIBABA_CLOUD_STS_REGION" end
  if region == nil then return "sts.aliyuncs.com" end
  if type(region) ~= "string" or not region:match("^[%w%-]+$") then
    return invalid(name, "expected a region id such as cn-hangzhou")
  end
  local vpc = spec.enable_vpc
  if vpc == nil then
    vpc = (getenv("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED") or ""):lower() == "true"
  end
  return (vpc and "sts-vpc." or "sts.") .. region .. ".aliyuncs.com"
end

-- RoleSessionName: 2-64 of [A-Za-z0-9.@_-] (credentials.md 3.1).
function sts.check_session_name(param, v)
  if type(v) ~= "string" or #v < 2 or #v > 64 or not v:match("^[%w%.@_%-]+$") then
    return invalid(param, "expected 2 to 64 letters, digits or . @ _ -")
  end
  return true
end

-- DurationSeconds: whole seconds, at least 900 (the role's maximum is
-- STS's to check).
function sts.check_duration(param, v)
  if v == nil then return true end
  if type(v) ~= "number" or v ~= v or v % 1 ~= 0 or v < 900 or v > 43200 then
    return invalid(param, "expected whole seconds from 900 to 43200")
  end
  return true
end

-- What AssumeRole and AssumeRoleWithOIDC share: the session name (given,
-- else lua-dts-<unix time>), DurationSeconds as STS takes it ("900", not
-- "900.0" as JSON would have it) and the endpoint.  -> { session,
-- duration, host } | nil, err
function sts.role(spec, ctx, where)
  local session = spec.role_session_name or ("lua-dts-" .. os.time())
  local ok, err = sts.check_session_name(creds.param(where, "role_session_name"), session)
  if not ok then return nil, err end
  ok, err = sts.check_duration(creds.param(where, "duration_seconds"), spec.duration_seconds)
  if not ok then return nil, err end
  local host
  host, err = sts.endpoint(spec, ctx, where)
  if not host then return nil, err end
  return { session = session, duration = ("%d"):format(spec.duration_seconds or 3600), host = host }
end

local function wrap(err, label, secrets)
  local e = errors.new("credentials", {
    code = err.code, bare_code = err.bare_code, http_status = err.http_status,
    request_id = err.request_id, recommend = err.recommend,
    message = label .. ": " .. (err.kind ~= "api" and err.kind ~= "credentials"
      and (err.kind .. ": ") or "") .. tostring(err.message),
  })
  e.message = errors.redact(e.message, secrets)
  return e
end

-- sts.call(ctx, o) -> creds | nil, err
-- o: label ("STS AssumeRole at host"), secrets (to keep out of messages),
-- build() -> { method, url, headers, body } | nil, err (called per attempt).
function sts.call(ctx, o)
  local policy = ctx.retries or retry.policy()
  local err
  for attempt = 1, policy.max_attempts do
    local req
    req, err = o.build()
    if not req then return nil, err end
    req.connect_timeout = req.connect_timeout or ctx.connect_timeout
    req.timeout = req.timeout or ctx.timeout
    local res
    res, err = ctx.request(req)
    if res then
      local body
      body, err = decode(res)
      if body then
        return creds.from_json(body.Credentials, o.label)
      end
    end
    if not (err.retryable == true and attempt < policy.max_attempts) then break end
    ctx.sleep(retry.delay(policy, attempt), err)
  end
  return nil, wrap(err, o.label, o.secrets or {})
end

return sts
