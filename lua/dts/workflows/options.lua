-- The options of each workflow function, declared once (dts.options
-- checks them, the README's tables are generated from them).  API
-- parameters take their name, alias, type and doc from dts.schema.

local define = require("dts.options").define

local JOB = { api = "DtsJobId", required = true }
local INSTANCE = { api = "DtsInstanceId", required = true,
  doc = "ID of the instance; checked against the job's own before anything is sent." }
local DIRECTION = { api = "SynchronizationDirection",
  doc = "Direction to change; required on a two-way job, refused when the job has no such direction." }
local TOKEN = { api = "ClientToken",
  doc = "Idempotency token of the change (generated when absent); run again with the same one "
    .. "after an unknown outcome, and the change is applied at most once." }
local INTERVAL = { name = "interval", type = "seconds", default = 5,
  doc = "Seconds between status checks." }
local TIMEOUT = { name = "timeout", type = "seconds", default = 600,
  doc = "Seconds to wait for the job to settle, before and after the change." }
local DRY_RUN = { name = "dry_run", type = "boolean", default = false,
  doc = "Read the job and return the plan; send no change." }
local INITIALIZE = { name = "initialize", type = "boolean",
  doc = "Schema and full-data initialization of the new objects; false: incremental only; "
    .. "left out: the job's own setting (nothing sent)." }
local WIDEN = { name = "widen", type = "boolean", default = false,
  doc = "Allow turning a partly synchronized database into a whole one (given as `\"db\"`)." }
local NARROW = { name = "narrow", type = "boolean", default = false,
  doc = "Allow turning a whole database into only the tables given for it (`\"db.table\"`)." }

local W = {}

W.add_objects = define("add_objects", {
  JOB, INSTANCE, DIRECTION, TOKEN,
  { name = "objects", type = "objects", required = true,
    doc = "What to add: `\"db.table\"`, `\"db\"` (a whole database), "
      .. "`{ db =, table =, name =, db_name =, filter =, columns =, dml_op =, ddl_op = }`, or a DbList." },
  INITIALIZE,
  { name = "remove", type = "objects", doc = "Objects to remove first, in a submission of their own." },
  WIDEN, NARROW, DRY_RUN, INTERVAL, TIMEOUT,
  { name = "on_status", type = "function", doc = "Called after every poll while it waits for the "
    .. "job to settle (before the change while it is `Modifying`, and after it) with (status, job): "
    .. "`dts add-objects` shows the wait with it." },
})

W.remove_objects = define("remove_objects", {
  JOB, INSTANCE, DIRECTION, TOKEN,
  { name = "objects", type = "objects", required = true,
    doc = "What to remove: `\"db.table\"`, `\"db\"`, entries or a DbList." },
  DRY_RUN, INTERVAL, TIMEOUT,
})

W.add_objects_in_batches = define("add_objects_in_batches", {
  JOB, INSTANCE, DIRECTION,
  { api = "ClientToken", doc = "Idempotency token of the run: batch k is sent with ClientToken "
    .. "`<token>-b<k>` (generated when absent; kept in the checkpoint)." },
  { name = "objects", type = "objects", required = true,
    doc = "What to add, in this order: a list as for add_objects, or a DbList." },
  { name = "batch_size", type = "count", default = 100, doc = "Objects per submission." },
  INITIALIZE, WIDEN, NARROW,
  { name = "checkpoint", type = "string",
    doc = "File recording the progress (written atomically and fsynced after every batch); "
      .. "a run that stops resumes from it." },
  { name = "on_progress", type = "function",
    doc = "Called after every confirmed batch with `{ batch, batches, done, total, added, present, "
      .. "request_id }`; returning false stops the run there (an `interrupted` error)." },
  { name = "dry_run", type = "boolean", default = false,
    doc = "Read the job and return the plan of every batch; send no change, write no checkpoint." },
  INTERVAL, TIMEOUT,
})

W.wait_idle = define("wait_idle", {
  JOB,
  { api = "DtsInstanceId", doc = "ID of the instance (optional)." },
  { api = "SynchronizationDirection" },
  INTERVAL,
  { name = "timeout", type = "seconds", default = 600, doc = "Seconds to wait at most." },
  { name = "on_status", type = "function", doc = "Called after every poll with (status, job)." },
})

return W
