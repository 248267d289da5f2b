-- client:wait_idle{...}: poll DescribeDtsJobDetail until the job accepts
-- changes again.  Statuses flap while a job sets up (Initializing ->
-- Prechecking -> Initializing ...), so "running" must be seen twice in a row;
-- a terminal status (Failed, PrecheckFailed, ...) ends the wait at once.

local errors = require "dts.errors"
local interrupt = require "dts.workflows.interrupt"
local options = require "dts.options"
local status = require "dts.status"
local specs = require "dts.workflows.options"

local wait = {}

-- o: checked options (DtsJobId, DtsInstanceId, SynchronizationDirection,
-- interval, timeout, on_status) -> job (the last DescribeDtsJobDetail) | nil, err
-- A timeout is kind "timeout"; callers that submitted a change word it.
function wait.run(client, o)
  local interval, timeout = o.interval or 5, o.timeout or 600
  local deadline = os.time() + timeout
  local seen = 0
  while true do
    local job, err = client:describe_dts_job_detail{
      DtsJobId = o.DtsJobId, DtsInstanceID = o.DtsInstanceId,
      SynchronizationDirection = o.SynchronizationDirection,
    }
    if not job then return nil, err end
    if o.on_status then o.on_status(job.status, job) end
    if status.terminal(job.status) then
      return nil, errors.new("api", {
        code = "JobStatus." .. tostring(status.spell(job.status) or job.status),
        message = ("job %s is %s: it will not accept changes until that is fixed%s"):format(
          o.DtsJobId, tostring(job.status),
          job.raw.ErrorMessage and ("; the service says: " .. tostring(job.raw.ErrorMessage)) or ""),
        request_id = job.request_id,
      })
    end
    seen = status.running(job.status) and seen + 1 or 0
    if seen >= 2 then return job end
    if os.time() + interval > deadline then
      return nil, errors.new("timeout", {
        message = seen > 0
          and ("job %s had not settled after %s s (%s again, but not yet twice in a row)"):format(
            o.DtsJobId, timeout, tostring(job.status))
          or ("job %s was still %s after %s s"):format(o.DtsJobId, tostring(job.status), timeout),
      })
    end
    local stop = interrupt(client, "while waiting for job " .. o.DtsJobId)
    if stop then return nil, stop end
    client.transport:sleep(interval)
    stop = interrupt(client, "while waiting for job " .. o.DtsJobId)
    if stop then return nil, stop end
  end
end

-- client:wait_idle{ DtsJobId, DtsInstanceId, SynchronizationDirection,
--   interval = 5, timeout = 600, on_status = function(status, job) }
function wait.idle(client, opts)
  local o, err = options.check(specs.wait_idle, opts)
  if not o then return nil, err end
  return wait.run(client, o)
end

return wait
