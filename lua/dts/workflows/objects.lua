-- client:add_objects{...} and client:remove_objects{...}: change the
-- objects of a running job the safe way.  DbList REPLACES the job's list
-- (dts-api.md 3.7), so: check the options, read DbObject, check that the
-- instance owns the job and the direction exists, merge, show the plan,
-- send the whole list under one ClientToken, wait until the job settles,
-- read it back and confirm.
--
-- What an error says about the change: nothing sent (invalid_argument,
-- and any failure before the submission says "nothing was sent"); sent
-- with no usable answer (submitted, outcome "unknown": run again with the
-- same ClientToken); accepted but not confirmed (kind "unconfirmed",
-- outcome "accepted": read the job back).
--
-- Widening (a database synchronized in part becomes a whole one) and
-- narrowing (a whole database becomes the tables listed) replace entries
-- of the job: refused unless asked for with widen = true / narrow = true,
-- and shown on their own plan line.

local core = require "dts.core"
local dblist = require "dts.dblist"
local errors = require "dts.errors"
local grammar = require "dts.dblist.grammar"
local interrupt = require "dts.workflows.interrupt"
local options = require "dts.options"
local specs = require "dts.workflows.options"
local status = require "dts.status"
local wait = require "dts.workflows.wait"

local objects = {}

-- An object given as a table: its keys, checked like any options.
local ENTRY = options.define("an object entry", {
  { name = "db", type = "string", required = true, doc = "Source database." },
  { name = "table", type = "string", doc = "Source table (left out: the whole database)." },
  { name = "name", type = "string", doc = "Destination name." },
  { name = "db_name", type = "string", doc = "Destination database, for a new database entry." },
  { name = "filter", type = "string", doc = "SQL condition on the rows." },
  { name = "columns", type = "columns", doc = "Columns to take." },
  { name = "dml_op", type = "string", doc = "DML operations to take." },
  { name = "ddl_op", type = "string", doc = "DDL operations to take." },
})
local TABLE_ONLY = { "db_name", "filter", "columns" }

local function entry(d, o, where)
  local e, err = options.check(ENTRY, o, where)
  if not e then return nil, err end
  if not e.table then
    for _, k in ipairs(TABLE_ONLY) do
      if e[k] ~= nil then
        return nil, errors.invalid(where .. "." .. k, "applies to a table; this entry names "
          .. "the whole database %s (add table = ...)", e.db)
      end
    end
    return d:add_database(e.db, { name = e.name, dml_op = e.dml_op, ddl_op = e.ddl_op })
  end
  return d:add_table(e.db, e.table, { name = e.name, db_name = e.db_name, filter = e.filter,
    columns = e.columns, dml_op = e.dml_op, ddl_op = e.ddl_op })
end

local function spec(d, s, where)
  if s == "" or s:sub(1, 1) == "." or s:sub(-1) == "." then
    return nil, errors.invalid(where, '%q is neither "db" nor "db.table"', s)
  end
  local db, tname = s:match("^([^.]+)%.(.+)$")
  if db then return d:add_table(db, tname) end
  return d:add_database(s)
end

-- "db", "db.table", { db =, table =, name =, filter =, columns = } or a
-- whole DbList (table or builder) -> builder | nil, err
function objects.to_dblist(list, param)
  param = param or "objects"
  if dblist.is(list) then return list end
  if type(list) ~= "table" then
    return nil, errors.invalid(param, "expected a list of objects or a DbList, got %s", type(list))
  end
  if next(list) == nil then
    return nil, errors.invalid(param, "empty: no objects given")
  end
  local n = #list
  if n == 0 then
    local d, err = dblist.new(list)
    if not d then
      err.param, err.message = param, err.message:gsub("^DbList", param)
      return nil, err
    end
    return d
  end
  for k in pairs(list) do
    if type(k) ~= "number" or k % 1 ~= 0 or k < 1 or k > n then
      return nil, errors.invalid(param, "a list of objects with a %s key (%s) too: give a list "
        .. "or a DbList, not both", type(k), tostring(k))
    end
  end
  local d = dblist.new()
  for i, o in ipairs(list) do
    local where = ("%s[%d]"):format(param, i)
    local ok, err
    if type(o) == "string" then
      ok, err = spec(d, o, where)
    elseif type(o) == "table" then
      ok, err = entry(d, o, where)
    else
      err = errors.invalid(where, 'expected "db", "db.table" or { db = ..., table = ... }, got %s', type(o))
    end
    if not ok then
      if err.param and not err.param:find("^" .. param:gsub("%p", "%%%0")) then
        err.message = where .. "." .. err.message
        err.param = where .. "." .. err.param
      end
      return nil, err
    end
  end
  return d
