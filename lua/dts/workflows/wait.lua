-- client:wait_idle{...}: poll DescribeDtsJobDetail until the job accepts
-- changes again.  Statuses flap while a job sets up (Initializing ->
-- Prechecking -> Initializing ...), so "running" must be seen twice in a row;
-- a terminal status (Failed, PrecheckFailed, ...) ends the wait at once.

local errors = require "dts.errors"
local status = require "dts.status"

-- opts: DtsJobId (required), DtsInstanceId, SynchronizationDirection,
--       interval (seconds, default 5), timeout (seconds, default 600),
--       on_status = function(status, job) called after each poll
-- -> job (the last DescribeDtsJobDetail) | nil, err
return function(client, opts)
  if type(opts) ~= "table" or type(opts.DtsJobId) ~= "string" then
    return nil, errors.invalid("DtsJobId", "wait_idle needs the job's DtsJobId")
  end
  local interval, timeout = opts.interval or 5, opts.timeout or 600
  local deadline = os.time() + timeout
  local seen = 0
  while true do
    local job, err = client:describe_dts_job_detail{
      DtsJobId = opts.DtsJobId, DtsInstanceID = opts.DtsInstanceId,
      SynchronizationDirection = opts.SynchronizationDirection,
    }
    if not job then return nil, err end
    if opts.on_status then opts.on_status(job.status, job) end
    if status.terminal(job.status) then
      return nil, errors.new("api", {
        code = "JobStatus." .. tostring(status.spell(job.status) or job.status),
        message = ("job %s is %s: it will not accept changes until that is fixed%s"):format(
          opts.DtsJobId, tostring(job.status),
          job.raw.ErrorMessage and ("; the service says: " .. tostring(job.raw.ErrorMessage)) or ""),
        request_id = job.request_id,
      })
    end
    seen = status.running(job.status) and seen + 1 or 0
    if seen >= 2 then return job end
    if os.time() + interval > deadline then
      return nil, errors.new("timeout", {
        message = ("job %s was still %s after %d s"):format(opts.DtsJobId, tostring(job.status), timeout),
      })
    end
    client.transport:sleep(interval)
  end
end
