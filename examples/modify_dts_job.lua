-- Add two tables to a running DTS synchronization job by hand, with the bare
-- API calls, and show the job's objects afterwards: what client:add_objects
-- (examples/add_objects.lua) does for you, spelled out.
--
-- DbList REPLACES a job's whole object list, so this reads the current list
-- first (DescribeDtsJobDetail), adds to it, and sends the complete list.
--
-- Configuration comes from the environment, as for any lua-dts script:
--   ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
--   ALIBABA_CLOUD_SECURITY_TOKEN (optional), ALIBABA_CLOUD_REGION_ID
--   ALIBABA_CLOUD_ENDPOINT, DTS_CA_FILE   optional: another endpoint (e.g. the
--                                   local emulator: eval "$(dts emulator --print-env)")
--   DTS_JOB_ID, DTS_INSTANCE_ID     the job to change
--   DTS_DATABASE                    the database to add tables to (default: the job's first)
--
--   lua examples/modify_dts_job.lua orders invoices
local dts = require "dts"

local function say(fmt, ...) io.write(fmt:format(...), "\n") end

local function fail(what, err)
  io.stderr:write(what, ": ", tostring(err), "\n")
  os.exit(1)
end

local job_id, instance_id = os.getenv("DTS_JOB_ID"), os.getenv("DTS_INSTANCE_ID")
if not job_id or not instance_id then
  fail("configuration", "set DTS_JOB_ID and DTS_INSTANCE_ID")
end
local new_tables = { ... }
if #new_tables == 0 then new_tables = { "orders", "invoices" } end

local client, err = dts.new{}
if not client then fail("dts.new", err) end

-- Read the job's current objects: the list we are about to replace.
local job
job, err = client:describe_dts_job_detail{ DtsJobId = job_id }
if not job then fail("reading the job", err) end
local dblist = job.db_object or {}
local database = os.getenv("DTS_DATABASE") or next(dblist)
if not database then fail("reading the job", "it has no objects to add tables to") end
say("Job %s is %s; database %q is synchronized.", job_id, job.status, database)

-- Add the tables, keeping everything that is there.
local db = dblist[database] or { name = database, all = false }
if db.all then
  say("The whole database %q is already synchronized: nothing to add.", database)
  os.exit(0)
end
db.Table = db.Table or {}
for _, name in ipairs(new_tables) do
  db.Table[name] = db.Table[name] or { name = name, all = true }
end
dblist[database] = db

local res
res, err = client:modify_dts_job({
  DtsInstanceId = instance_id,
  DtsJobId = job_id,
  DbList = dblist,
  StructureInitialization = true,
  DataInitialization = true,
}, { wait_modifying = 60 })
if not res then fail("modifying the job", err) end
say("ModifyDtsJob accepted the change (request %s).", res.request_id)

-- The service applies the change in the background ("Modifying"): wait
-- until the job runs again, seen twice in a row (statuses flap).
job, err = client:wait_idle{ DtsJobId = job_id, DtsInstanceId = instance_id,
  interval = tonumber(os.getenv("DTS_POLL_SECONDS")) or 5,
  on_status = function(s) say("The job is %s.", s) end }
if not job then fail("waiting for the job", err) end

say("Job %s is now %s and synchronizes these tables of %q:", job_id, job.status, database)
local names = {}
for name in pairs((job.db_object[database] or {}).Table or {}) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do say("  - %s", name) end