end

local function names(list)
  if not list or #list == 0 then return "nothing" end
  return table.concat(list, ", ")
end

local function set(list)
  local t = {}
  for _, v in ipairs(list or {}) do t[v] = true end
  return t
end

local function db_of(name) return name:match("^([^.]+)%.") or name end

-- Removals that a widening or narrowing asked for explains.
local function explained(plan)
  local widened, narrowed = set(plan.widened), set(plan.narrowed)
  local out = {}
  for _, name in ipairs(plan.removed or {}) do
    if (name:find(".", 1, true) and widened[db_of(name)]) or narrowed[name] then
      out[name] = true
    end
  end
  return out
end

-- A printable plan.
local function describe_plan(plan)
  local why = explained(plan)
  local removed = {}
  for _, name in ipairs(plan.removed or {}) do
    if not why[name] then removed[#removed + 1] = name end
  end
  local lines = {
    "add:    " .. names(plan.added),
    "remove: " .. names(removed),
  }
  for _, db in ipairs(plan.widened or {}) do
    local was = {}
    for _, name in ipairs(plan.removed) do
      if why[name] and db_of(name) == db then was[#was + 1] = name end
    end
    lines[#lines + 1] = ("widen:  %s (the whole database, instead of %s)"):format(db, names(was))
  end
  for _, db in ipairs(plan.narrowed or {}) do
    local now = {}
    for _, name in ipairs(plan.added) do
      if name:find(".", 1, true) and db_of(name) == db then now[#now + 1] = name end
    end
    lines[#lines + 1] = ("narrow: %s (only %s, instead of the whole database)"):format(db, names(now))
  end
  if plan.changed and #plan.changed > 0 then lines[#lines + 1] = "change: " .. names(plan.changed) end
  if plan.present and #plan.present > 0 then lines[#lines + 1] = "already there: " .. names(plan.present) end
  if plan.covered and #plan.covered > 0 then
    lines[#lines + 1] = "covered by a whole database: " .. names(plan.covered)
      .. " (narrow = true, --narrow: take only the tables listed)"
  end
  if plan.added and #plan.added > 0 or plan.initialize ~= nil then
    lines[#lines + 1] = "schema and full-data initialization of new objects: "
      .. (plan.initialize == nil and "as the job is set up (not sent)"
          or plan.initialize and "yes" or "no")
  end
  if plan.bytes then lines[#lines + 1] = ("DbList: %d bytes"):format(plan.bytes) end
  return table.concat(lines, "\n")
end
objects.describe_plan = describe_plan

local function nothing_sent(err)
  if err.kind ~= "invalid_argument" and not err.submitted then
    err.message = tostring(err.message) .. "; nothing was sent"
  end
  return err
end

-- The job, once it can take a change: the instance owns it, the direction
-- exists, it is running (waiting out Modifying); and its objects as a
-- dts.dblist.  Nothing is sent before.  -> job, current | nil, err
local function preflight(client, o)
  local job, err = client:describe_dts_job_detail{
    DtsJobId = o.DtsJobId, DtsInstanceID = o.DtsInstanceId,
    SynchronizationDirection = o.SynchronizationDirection,
  }
  if not job then return nil, nothing_sent(err) end
  if job.dts_instance_id == nil or job.dts_instance_id == "" then
    return nil, errors.new("protocol", { request_id = job.request_id,
      message = ("DescribeDtsJobDetail did not say which instance owns job %s, so %s cannot be "
        .. "checked; nothing was sent"):format(o.DtsJobId, o.DtsInstanceId) })
  end
  if job.dts_instance_id ~= o.DtsInstanceId then
    return nil, errors.invalid("DtsInstanceId", "job %s belongs to instance %s, not %s; nothing was sent",
      o.DtsJobId, tostring(job.dts_instance_id), o.DtsInstanceId)
  end
  local reserved = type(job.reserved) == "table" and job.reserved or {}
  local two_way = reserved.syncArchitecture == "bidirectional"
  local direction, answered = o.SynchronizationDirection, job.raw.SynchronizationDirection
  if direction == "Reverse" and not two_way then
    return nil, errors.invalid("SynchronizationDirection", "job %s is one-way (syncArchitecture %s): "
      .. "it has no Reverse direction; nothing was sent", o.DtsJobId, tostring(reserved.syncArchitecture))
  end
  if direction and type(answered) == "string" and answered ~= "" and answered ~= direction then
    return nil, errors.invalid("SynchronizationDirection", "job %s synchronizes %s, not %s; nothing was sent",
      o.DtsJobId, answered, direction)
  end
  if two_way and not direction then
    return nil, errors.invalid("SynchronizationDirection",
      "job %s is two-way: say which direction to change (Forward or Reverse)", o.DtsJobId)
  end
  if status.is(job.status, "Modifying") then
    job, err = wait.run(client, o)
    if not job then return nil, nothing_sent(err) end
  end
  if not status.running(job.status) then
    return nil, errors.new("api", {
      code = "JobStatus." .. tostring(job.status),
      message = ("job %s is %s; objects can be changed only while it is running "
        .. "(synchronizing) in the incremental stage; nothing was sent"):format(o.DtsJobId, tostring(job.status)),
    })
  end
  local current = dblist.new(job.db_object)
  if not current then
    return nil, errors.new("protocol", { message = "job " .. o.DtsJobId .. ": DbObject is not a DbList" })
  end
  return job, current
end

-- A failure after the service accepted the change: the change stands, it
-- is only not confirmed.  Waiting too short or a failing read-back is
-- kind "unconfirmed" (not "no usable answer"); an interrupt stays one.
local function after_acceptance(err, sent, o)
  local e = err
  if err.kind ~= "interrupted" and not (err.kind == "api" and tostring(err.code):find("^JobStatus%.")) then
    e = errors.new("unconfirmed", { code = "NotConfirmed",
      message = ("ModifyDtsJob was accepted, but the change to job %s is not yet confirmed: %s"):format(
        o.DtsJobId, tostring(err.message)) })
  elseif err.kind ~= "interrupted" then
    e.message = ("after ModifyDtsJob was accepted: %s"):format(tostring(err.message))
  end
  e.submitted, e.client_token, e.outcome = true, sent.client_token, "accepted"
  e.request_id = sent.request_id
  return e
end

-- Sends the complete new list and waits until it is confirmed.
local function apply(client, o, current, wanted, plan)
  local ok, size = wanted:validate()
  if not ok then return nil, size end
  plan.bytes = size
  local err
  local token = o.ClientToken or core.nonce()
  local params = {
    DtsInstanceId = o.DtsInstanceId, DtsJobId = o.DtsJobId,
    SynchronizationDirection = o.SynchronizationDirection,
    DbList = wanted:to_table(), ClientToken = token,
  }
  if plan.initialize ~= nil then
    params.StructureInitialization = plan.initialize
    params.DataInitialization = plan.initialize
  end
  if o.dry_run then
    local req
    req, err = client:modify_dts_job(params, { dry_run = true })
    if not req then return nil, err end
    return { plan = plan, text = describe_plan(plan), dry_run = true, request = req, applied = false,
             client_token = token }
  end
  local stop = interrupt(client, "before the change was sent; nothing was sent")
  if stop then return nil, stop end
  local res
  res, err = client:modify_dts_job(params, { wait_modifying = o.timeout or 600 })
  if not res then return nil, err end
  local sent = { client_token = token, request_id = res.request_id }
  local job
  job, err = wait.run(client, o)
  if not job then return nil, after_acceptance(err, sent, o) end
  local now = dblist.new(job.db_object)
  local same, missing
  if now then same, missing = now:contains(wanted) end
  if not same or #current:diff(now).removed ~= #plan.removed then
    return nil, after_acceptance({ message = ("job %s does not show the new list (%s)"):format(
      o.DtsJobId, missing and ("missing " .. missing) or "objects differ") }, sent, o)
  end
  return { plan = plan, text = describe_plan(plan), applied = true,
           request_id = res.request_id, client_token = token, job = job }
end

-- o: checked remove_objects options; param: what the objects are called
local function remove(client, o, param)
  local gone, err = objects.to_dblist(o.objects, param)
  if not gone then return nil, err end
  local job, current = preflight(client, o)
  if not job then return nil, current end
  local wanted = dblist.new(current)
  for db, e in pairs(gone.dbs) do
    if e.all then
      wanted:remove_database(db)
    else
      for tname in pairs(e.Table or {}) do wanted:remove_table(db, tname) end
    end
  end
  local plan = current:diff(wanted)
  if #plan.removed == 0 then
    return { plan = plan, text = describe_plan(plan), applied = false }
  end
  if next(wanted.dbs) == nil then
    return nil, errors.invalid("objects", "removing these would leave job %s with no objects", o.DtsJobId)
  end
  return apply(client, o, current, wanted, plan)
end

-- The plan of adding extra to current -> plan, wanted | nil, err.
-- Shared with the batches' dry run, which plans batch after batch.
function objects.plan_add(current, extra, o)
  local wanted = dblist.new(current):merge(extra)
  local widened, narrowed, covered = {}, {}, {}
  for db, e in pairs(extra.dbs) do
    local mine = current.dbs[db]
    if mine and e.all == true and mine.all ~= true then
      widened[#widened + 1] = db
    elseif mine and e.all ~= true and mine.all == true then
      if o.narrow then
        narrowed[#narrowed + 1] = db
        -- The database's own settings stay; its tables are the ones given.
        local keep = wanted:to_table()[db]
        keep.all, keep.Table = false, extra:to_table()[db].Table
        wanted.dbs[db] = keep
      else
        for tname in pairs(e.Table or {}) do covered[#covered + 1] = db .. "." .. tname end
      end
    end
  end
  table.sort(widened)
  table.sort(narrowed)
  table.sort(covered)
  if #widened > 0 and not o.widen then
    local parts = {}
    for _, db in ipairs(widened) do
      local listed = {}
      for tname in pairs(current.dbs[db].Table or {}) do listed[#listed + 1] = db .. "." .. tname end
      table.sort(listed)
      parts[#parts + 1] = ("%s (now only %s)"):format(db, names(listed))
    end
    return nil, errors.invalid("widen", "taking the whole of %s would replace the tables listed for it: "
      .. "pass widen = true (--widen) to do that; nothing was sent", table.concat(parts, "; "))
  end
  local plan = current:diff(wanted)
  plan.initialize = o.initialize
  plan.widened, plan.narrowed, plan.covered = widened, narrowed, covered
  -- Asked for but already there: not sent twice.
  local added = set(plan.added)
  plan.present = {}
  for _, name in ipairs(extra:names()) do
    if not added[name] then plan.present[#plan.present + 1] = name end
  end
  -- An addition never takes anything away, except what widen or narrow
  -- asked to replace.
  local why = explained(plan)
  local refused = {}
  for _, name in ipairs(plan.removed) do
    if not why[name] then refused[#refused + 1] = name end
  end
  for _, name in ipairs(plan.changed) do refused[#refused + 1] = name end
  if #refused > 0 then
    return nil, errors.invalid("objects", "the plan would remove or change objects (%s): refused; "
      .. "nothing was sent", names(refused))
  end
  return plan, wanted
end

-- o: checked add_objects options
local function add(client, o)
  local extra, err = objects.to_dblist(o.objects)
  if not extra then return nil, err end
  local ok
  ok, err = grammar.check(extra.dbs, "objects")
  if not ok then
    err = errors.invalid(nil, err)
    err.param = "objects"
    return nil, err
  end
  -- Removals first, in a submission of their own.
  local removal
  if o.remove then
    removal, err = remove(client, { DtsJobId = o.DtsJobId, DtsInstanceId = o.DtsInstanceId,
      SynchronizationDirection = o.SynchronizationDirection, objects = o.remove,
      ClientToken = o.ClientToken and (o.ClientToken .. "-r"),
      dry_run = o.dry_run, interval = o.interval, timeout = o.timeout }, "remove")
    if not removal then return nil, err end
  end
  local job, current = preflight(client, o)
  if not job then return nil, current end
  local plan, wanted = objects.plan_add(current, extra, o)
  if not plan then return nil, wanted end
  local res
  if #plan.added == 0 and #plan.removed == 0 then
    res = { plan = plan, text = describe_plan(plan), applied = false }
  else
    res, err = apply(client, o, current, wanted, plan)
    if not res then return nil, err end
  end
  res.removal = removal
  return res
end

-- client:add_objects{ DtsJobId, DtsInstanceId, objects, initialize,
--   SynchronizationDirection, ClientToken, remove, widen, narrow, dry_run,
--   interval, timeout } (dts.workflows.options)
function objects.add(client, opts)
  local o, err = options.check(specs.add_objects, opts)
  if not o then return nil, err end
  return add(client, o)
end

-- client:remove_objects{ DtsJobId, DtsInstanceId, objects, ClientToken,
--   dry_run, interval, timeout }
function objects.remove(client, opts)
  local o, err = options.check(specs.remove_objects, opts)
  if not o then return nil, err end
  return remove(client, o)
end

-- For the batches, which check their own options.
objects.add_checked = add
objects.preflight = preflight

return objects
