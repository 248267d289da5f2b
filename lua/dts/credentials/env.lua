-- The first source of the chain: ALIBABA_CLOUD_ACCESS_KEY_ID and
-- ALIBABA_CLOUD_ACCESS_KEY_SECRET (both required), ALIBABA_CLOUD_SECURITY_TOKEN
-- (optional: then the keys are STS keys).  Nothing else: no ALICLOUD_*
-- aliases, as in the official libraries (credentials.md 1.3).

local static = require "dts.credentials.static"

local env = {}

local ID, SECRET, TOKEN = "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
  "ALIBABA_CLOUD_SECURITY_TOKEN"

local function nonempty(v)
  if v == nil or v == "" then return nil end
  return v
end

-- env.new(getenv) -> provider | nil, reason (names only, never values)
function env.new(getenv)
  getenv = getenv or os.getenv
  local id, secret = nonempty(getenv(ID)), nonempty(getenv(SECRET))
  local token = nonempty(getenv(TOKEN))
  if not id and not secret then return nil, ID .. " and " .. SECRET .. " are not set" end
  if not secret then return nil, ID .. " is set but " .. SECRET .. " is not" end
  if not id then return nil, SECRET .. " is set but " .. ID .. " is not" end
  local p = static.new(id, secret, token, { source = "environment",
    mode = token and "StsToken" or "AK", type = token and "sts" or "access_key" })
  return p
end

return env
