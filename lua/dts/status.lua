-- Job statuses (dts-api.md 3.6, 5.3): how the service spells them and what
-- each allows.  Compared case-insensitively: live answers spell the running
-- state "synchronizing", the models "Synchronizing".

local status = {}

-- As DescribeDtsJobDetail spells them.
status.ALL = {
  "NotStarted", "NotConfigured", "Prechecking", "PrecheckFailed", "PreCheckPass",
  "Initializing", "InitializeFailed", "synchronizing", "Migrating", "Failed",
  "MigrationFailed", "Suspending", "Modifying", "Retrying", "Upgrade",
  "Downgrade", "Locked", "Finished",
}

local function set(list)
  local t = {}
  for _, s in ipairs(list) do t[s:lower()] = true end
  return t
end

local SPELLING = {}
for _, s in ipairs(status.ALL) do SPELLING[s:lower()] = s end

-- Objects change only in the incremental stage, running or failed.
local CAN_MODIFY = set { "synchronizing", "Failed" }
-- Still setting up: the init-stage flags are refused.
local INITIALIZING = set { "NotStarted", "NotConfigured", "Prechecking", "PreCheckPass", "Initializing" }
-- Nothing will change by waiting.
local TERMINAL = set { "Failed", "PrecheckFailed", "InitializeFailed", "MigrationFailed", "Finished" }

local function key(s)
  return type(s) == "string" and s:lower() or ""
end

-- The service's spelling of s, or nil when s is no status.
function status.spell(s) return SPELLING[key(s)] end
function status.is(s, name) return key(s) == key(name) end
function status.can_modify(s) return CAN_MODIFY[key(s)] == true end
function status.initializing(s) return INITIALIZING[key(s)] == true end
function status.terminal(s) return TERMINAL[key(s)] == true end
function status.running(s) return key(s) == "synchronizing" end

return status
