-- The credentials the emulator hands out (STS, instance metadata, the
-- credentials URI) and that its DTS side then accepts until they expire:
-- per source, the first lives first_lifetime seconds when that is set,
-- every later one `lifetime` (default: what was asked, else 3600).
-- Pure Lua over dts.core's CSPRNG; lives in the one nginx worker.
--
--   local iss = issuer.new{ lifetime = 3600, first_lifetime = 960 }
--   local c = iss:issue("sts", now, 3600)  -- AccessKeyId, AccessKeySecret,
--                                          -- SecurityToken, Expiration
--   iss.keys[id]  -> { secret, token, expires }  (verify.check's table)

local core = require "dts.core"

local issuer = {}
issuer.__index = issuer

-- Kept this long after expiring (a late call then reads Expired, not NotFound).
local KEEP = 24 * 3600

function issuer.new(cfg)
  return setmetatable({ cfg = cfg or {}, keys = {}, count = {}, issued = 0 }, issuer)
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- A new credential from `source` ("sts", "metadata", "uri"), asked for
-- `asked` seconds (STS DurationSeconds) at time `now`.
function issuer:issue(source, now, asked)
  local n = self.count[source] or 0
  self.count[source] = n + 1
  local lifetime = self.cfg.lifetime or asked or 3600
  if n == 0 and self.cfg.first_lifetime then lifetime = self.cfg.first_lifetime end
  local expires = math.floor(now) + lifetime
  local id = "STS.NT" .. core.nonce():sub(1, 22)
  local secret = core.base64(core.nonce() .. core.nonce()):gsub("[^%w]", "")
  local token = "CAIS" .. core.base64(core.nonce() .. core.nonce() .. core.nonce())
  self.keys[id] = { secret = secret, token = token, expires = expires, source = source }
  self.issued = self.issued + 1
  if self.issued % 1000 == 0 then
    for k, v in pairs(self.keys) do
      if v.expires + KEEP < now then self.keys[k] = nil end
    end
  end
  return { AccessKeyId = id, AccessKeySecret = secret, SecurityToken = token,
    Expiration = iso(expires) }
end

return issuer
