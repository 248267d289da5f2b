-- The ECS instance's RAM role over instance metadata (credentials.md 3.3):
-- an IMDSv2 token first (PUT /latest/api/token, 6 h TTL header), then the
-- role name (unless configured) and the role's credential, each GET with
-- the token.  Without a token, and when a GET with one fails, IMDSv1 is
-- tried unless disabled (disable_imdsv1, or ALIBABA_CLOUD_IMDSV1_DISABLED=
-- true), as Python and Java do.  1 s timeouts, like every official library.
--
-- Where: the metadata_endpoint option of dts.new, else the provider's
-- metadata_endpoint, else DTS_METADATA_ENDPOINT ("http://host:port"), else
-- http://100.100.100.200.  The override is a lua-dts extension (the
-- official libraries hard-code the address) for tests, the local emulator
-- and metadata proxies.  Role: role_name, else ALIBABA_CLOUD_ECS_METADATA,
-- else discovered once and kept.
--
-- In the default chain a metadata service that did not answer at all is
-- remembered: off ECS the chain then costs one probe, not one per call.

local creds = require "dts.credentials.creds"
local errors = require "dts.errors"
local json = require "dts.json"
local refresh = require "dts.credentials.refresh"

local M = {}

M.DEFAULT_ENDPOINT = "http://100.100.100.200"
local TIMEOUT = 1
local TOKEN_TTL = "21600"
local PATH = "/latest/meta-data/ram/security-credentials/"

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

-- "http://host[:port]" without a trailing slash, or nil.
function M.normalize(e)
  if type(e) ~= "string" then return nil end
  e = e:gsub("/+$", "")
  local host = e:match("^[Hh][Tt][Tt][Pp]://(.*)$")
  if host and (host:match("^[%w%.%-]+$") or host:match("^[%w%.%-]+:%d+$")
               or host:match("^%[[%x:]+%]:%d+$")) then
    return "http://" .. host
  end
  return nil
end

function M.endpoint(spec, ctx, where)
  local getenv = ctx.getenv or os.getenv
  for _, c in ipairs({
    { ctx.metadata_endpoint, "metadata_endpoint" },
    { spec.metadata_endpoint, creds.param(where, "metadata_endpoint") },
    { nonempty(getenv("DTS_METADATA_ENDPOINT")), "DTS_METADATA_ENDPOINT" },
  }) do
    if c[1] ~= nil then
      local e = M.normalize(c[1])
      if not e then return nil, errors.invalid(c[2], 'expected "http://host" or "http://host:port"') end
      return e
    end
  end
  return M.DEFAULT_ENDPOINT
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- M.new(spec, ctx, info) -> provider | nil, err
-- spec: role_name, metadata_endpoint, disable_imdsv1; where; remember
-- (internal: the chain's "a failed probe is remembered").
function M.new(spec, ctx, info)
  local where = spec.where or "credentials"
  local getenv = ctx.getenv or os.getenv
  local base, err = M.endpoint(spec, ctx, where)
  if not base then return nil, err end
  local role = spec.role_name or nonempty(getenv("ALIBABA_CLOUD_ECS_METADATA"))
  if role ~= nil and (type(role) ~= "string" or not role:match("^[%w%.@_%-]+$")) then
    return nil, errors.invalid(spec.role_name and (creds.param(where, "role_name")) or "ALIBABA_CLOUD_ECS_METADATA",
      "expected a RAM role name")
  end
  local no_v1 = spec.disable_imdsv1
  if no_v1 == nil then no_v1 = (getenv("ALIBABA_CLOUD_IMDSV1_DISABLED") or ""):lower() == "true" end
  local label = "instance metadata at " .. base
  local unreachable -- remembered failure, in the chain only
  info = info or {}

  local function fail(message, fields)
    local f = fields or {}
    f.message = label .. ": " .. message
    return nil, errors.new("credentials", f)
  end

  local function get(path, token, method)
    local headers = {}
    if method == "PUT" then headers["X-aliyun-ecs-metadata-token-ttl-seconds"] = TOKEN_TTL end
    if token then headers["X-aliyun-ecs-metadata-token"] = token end
    return ctx.request{ method = method or "GET", url = base .. path, headers = headers,
      connect_timeout = TIMEOUT, timeout = TIMEOUT }
  end

  local function why(res, terr)
    if res then return "HTTP " .. res.status end
    return terr.kind .. ": " .. tostring(terr.message)
  end

  -- An HTTP answer, or a failure other than the network's: someone is there.
  local function answered_by(res, terr)
    return res ~= nil or (terr.kind ~= "network" and terr.kind ~= "timeout")
  end

  -- A GET with the token; once more without it if that fails and IMDSv1
  -- is allowed.  -> body | nil, reason, answered (any HTTP answer came)
  local function fetch_path(path, token)
    local res, terr = get(path, token)
    if res and res.status == 200 then return res.body end
    local reason, answered = why(res, terr), answered_by(res, terr)
    if token and not no_v1 then
      res, terr = get(path, nil)
      if res and res.status == 200 then return res.body end
      reason = reason .. "; without the token: " .. why(res, terr)
      answered = answered or answered_by(res, terr)
    end
    return nil, reason, answered
  end

  local function fetch()
    if unreachable then return nil, unreachable end
    local token
    local res, terr = get("/latest/api/token", nil, "PUT")
    local answered = answered_by(res, terr)
    if res and res.status == 200 and trim(res.body) ~= "" then
      token = trim(res.body)
    elseif no_v1 then
      return fail("no IMDSv2 token (" .. why(res, terr) .. ") and IMDSv1 is disabled "
        .. "(ALIBABA_CLOUD_IMDSV1_DISABLED=true or disable_imdsv1)")
    end
    local name = role
    if not name then
      local body, reason, got = fetch_path(PATH, token)
      answered = answered or got
      if not body then
        local _, e = fail("cannot read the role name (" .. reason .. ")")
        if not answered and spec.remember then
          e.message = e.message .. "; not asked again by this client"
          unreachable = e
        end
        return nil, e
      end
      name = trim(body)
      if not name:match("^[%w%.@_%-]+$") then
        return fail("the role name it answered is not a RAM role name")
      end
      role = name -- discovered once
    end
    local body, reason = fetch_path(PATH .. name, token)
    if not body then
      if reason:find("HTTP 404", 1, true) then
        reason = reason .. ": the instance has no RAM role named " .. name
      end
      return fail("cannot read the role's credential (" .. reason .. ")")
    end
    local t, jerr = json.decode(body)
    if type(t) ~= "table" then
      return fail("the credential is not a JSON object (" .. tostring(jerr or type(t)) .. ")")
    end
    if t.Code ~= "Success" then
      local code = type(t.Code) == "string" and #t.Code <= 64 and t.Code:match("^[%w%.%-_]*$")
      return fail("Code is " .. (code and ('"' .. code .. '"') or "missing") .. ", not \"Success\"",
        { code = code or nil })
    end
    return creds.from_json(t, label)
  end

  local key = refresh.key("ecs_ram_role", base, role, no_v1, spec.remember)
  local p = refresh.new{
    fetch = fetch, name = label, key = key, ctx = ctx,
    describe = function()
      return { source = info.source or "explicit", where = info.where, type = "ecs_ram_role",
        mode = "EcsRamRole", role_name = role, metadata_endpoint = base }
    end,
  }
  p.key = key
  return p
end

return M
