-- A profile of the aliyun CLI's config.json (credentials.md 2):
-- ALIBABA_CLOUD_CONFIG_FILE (as Go reads it), else ~/.aliyun/config.json;
-- the profile named by dts.new's `profile` option or `dts --profile`, else
-- ALIBABA_CLOUD_PROFILE, else the file's `current`.  Modes:
--
--   AK                   access_key_id, access_key_secret
--   StsToken             + sts_token (a fixed STS token, never refreshed)
--   RamRoleArn           access_key_id, access_key_secret (+ sts_token: an
--                        STS source, as the CLI allows), ram_role_arn,
--                        ram_session_name, expired_seconds, sts_region,
--                        sts_endpoint, external_id, policy, enable_vpc
--   EcsRamRole           ram_role_name (optional)
--   OIDC                 ram_role_arn, oidc_provider_arn, oidc_token_file,
--                        ram_session_name, expired_seconds, sts_region,
--                        sts_endpoint, policy, enable_vpc
--   ChainableRamRoleArn  source_profile (any mode, recursively), then
--                        AssumeRole with its credential: ram_role_arn, ...
--   CredentialsURI       credentials_uri (else ALIBABA_CLOUD_CREDENTIALS_URI)
--
-- A profile without `mode` gets the one the CLI infers.  CloudSSO and OAuth
-- are refused with advice (they need a browser login and write the file
-- back, credentials.md 2.6); External and the deprecated modes by name.
-- The file is read when the client is made, never written.

local errors = require "dts.errors"
local json = require "dts.json"
local sts = require "dts.credentials.sts"
local sys = require "dts.sys"

local M = {}

M.MODES = { "AK", "StsToken", "RamRoleArn", "EcsRamRole", "OIDC", "ChainableRamRoleArn",
  "CredentialsURI" }

local ADVICE = {
  CloudSSO = "it needs a browser sign-in and writes tokens back to the file; sign in with "
    .. "`aliyun configure --mode CloudSSO`, then use a profile in StsToken mode with the keys "
    .. "it exports, or RamRoleArn",
  OAuth = "it needs a browser sign-in and writes tokens back to the file; sign in with "
    .. "`aliyun configure --mode OAuth`, then use a profile in StsToken mode with the keys "
    .. "it exports, or RamRoleArn",
}

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

-- The path, or nil and why there is none.
function M.path(getenv)
  local file = nonempty(getenv("ALIBABA_CLOUD_CONFIG_FILE"))
  if file then return file end
  local home = nonempty(getenv("HOME"))
  if not home then return nil, "HOME and ALIBABA_CLOUD_CONFIG_FILE are not set" end
  return home .. "/.aliyun/config.json"
end

-- The CLI's AutoModeRecognition, for the modes lua-dts knows.
local function infer(p)
  if nonempty(p.access_key_id) and nonempty(p.access_key_secret) then
    if nonempty(p.sts_token) then return "StsToken" end
    if nonempty(p.ram_role_arn) then return "RamRoleArn" end
    return "AK"
  end
  if nonempty(p.ram_role_name) then return "EcsRamRole" end
  if nonempty(p.process_command) then return "External" end
  if nonempty(p.oidc_provider_arn) and nonempty(p.oidc_token_file) and nonempty(p.ram_role_arn) then
    return "OIDC"
  end
  if nonempty(p.credentials_uri) then return "CredentialsURI" end
  return nil
end

local REQUIRED = {
  AK = { "access_key_id", "access_key_secret" },
  StsToken = { "access_key_id", "access_key_secret", "sts_token" },
  RamRoleArn = { "access_key_id", "access_key_secret", "ram_role_arn" },
  EcsRamRole = {},
  OIDC = { "ram_role_arn", "oidc_provider_arn", "oidc_token_file" },
  ChainableRamRoleArn = { "source_profile", "ram_role_arn" },
  CredentialsURI = {},
}

local STRINGS = { "access_key_id", "access_key_secret", "sts_token", "ram_role_arn",
  "ram_session_name", "sts_region", "sts_endpoint", "external_id", "policy", "ram_role_name",
  "oidc_provider_arn", "oidc_token_file", "source_profile", "credentials_uri", "region_id" }

local function find(config, name)
  for _, p in ipairs(config.profiles) do
    if type(p) == "table" and p.name == name then return p end
  end
  return nil
end

