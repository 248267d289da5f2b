-- Add tables (or whole databases) to a running DTS synchronization job, the
-- safe way: client:add_objects reads the job's current objects, merges, shows
-- the plan, sends the complete list (DbList REPLACES the job's list), waits
-- until the job runs again and confirms the new objects are there.
--
--   lua examples/add_objects.lua shop.orders shop.invoices
--
-- Configuration comes from the environment, as for any lua-dts script:
--   ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
--   ALIBABA_CLOUD_SECURITY_TOKEN (optional), ALIBABA_CLOUD_REGION_ID,
--   ALIBABA_CLOUD_ENDPOINT, DTS_CA_FILE (optional: e.g. the local emulator,
--   as `eval "$(dts emulator --print-env)"` sets them)
--   DTS_JOB_ID, DTS_INSTANCE_ID     the job to change
--   DTS_INITIALIZE                  "true": schema and full data for the new
--                                   objects; "false": incremental only; unset:
--                                   the job's own setting (nothing sent)
--   DTS_POLL_SECONDS                between two status checks (default 5)
local dts = require "dts"

local function fail(what, err)
  io.stderr:write(what, ": ", tostring(err), "\n")
  os.exit(err and err.kind == "invalid_argument" and 2 or 1)
end

local job_id, instance_id = os.getenv("DTS_JOB_ID"), os.getenv("DTS_INSTANCE_ID")
if not job_id or not instance_id then fail("configuration", "set DTS_JOB_ID and DTS_INSTANCE_ID") end
local objects = { ... }
if #objects == 0 then fail("usage", "lua add_objects.lua db.table [db.table | db ...]") end
local initialize = ({ ["true"] = true, ["false"] = false })[os.getenv("DTS_INITIALIZE") or ""]

local client, err = dts.new{}
if not client then fail("dts.new", err) end

local res
res, err = client:add_objects{
  DtsJobId = job_id, DtsInstanceId = instance_id,
  objects = objects, initialize = initialize,
  interval = tonumber(os.getenv("DTS_POLL_SECONDS")) or 5,
}
if not res then fail("adding to job " .. job_id, err) end
print(("Plan for job %s:\n%s"):format(job_id, res.text))
if res.applied then
  print(("Applied and confirmed (request %s): the job is %s again."):format(res.request_id, res.job.status))
else
  print("Nothing to do: every object is already there.")
end
