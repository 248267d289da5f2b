-- The default chain: what dts.new{} uses when it is given no keys and no
-- `credentials`, in the official libraries' order (credentials.md 1.1):
--
--   1. environment        ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (/ _SECURITY_TOKEN)
--   2. OIDC               ALIBABA_CLOUD_ROLE_ARN, _OIDC_PROVIDER_ARN, _OIDC_TOKEN_FILE (all three)
--   3. profile            the aliyun CLI's config.json (cli_profile.lua), unless
--                         ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true
--   4. INI file           ~/.alibabacloud/credentials.ini or credentials (ini.lua)
--   5. instance metadata  the ECS RAM role (ecs_ram_role.lua), unless
--                         ALIBABA_CLOUD_ECS_METADATA_DISABLED=true
--   6. credentials URI    ALIBABA_CLOUD_CREDENTIALS_URI
--
-- The environment and the files are read once, when the client is made
-- (no I/O but file reads: dts.new may run in nginx's init phases); the
-- network only at the first call.  Sources are tried in order, each
-- failure recorded; the first that gives a credential answers every later
-- call alone ("sticky", as Python and Java; Go's quirk of sticking to the
-- last one tried after a total failure is not copied).  When none gives
-- one, a single error (kind credentials, code NoCredentials, `sources`)
-- says for each source why, naming variables and files, never values.  If
-- nothing can even be tried, dts.new itself returns that error.

local errors = require "dts.errors"

local chain = {}

chain.SOURCES = { "environment", "OIDC", "profile", "INI file", "instance metadata",
  "credentials URI" }

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

local function is_true(v)
  return type(v) == "string" and v:lower() == "true"
end

-- err.sources: { { source = "environment", reason = "..." }, ... } in the
-- chain's order.
local function no_credentials(reasons)
  local sources, parts = {}, {}
  for _, name in ipairs(chain.SOURCES) do
    local reason = reasons[name]
    if reason then
      sources[#sources + 1] = { source = name, reason = reason }
      parts[#parts + 1] = name .. ": " .. reason
    end
  end
  return errors.new("credentials", {
    code = "NoCredentials",
    message = "no credentials found in the default chain; " .. table.concat(parts, "; ")
      .. " (pass keys or credentials = {...} to dts.new, or configure one of these sources)",
    sources = sources,
  })
end

local OIDC_VARS = { "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
  "ALIBABA_CLOUD_OIDC_TOKEN_FILE" }

local function oidc(ctx, getenv)
  local missing = {}
  for _, name in ipairs(OIDC_VARS) do
    if not nonempty(getenv(name)) then missing[#missing + 1] = name end
  end
  if #missing > 0 then
    return nil, table.concat(missing, ", ") .. (#missing > 1 and " are" or " is") .. " not set"
  end
  local p, err = require("dts.credentials.oidc").new({ where = "OIDC",
    role_arn = getenv("ALIBABA_CLOUD_ROLE_ARN"),
    oidc_provider_arn = getenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN"),
    oidc_token_file = getenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE"),
    role_session_name = nonempty(getenv("ALIBABA_CLOUD_ROLE_SESSION_NAME")),
  }, ctx, { source = "OIDC", where = "environment", provider_name = "default/oidc_role_arn" })
  if not p then return nil, err.message end
  return p
end

-- Each source's provider, or the reason it has none (or nil, nil when it
-- may exist: the network decides).
local BUILDERS = {
  ["environment"] = function(_, getenv)
    return require("dts.credentials.env").new(getenv)
  end,
  ["OIDC"] = oidc,
  ["profile"] = function(ctx, getenv)
    if is_true(getenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED")) then
      return nil, "skipped: ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true"
    end
    local p, err = require("dts.credentials.cli_profile").provider(ctx, { name = ctx.profile })
    if not p then return nil, err.message end
    return p
  end,
  ["INI file"] = function(ctx)
    local p, err, none = require("dts.credentials.ini").provider(ctx, ctx.profile)
    if not p then return nil, none or err.message end
    return p
  end,
  ["instance metadata"] = function(ctx, getenv)
    if is_true(getenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")) then
      return nil, "skipped: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true"
    end
    local p, err = require("dts.credentials.ecs_ram_role").new({ where = "instance metadata",
      remember = true }, ctx, { source = "instance metadata", provider_name = "default/ecs_ram_role" })
    if not p then return nil, err.message end
    return p
  end,
  ["credentials URI"] = function(ctx, getenv)
    local uri = nonempty(getenv("ALIBABA_CLOUD_CREDENTIALS_URI"))
    if not uri then return nil, "ALIBABA_CLOUD_CREDENTIALS_URI is not set" end
    local p, err = require("dts.credentials.uri").new({ where = "ALIBABA_CLOUD_CREDENTIALS_URI",
      credentials_uri = uri }, ctx, { source = "credentials URI" })
    if not p then return nil, err.message end
    return p
  end,
}

-- chain.new(ctx) -> provider | nil, err
-- ctx: getenv, profile, and what the sources need (see credentials/init.lua).
function chain.new(ctx)
  local getenv = ctx.getenv or os.getenv
  local tried, reasons = {}, {}
  for _, name in ipairs(chain.SOURCES) do
    local p, reason = BUILDERS[name](ctx, getenv)
    if p then
      tried[#tried + 1] = { source = name, provider = p }
    else
      reasons[name] = reason
    end
  end
  if #tried == 0 then return nil, no_credentials(reasons) end

  local sticky
  local c = {}
  function c.get()
    if sticky then return sticky.get() end
    local why = {}
    for k, v in pairs(reasons) do why[k] = v end
    for _, t in ipairs(tried) do
      local ok, value = t.provider.get()
      if ok then
        sticky = t.provider
        c.source = t.source
        return true, value
      end
      -- Not the sources' fault: nginx's phase allows no fetching at all.
      if type(value) == "table" and value.phase then return nil, value end
      local reason = type(value) == "table" and tostring(value.message) or tostring(value)
      if type(value) == "table" and value.code and not reason:find(value.code, 1, true) then
        reason = reason .. " (" .. value.code .. ")"
      end
      why[t.source] = reason
    end
    return nil, no_credentials(why)
  end
  -- true when a fresh credential will be fetched (a session source).
  function c.invalidate()
    if sticky and sticky.invalidate then return sticky.invalidate() end
    return false
  end
  function c.describe()
    if sticky then return sticky.describe and sticky.describe() or { source = c.source } end
    return { source = "default chain", where = "not resolved yet" }
  end
  -- The sources the chain will try, in order (for specs and diagnostics).
  function c.sources()
    local out = {}
    for i, t in ipairs(tried) do out[i] = t.source end
    return out
  end
  return c
end

return chain