local function names(config)
  local out = {}
  for _, p in ipairs(config.profiles) do
    if type(p) == "table" and type(p.name) == "string" then out[#out + 1] = p.name end
  end
  return table.concat(out, ", ")
end

local build

-- The provider of one profile, or nil and a message (without the prefix).
local function from_profile(config, p, ctx, path, chain)
  local name = p.name
  local where = ('profile "%s" in %s'):format(name, path)
  local mode = nonempty(p.mode) or infer(p)
  if mode == nil then
    return nil, "no mode, and none can be told from its fields"
  end
  if type(mode) ~= "string" then return nil, "mode: expected a string" end
  if ADVICE[mode] then
    return nil, ("mode %s is not supported by lua-dts: %s"):format(mode, ADVICE[mode])
  end
  if not REQUIRED[mode] then
    return nil, ("mode %s is not supported by lua-dts (it reads %s)"):format(mode,
      table.concat(M.MODES, ", "))
  end
  for _, k in ipairs(STRINGS) do
    if p[k] ~= nil and type(p[k]) ~= "string" then
      return nil, ("%s: expected a string, got %s"):format(k, type(p[k]))
    end
  end
  for _, k in ipairs(REQUIRED[mode]) do
    if not nonempty(p[k]) then return nil, ("%s: missing (mode %s)"):format(k, mode) end
  end
  local duration = p.expired_seconds
  if duration ~= nil then
    duration = tonumber(duration)
    if not duration then return nil, "expired_seconds: expected a number" end
  end
  if p.enable_vpc ~= nil and type(p.enable_vpc) ~= "boolean" then
    return nil, "enable_vpc: expected true or false"
  end
  local session = nonempty(p.ram_session_name)
  if session then
    local ok, err = sts.check_session_name("ram_session_name", session)
    if not ok then return nil, err.message end
  end
  local ok, err = sts.check_duration("expired_seconds", duration)
  if not ok then return nil, err.message end
  local info = { source = "profile", where = where, mode = mode,
    provider_name = "cli_profile/" .. mode }
  local provider
  if mode == "AK" or mode == "StsToken" then
    info.type = mode == "AK" and "access_key" or "sts"
    provider = require("dts.credentials.static").new(p.access_key_id, p.access_key_secret,
      mode == "StsToken" and p.sts_token or nil, info)
    provider.key = require("dts.credentials.refresh").key("static", p.access_key_id,
      p.access_key_secret, mode == "StsToken" and p.sts_token or nil)
    return provider
  end
  local role = { where = where, role_arn = p.ram_role_arn, role_session_name = session,
    duration_seconds = duration, policy = nonempty(p.policy), external_id = nonempty(p.external_id),
    sts_region = nonempty(p.sts_region), sts_endpoint = nonempty(p.sts_endpoint),
    enable_vpc = p.enable_vpc }
  if mode == "RamRoleArn" then
    role.access_key_id, role.access_key_secret = p.access_key_id, p.access_key_secret
    role.security_token = nonempty(p.sts_token)
    provider, err = require("dts.credentials.ram_role_arn").new(role, ctx, info)
  elseif mode == "ChainableRamRoleArn" then
    local source = p.source_profile
    chain[#chain + 1] = name
    for _, seen in ipairs(chain) do
      if seen == source then
        return nil, "source_profile loops: " .. table.concat(chain, " -> ") .. " -> " .. source
      end
    end
    local inner, ierr = build(config, source, ctx, path, chain)
    if not inner then return nil, ierr end
    role.source = inner
    provider, err = require("dts.credentials.ram_role_arn").new(role, ctx, info)
  elseif mode == "EcsRamRole" then
    provider, err = require("dts.credentials.ecs_ram_role").new({ where = where,
      role_name = nonempty(p.ram_role_name) }, ctx, info)
  elseif mode == "OIDC" then
    role.oidc_provider_arn, role.oidc_token_file = p.oidc_provider_arn, p.oidc_token_file
    role.external_id = nil
    provider, err = require("dts.credentials.oidc").new(role, ctx, info)
  else -- CredentialsURI
    local uri = nonempty(p.credentials_uri) or nonempty((ctx.getenv or os.getenv)("ALIBABA_CLOUD_CREDENTIALS_URI"))
    if not uri then
      return nil, "credentials_uri: missing, and ALIBABA_CLOUD_CREDENTIALS_URI is not set"
    end
    provider, err = require("dts.credentials.uri").new({ where = where, credentials_uri = uri }, ctx, info)
  end
  if not provider then return nil, (err.message:gsub("^" .. where:gsub("%p", "%%%0") .. ": ", "")) end
  return provider
end

-- The provider of profile `name` (recursing for source_profile), or nil and
-- a message.
build = function(config, name, ctx, path, chain)
  local p = find(config, name)
  if not p then
    return nil, ('no profile "%s" in %s (it has: %s)'):format(name, path, names(config))
  end
  local provider, err = from_profile(config, p, ctx, path, chain)
  if not provider then return nil, ('profile "%s" in %s: %s'):format(name, path, err) end
  return provider, p
end

-- The decoded file, or nil and why not.
function M.load(path)
  local text, rerr = sys.read_file(path)
  if not text then
    rerr = tostring(rerr)
    if rerr:find("No such file", 1, true) then return nil, "no file " .. path, true end
    return nil, "cannot read " .. path .. " (" .. rerr:gsub("^.*: ", "") .. ")"
  end
  local config, jerr = json.decode(text)
  if type(config) ~= "table" then
    return nil, path .. ": not JSON (" .. tostring(jerr or type(config)) .. ")"
  end
  if type(config.profiles) ~= "table" then
    return nil, path .. ": not an aliyun CLI configuration (no profiles)"
  end
  return config
end

-- M.provider(ctx, o) -> provider, profile table | nil, err (kind
-- credentials), missing (true when the file does not exist)
-- o: name (explicit profile), path (explicit file)
function M.provider(ctx, o)
  o = o or {}
  local getenv = ctx.getenv or os.getenv
  local path, why = o.path, nil
  if not path then path, why = M.path(getenv) end
  if not path then return nil, errors.new("credentials", { message = why }), true end
  local config, err, missing = M.load(path)
  if not config then return nil, errors.new("credentials", { message = err }), missing end
  local name = o.name or nonempty(getenv("ALIBABA_CLOUD_PROFILE"))
  if name == nil then
    name = config.current
    if type(name) ~= "string" or name == "" then
      return nil, errors.new("credentials", { message = path
        .. ": no profile named and no `current` profile" })
    end
  end
  local provider, profile = build(config, name, ctx, path, {})
  if not provider then return nil, errors.new("credentials", { message = profile }) end
  return provider, profile
end


return M
