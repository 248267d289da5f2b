-- The credentials INI file of the official libraries (credentials.md 1.3
-- (4)): ALIBABA_CLOUD_CREDENTIALS_FILE, else ~/.alibabacloud/credentials.ini
-- (Python's and Java's default), else ~/.alibabacloud/credentials (Go's):
-- both defaults are tried, in that order, so a file either library wrote
-- is found.  The section: the profile option of dts.new, else
-- ALIBABA_CLOUD_PROFILE, else "default".  Its `type` picks the source:
--
--   access_key       access_key_id, access_key_secret
--   sts              access_key_id, access_key_secret, security_token
--   ram_role_arn     access_key_id, access_key_secret, role_arn,
--                    role_session_name, policy, duration_seconds, sts_region
--   ecs_ram_role     role_name
--   oidc_role_arn    role_arn, oidc_provider_arn, oidc_token_file_path,
--                    role_session_name, policy, duration_seconds, sts_region
--   credentials_uri  credentials_uri
--
-- Lines: [section], key = value, comments starting with # or ;, and a
-- " # comment" after a value (Python strips those).  Other keys are
-- ignored (the file is shared with other tools; Go's own fixture has
-- `enable = true`).

local errors = require "dts.errors"
local sys = require "dts.sys"

local M = {}

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

-- The files to try, in order, or nil and why there are none.
function M.paths(getenv)
  local file = nonempty(getenv("ALIBABA_CLOUD_CREDENTIALS_FILE"))
  if file then return { file } end
  local home = nonempty(getenv("HOME"))
  if not home then return nil, "HOME and ALIBABA_CLOUD_CREDENTIALS_FILE are not set" end
  return { home .. "/.alibabacloud/credentials.ini", home .. "/.alibabacloud/credentials" }
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- text -> { [section] = { key = value } } | nil, message
function M.parse(text)
  local sections, current = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = trim(line:gsub("\r$", ""))
    if line ~= "" and not line:match("^[#;]") then
      local name = line:match("^%[(.-)%]$")
      if name then
        current = sections[trim(name)] or {}
        sections[trim(name)] = current
      else
        local k, v = line:match("^([^=]-)%s*=%s*(.*)$")
        if not k or k == "" then
          return nil, ("line %d: expected [section] or key = value"):format(n)
        end
        if not current then
          return nil, ("line %d: a key before any [section]"):format(n)
        end
        current[trim(k)] = trim(v:gsub("%s+[#;].*$", ""))
      end
    end
  end
  return sections
end

local TYPES = {
  access_key = { "access_key_id", "access_key_secret" },
  sts = { "access_key_id", "access_key_secret", "security_token" },
  ram_role_arn = { "access_key_id", "access_key_secret", "role_arn" },
  ecs_ram_role = {},
  oidc_role_arn = { "role_arn", "oidc_provider_arn", "oidc_token_file_path" },
  credentials_uri = { "credentials_uri" },
}
M.TYPES = TYPES

-- M.provider(ctx, name) -> provider | nil, err (kind credentials), or
-- nil, nil, reason when there is no file at all.
function M.provider(ctx, name)
  local getenv = ctx.getenv or os.getenv
  local paths, why = M.paths(getenv)
  if not paths then return nil, nil, why end
  local path, text
  for _, p in ipairs(paths) do
    text = sys.read_file(p)
    if text then path = p break end
  end
  if not text then return nil, nil, "no file " .. table.concat(paths, " nor ") end
  local function fail(message)
    return nil, errors.new("credentials", { message = path .. ": " .. message })
  end
  local sections, perr = M.parse(text)
  if not sections then return fail(perr) end
  name = name or nonempty(getenv("ALIBABA_CLOUD_PROFILE")) or "default"
  local s = sections[name]
  if not s then return fail(("no section [%s]"):format(name)) end
  local where = ("[%s] in %s"):format(name, path)
  local t = s.type
  if not TYPES[t] then
    local names = {}
    for k in pairs(TYPES) do names[#names + 1] = k end
    table.sort(names)
    return fail(("[%s]: type %s is not one lua-dts reads (%s)"):format(name,
      t and ('"' .. t .. '"') or "missing", table.concat(names, ", ")))
  end
  for _, k in ipairs(TYPES[t]) do
    if not nonempty(s[k]) then return fail(("[%s]: %s: missing (type %s)"):format(name, k, t)) end
  end
  local duration = s.duration_seconds and tonumber(s.duration_seconds)
  if s.duration_seconds and not duration then
    return fail(("[%s]: duration_seconds: expected a number"):format(name))
  end
  local info = { source = "INI file", where = where }
  local p, err
  if t == "access_key" or t == "sts" then
    info.mode, info.type = t == "sts" and "StsToken" or "AK", t
    p = require("dts.credentials.static").new(s.access_key_id, s.access_key_secret,
      t == "sts" and s.security_token or nil, info)
  elseif t == "ram_role_arn" then
    p, err = require("dts.credentials.ram_role_arn").new({ where = where,
      access_key_id = s.access_key_id, access_key_secret = s.access_key_secret,
      role_arn = s.role_arn, role_session_name = nonempty(s.role_session_name),
      policy = nonempty(s.policy), duration_seconds = duration,
      sts_region = nonempty(s.sts_region), sts_endpoint = nonempty(s.sts_endpoint) }, ctx, info)
  elseif t == "ecs_ram_role" then
    p, err = require("dts.credentials.ecs_ram_role").new({ where = where,
      role_name = nonempty(s.role_name) }, ctx, info)
  elseif t == "oidc_role_arn" then
    p, err = require("dts.credentials.oidc").new({ where = where,
      role_arn = s.role_arn, oidc_provider_arn = s.oidc_provider_arn,
      oidc_token_file = s.oidc_token_file_path, role_session_name = nonempty(s.role_session_name),
      policy = nonempty(s.policy), duration_seconds = duration,
      sts_region = nonempty(s.sts_region), sts_endpoint = nonempty(s.sts_endpoint) }, ctx, info)
  else
    p, err = require("dts.credentials.uri").new({ where = where,
      credentials_uri = s.credentials_uri }, ctx, info)
  end
  if not p then return nil, errors.new("credentials", { message = err.message }) end
  return p
end

return M
