-- client:add_objects{...} and client:remove_objects{...}: change the
-- objects of a running job the safe way.  DbList REPLACES the job's list
-- (dts-api.md 3.7), so: read DbObject, merge, show the plan, send the
-- whole list under one ClientToken, wait until the job settles, read it
-- back and confirm.

local core = require "dts.core"
local dblist = require "dts.dblist"
local errors = require "dts.errors"
local status = require "dts.status"
local wait_idle = require "dts.workflows.wait"

local objects = {}

-- "db", "db.table", { db =, table =, name =, filter =, columns = } or a
-- whole DbList (table or builder) -> builder | nil, err
function objects.to_dblist(list)
  if dblist.is(list) then return list end
  if type(list) ~= "table" then
    return nil, errors.invalid("objects", "expected a list of objects or a DbList, got %s", type(list))
  end
  if #list == 0 and next(list) ~= nil then return dblist.new(list) end
  local d = dblist.new()
  for i, o in ipairs(list) do
    local ok, err
    if type(o) == "string" then
      local db, tname = o:match("^([^.]+)%.(.+)$")
      if db then ok, err = d:add_table(db, tname) else ok, err = d:add_database(o) end
    elseif type(o) == "table" and o.db then
      if o.table then ok, err = d:add_table(o.db, o.table, o) else ok, err = d:add_database(o.db, o) end
    else
      err = "expected \"db\", \"db.table\" or { db = ..., table = ... }"
    end
    if not ok then return nil, errors.invalid(("objects[%d]"):format(i), err) end
  end
  return d
end

local function names(list)
  if #list == 0 then return "nothing" end
  return table.concat(list, ", ")
end

