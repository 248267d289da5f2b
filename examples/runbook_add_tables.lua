-- Runbook: add a long list of tables to a running DTS synchronization job,
-- in batches, resumable.  Safe to re-run after any failure or a kill: the
-- checkpoint says how far it got, and objects already on the job are never
-- sent twice.
--
--   lua examples/runbook_add_tables.lua tables.txt [checkpoint.json]
--
-- tables.txt holds one "database.table" per line (# starts a comment).
-- Environment: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
-- ALIBABA_CLOUD_REGION_ID, DTS_JOB_ID, DTS_INSTANCE_ID; optional
-- ALIBABA_CLOUD_ENDPOINT and DTS_CA_FILE (read by dts.new, e.g. for the local
-- emulator), DTS_BATCH_SIZE (default 100), DTS_INITIALIZE ("true": schema and
-- full data for the new tables; "false": incremental only; unset: the job's
-- own setting, as the library and `dts add-objects` do), DTS_POLL_SECONDS
-- (default 5).
local dts = require "dts"

local list_file, checkpoint = arg[1], arg[2] or "dts-add-tables.checkpoint.json"
if not list_file then
  io.stderr:write("usage: lua runbook_add_tables.lua tables.txt [checkpoint.json]\n")
  os.exit(2)
end

local tables = {}
for line in io.lines(list_file) do
  line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
  if line ~= "" then tables[#tables + 1] = line end
end

local client, err = dts.new{}
if not client then
  io.stderr:write(tostring(err), "\n")
  os.exit(2)
end

-- Unset: nil, neither initialization flag is sent and the job's own setting
-- applies (as client:add_objects and `dts add-objects` without a flag).
local initialize = ({ ["true"] = true, ["false"] = false })[os.getenv("DTS_INITIALIZE") or ""]
if os.getenv("DTS_INITIALIZE") and initialize == nil then
  io.stderr:write('DTS_INITIALIZE: expected "true" or "false"\n')
  os.exit(2)
end

print(("Adding %d tables to job %s, %s at a time (checkpoint: %s); initialization: %s."):format(#tables,
  tostring(os.getenv("DTS_JOB_ID")), os.getenv("DTS_BATCH_SIZE") or "100", checkpoint,
  initialize == nil and "the job's own setting" or initialize and "schema and full data" or "none"))

local res
res, err = client:add_objects_in_batches{
  DtsJobId = os.getenv("DTS_JOB_ID"),
  DtsInstanceId = os.getenv("DTS_INSTANCE_ID"),
  objects = tables,
  batch_size = tonumber(os.getenv("DTS_BATCH_SIZE")) or 100,
  initialize = initialize,
  checkpoint = checkpoint,
  interval = tonumber(os.getenv("DTS_POLL_SECONDS")) or 5,
  on_progress = function(p)
    print(("batch %d/%d confirmed: %d/%d tables (%d new, %d already there)"):format(
      p.batch, p.batches, p.done, p.total, #p.added, #p.present))
  end,
}
if not res then
  io.stderr:write("stopped: ", tostring(err), "\nRun again to resume from ", checkpoint, ".\n")
  os.exit(err.kind == "invalid_argument" and 2 or 1)
end
print(("Done: %d tables in %d batches, every one confirmed on the job."):format(res.total, res.batches))
os.remove(checkpoint)
