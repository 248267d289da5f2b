-- What ModifyDtsJob and DescribeDtsJobDetail do to the jobs, once the
-- request is verified and its parameters checked.  Each action takes the
-- model (dts.emulator.state), the typed values and a context { now,
-- request_id, opts } and returns an answer (dts.emulator.reply) with
-- `applied` set when the jobs changed.

local reply = require "dts.emulator.reply"
local state = require "dts.emulator.state"

local actions = {}

local function business(code, detail, ctx)
  return reply.business(code, detail, ctx.request_id, ctx.opts)
end

function actions.ModifyDtsJob(model, v, ctx)
  local job = model:find(v.DtsJobId, v.DtsInstanceId, v.SynchronizationDirection)
  if not job then
    return business("Forbidden.InstanceNotFound", nil, ctx)
  end
  local reserved_only = v.ModifyTypeEnum == "UPDATE_RESERVED"
  if reserved_only and not v.Reserved then
    return reply.error("MissingReserved", nil, ctx.request_id)
  end
  if not reserved_only and not v.DbList then
    if v.FileOssUrl then
      -- The emulator has no OSS to read the object list from.
      return reply.error("InvalidParameter", "FileOssUrl", ctx.request_id,
        "The emulator cannot read FileOssUrl; send DbList.")
    end
    return reply.error("MissingDbList", nil, ctx.request_id)
  end
  local wants_init = v.StructureInitialization == true or v.DataInitialization == true
  local code, detail = state.refusal(job, ctx.now, wants_init)
  if reserved_only and code ~= "OperationDenied.JobStatusModifying" then
    -- The stage rules of dts-api.md 3.6 are about objects; reserved
    -- settings are only held back by a change in progress.
    code = nil
  end
  if code then
    return business(code, detail, ctx)
  end
  if not reserved_only then
    state.replace_objects(job, v.DbList)
  end
  if v.Reserved then
    state.merge_reserved(job, v.Reserved)
  end
  state.changed(job, ctx.now, ctx.opts.modifying_seconds or 2)
  local answer = reply.ok({
    RequestId = ctx.request_id, Status = "200", DtsJobId = job.DtsJobId, Success = true,
  })
  answer.applied = true
  return answer
end

-- DbObject as the service echoes it: a server-added "state":"normal" on
-- every database and table entry (dts-api.md 3.3).
local function db_object(objects)
  local out = {}
  for db, entry in pairs(objects) do
    local e = {}
    for k, x in pairs(entry) do
      e[k] = x
    end
    if type(entry.Table) == "table" then
      e.Table = {}
      for name, t in pairs(entry.Table) do
        local copy = {}
        for k, x in pairs(t) do
          copy[k] = x
        end
        copy.state = "normal"
        e.Table[name] = copy
      end
    end
    e.state = "normal"
    out[db] = e
  end
  return out
end

function actions.DescribeDtsJobDetail(model, v, ctx)
  if not v.DtsJobId and not v.DtsInstanceID then
    return reply.error("MissingDtsJobId", nil, ctx.request_id)
  end
  local job = model:find(v.DtsJobId, v.DtsInstanceID, v.SynchronizationDirection)
  if not job then
    return business("Forbidden.InstanceNotFound", nil, ctx)
  end
  return reply.ok({
    RequestId = ctx.request_id,
    HttpStatusCode = 200,
    Success = true,
    DtsJobId = job.DtsJobId,
    DtsInstanceID = job.DtsInstanceId,
    SynchronizationDirection = job.SynchronizationDirection,
    Status = state.describe(job, ctx.now),
    -- JSON text inside the JSON answer, as the service sends them (5.1).
    DbObject = reply.encode(db_object(job.DbObject)),
    Reserved = reply.encode(job.Reserved),
    JobType = "sync",
    SubSyncJob = reply.EMPTY_ARRAY,
    MigrationMode = {
      StructureInitialization = job.MigrationMode.StructureInitialization,
      DataInitialization = job.MigrationMode.DataInitialization,
      DataSynchronization = job.MigrationMode.DataSynchronization,
    },
  })
end

return actions