-- A printable plan.
local function describe_plan(plan)
  local lines = {
    "add:    " .. names(plan.added),
    "remove: " .. names(plan.removed),
  }
  if plan.changed and #plan.changed > 0 then lines[#lines + 1] = "change: " .. names(plan.changed) end
  if plan.present and #plan.present > 0 then lines[#lines + 1] = "already there: " .. names(plan.present) end
  if plan.added and #plan.added > 0 or plan.initialize ~= nil then
    lines[#lines + 1] = "schema and full-data initialization of new objects: "
      .. (plan.initialize == nil and "as the job is set up (not sent)"
          or plan.initialize and "yes" or "no")
  end
  return table.concat(lines, "\n")
end
objects.describe_plan = describe_plan

local function required(opts, what)
  if type(opts) ~= "table" then
    return nil, errors.invalid(nil, "%s expects a table of options", what)
  end
  for _, name in ipairs({ "DtsJobId", "DtsInstanceId" }) do
    if type(opts[name]) ~= "string" or opts[name] == "" then
      return nil, errors.invalid(name, "missing; %s needs the job's %s", what, name)
    end
  end
  return true
end

-- The job, once it can take a change: waits out Modifying, refuses others.
local function preflight(client, opts)
  local job, err = client:describe_dts_job_detail{
    DtsJobId = opts.DtsJobId, DtsInstanceID = opts.DtsInstanceId,
    SynchronizationDirection = opts.SynchronizationDirection,
  }
  if not job then return nil, err end
  if status.is(job.status, "Modifying") then
    job, err = wait_idle(client, { DtsJobId = opts.DtsJobId, DtsInstanceId = opts.DtsInstanceId,
      SynchronizationDirection = opts.SynchronizationDirection,
      interval = opts.interval, timeout = opts.timeout })
    if not job then return nil, err end
  end
  if not status.running(job.status) then
    return nil, errors.new("api", {
      code = "JobStatus." .. tostring(job.status),
      message = ("job %s is %s; objects can be changed only while it is running "
        .. "(synchronizing) in the incremental stage"):format(opts.DtsJobId, tostring(job.status)),
    })
  end
  local reserved = job.reserved or {}
  if reserved.syncArchitecture == "bidirectional" and not opts.SynchronizationDirection then
    return nil, errors.invalid("SynchronizationDirection",
      "job %s is two-way: say which direction to change (Forward or Reverse)", opts.DtsJobId)
  end
  return job
end

-- Sends the complete new list and waits until it is confirmed.
local function apply(client, opts, current, wanted, plan)
  local ok, err = wanted:validate()
  if not ok then return nil, errors.invalid("DbList", err:gsub("^DbList: ", "")) end
  local params = {
    DtsInstanceId = opts.DtsInstanceId, DtsJobId = opts.DtsJobId,
    SynchronizationDirection = opts.SynchronizationDirection,
    DbList = wanted:to_table(),
    ClientToken = opts.ClientToken or core.nonce(),
  }
  if plan.initialize ~= nil then
    params.StructureInitialization = plan.initialize
    params.DataInitialization = plan.initialize
  end
  if opts.dry_run then
    local req
    req, err = client:modify_dts_job(params, { dry_run = true })
    if not req then return nil, err end
    return { plan = plan, text = describe_plan(plan), dry_run = true, request = req, applied = false }
  end
  local res
  res, err = client:modify_dts_job(params, { wait_modifying = opts.timeout or 600 })
  if not res then return nil, err end
  local job
  job, err = wait_idle(client, { DtsJobId = opts.DtsJobId, DtsInstanceId = opts.DtsInstanceId,
    SynchronizationDirection = opts.SynchronizationDirection,
    interval = opts.interval, timeout = opts.timeout })
  if not job then return nil, err end
  local now = dblist.new(job.db_object)
  local same, missing = now:contains(wanted)
  if not same or #current:diff(now).removed ~= #plan.removed then
    return nil, errors.new("protocol", {
      code = "NotConfirmed", request_id = res.request_id,
      message = ("ModifyDtsJob was accepted but job %s does not show the new list (%s)"):format(
        opts.DtsJobId, missing and ("missing " .. missing) or "objects differ"),
    })
  end
  return { plan = plan, text = describe_plan(plan), applied = true,
           request_id = res.request_id, job = job }
end

-- client:remove_objects{ DtsJobId, DtsInstanceId, objects, dry_run, ... }
function objects.remove(client, opts)
  local ok, err = required(opts, "remove_objects")
  if not ok then return nil, err end
  local gone
  gone, err = objects.to_dblist(opts.objects)
  if not gone then return nil, err end
  local job
  job, err = preflight(client, opts)
  if not job then return nil, err end
  local current = dblist.new(job.db_object)
  local wanted = dblist.new(current:to_table())
  for db, entry in pairs(gone.dbs) do
    if entry.all then
      wanted:remove_database(db)
    else
      for tname in pairs(entry.Table or {}) do wanted:remove_table(db, tname) end
    end
  end
  local plan = current:diff(wanted)
  if #plan.removed == 0 then
    return { plan = plan, text = describe_plan(plan), applied = false }
  end
  if next(wanted.dbs) == nil then
    return nil, errors.invalid("objects", "removing these would leave job %s with no objects", opts.DtsJobId)
  end
  return apply(client, opts, current, wanted, plan)
end

-- client:add_objects{ DtsJobId, DtsInstanceId, objects, initialize = bool
--   (StructureInitialization and DataInitialization for the new objects;
--   nil: neither is sent and the job's own setting applies),
--   SynchronizationDirection, remove = {...}, dry_run, interval, timeout }
function objects.add(client, opts)
  local ok, err = required(opts, "add_objects")
  if not ok then return nil, err end
  if opts.initialize ~= nil and type(opts.initialize) ~= "boolean" then
    return nil, errors.invalid("initialize", "expected true (schema and full data for the new "
      .. "objects), false, or nothing (the job's own setting), got %s", type(opts.initialize))
  end
  local extra
  extra, err = objects.to_dblist(opts.objects)
  if not extra then return nil, err end
  ok, err = require("dts.dblist.grammar").check(extra.dbs, "objects")
  if not ok then return nil, errors.invalid(nil, err) end
  -- Removals first, in a submission of their own.
  if opts.remove then
    local r
    r, err = objects.remove(client, { DtsJobId = opts.DtsJobId, DtsInstanceId = opts.DtsInstanceId,
      SynchronizationDirection = opts.SynchronizationDirection, objects = opts.remove,
      dry_run = opts.dry_run, interval = opts.interval, timeout = opts.timeout })
    if not r then return nil, err end
  end
  local job
  job, err = preflight(client, opts)
  if not job then return nil, err end
  local current = dblist.new(job.db_object)
  local wanted = dblist.new(current:to_table()):merge(extra)
  local plan = current:diff(wanted)
  plan.initialize = opts.initialize
  -- Asked for but already there: not sent twice.
  local added = {}
  for _, name in ipairs(plan.added) do added[name] = true end
  plan.present = {}
  for _, name in ipairs(extra:names()) do
    if not added[name] then plan.present[#plan.present + 1] = name end
  end
  -- An addition never takes anything away: refuse a plan that would.
  if #plan.removed > 0 or #plan.changed > 0 then
    return nil, errors.invalid("objects", "the plan would remove or change objects (%s): refused",
      names(#plan.removed > 0 and plan.removed or plan.changed))
  end
  if #plan.added == 0 then
    return { plan = plan, text = describe_plan(plan), applied = false }
  end
  return apply(client, opts, current, wanted, plan)
end

return objects
