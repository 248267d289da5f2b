-- Step 6 (design.md): which failures are worth another attempt, how long to
-- wait first (capped exponential backoff with full jitter, so many clients
-- throttled together do not come back together), and whether the call's
-- deadline leaves time for it.

local core = require "dts.core"
local errors = require "dts.errors"
local suggest = require "dts.suggest"

local retry = {}

retry.DEFAULTS = { max_attempts = 4, base_delay = 0.2, max_delay = 5 }

-- What dts.new{ retries = {...} } accepts.  Delays are seconds; a call's
-- timeout bounds them anyway, the caps only catch mistakes (milliseconds
-- given as seconds).
local LIMITS = {
  max_attempts = { min = 1, max = 100, what = "a whole number" },
  base_delay = { min = 0, max = 600, what = "seconds" },
  max_delay = { min = 0, max = 600, what = "seconds" },
}
local NAMES = { "max_attempts", "base_delay", "max_delay" }

-- A uniform number in [0, 1) from OpenSSL's generator: no global seed to
-- share with the caller's math.random.
local function uniform()
  return tonumber(core.nonce():sub(1, 12), 16) / 2 ^ 48
end

-- Delay before attempt number `attempt` + 1.
function retry.delay(policy, attempt)
  local cap = math.min(policy.max_delay, policy.base_delay * 2 ^ (attempt - 1))
  return cap * uniform()
end

-- Transport failures before an answer and the service's retryable codes.
-- A timeout is retried too: the ClientToken makes a replay harmless.
function retry.retryable(err)
  if err.kind == "network" or err.kind == "timeout" then return true end
  return err.retryable == true
end

function retry.is_modifying(err)
  return err.bare_code == "OperationDenied.JobStatusModifying"
end

-- The least time worth starting another attempt with: a request cut off
-- halfway may still be applied, and then the call can only say "unknown".
function retry.min_attempt(timeout)
  return math.min(1, timeout / 4)
end

-- retries = { max_attempts, base_delay, max_delay } -> policy | nil, err
function retry.policy(opts)
  local p = {}
  for k, v in pairs(retry.DEFAULTS) do p[k] = v end
  if opts == nil then return p end
  if type(opts) ~= "table" then
    return nil, errors.invalid("retries", "expected a table { max_attempts, base_delay, max_delay }, got %s",
      type(opts))
  end
  for k, v in next, opts do -- raw: the caller's metamethods never run
    local limit = LIMITS[k]
    if not limit then
      local name = type(k) == "string" and k or ("[" .. type(k) .. "]")
      local hint = type(k) == "string" and suggest(k, NAMES)
      return nil, errors.invalid("retries." .. name, "not a retries option (%s)%s",
        table.concat(NAMES, ", "), hint and ("; did you mean " .. hint .. "?") or "")
    end
    if type(v) ~= "number" or v ~= v or v < limit.min or v > limit.max
        or (k == "max_attempts" and v % 1 ~= 0) then
      return nil, errors.invalid("retries." .. k, "expected %s from %s to %s, got %s", limit.what,
        limit.min, limit.max, type(v) == "number" and tostring(v) or type(v))
    end
    p[k] = v
  end
  return p
end

return retry
