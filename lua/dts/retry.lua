-- Step 6 (design.md): which failures are worth another attempt, and how long
-- to wait first: capped exponential backoff with full jitter, so many
-- clients throttled together do not come back together.

local core = require "dts.core"

local retry = {}

retry.DEFAULTS = { max_attempts = 4, base_delay = 0.2, max_delay = 5 }

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

function retry.policy(opts)
  local p = {}
  for k, v in pairs(retry.DEFAULTS) do p[k] = v end
  for k, v in pairs(opts or {}) do p[k] = v end
  return p
end

return retry
