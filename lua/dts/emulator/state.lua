-- The emulator's jobs: seeded from a state file or table (or one demo job),
-- changed by ModifyDtsJob, read by DescribeDtsJobDetail.  Pure Lua and no
-- clock of its own: callers pass `now` (seconds), so the nginx handler and
-- specs drive it alike.
--
-- Seed: { jobs = { { DtsJobId, DtsInstanceId, Status = "synchronizing",
--   SynchronizationDirection = "Forward", DbObject = {...} or JSON text,
--   Reserved = {...} or JSON text, MigrationMode = {...},
--   status_sequence = { "Initializing", "Prechecking", ... },
--   modifying_seconds = S (this job's change window, instead of the
--   emulator's) }, ... } }
-- Status = "Modifying" (any case) seeds a running job inside a change
-- window that starts at `now` (state.new's second argument).

local cjson = require "cjson.safe"
local status = require "dts.status"

local state = {}

-- Which statuses exist, how the service spells them and what each allows:
-- dts.status, shared with the client's workflows.

state.DEMO = {
  jobs = { {
    DtsInstanceId = "dtsdemoinstance01",
    DtsJobId = "dtsdemojob00001",
    Status = "synchronizing",
    DbObject = {
      dtstestdata = { name = "dtstestdata", all = false,
        Table = { customer = { name = "customer", all = true } } },
    },
    Reserved = {
      targetTableMode = "2", dbListCaseChangeMode = "default",
      maxRetryTime = "43200", srcSSL = "0", destSSL = "0",
      autoStartModulesAfterConfig = "auto", syncArchitecture = "oneway",
    },
  } },
}

local function copy(v)
  if type(v) ~= "table" then
    return v
  end
  local t = {}
  for k, x in pairs(v) do
    t[k] = copy(x)
  end
  return t
end

-- A status as the service spells it, or nil.
state.spell = status.spell

-- An object given as a table or as JSON text (the form DescribeDtsJobDetail
-- answers with, so a captured answer can seed a job).
local function object(value, where)
  if value == nil then
    return {}
  end
  if type(value) == "string" then
    local decoded = cjson.decode(value)
    if type(decoded) ~= "table" or not value:match("^%s*{") then
      return nil, where .. ": expected a JSON object"
    end
    value = decoded
  end
  if type(value) ~= "table" then
    return nil, where .. ": expected an object, got " .. type(value)
  end
  return copy(value)
end

local function job_from_seed(j, where, clock)
  if type(j) ~= "table" then
    return nil, where .. ": expected a table"
  end
  local job = {
    DtsJobId = j.DtsJobId,
    DtsInstanceId = j.DtsInstanceId or j.DtsInstanceID,
    SynchronizationDirection = j.SynchronizationDirection or "Forward",
    changes = tonumber(j.changes) or 0,
    modifying_until = tonumber(j.modifying_until),
    step = tonumber(j.step) or 0,
    modifying_seconds = j.modifying_seconds,
  }
  if job.modifying_seconds ~= nil and
      (type(job.modifying_seconds) ~= "number" or job.modifying_seconds < 0) then
    return nil, where .. ".modifying_seconds: expected a number >= 0"
  end
  for _, f in ipairs({ "DtsJobId", "DtsInstanceId" }) do
    if type(job[f]) ~= "string" or job[f] == "" then
      return nil, where .. "." .. f .. ": expected a non-empty string"
    end
  end
  if job.SynchronizationDirection ~= "Forward" and job.SynchronizationDirection ~= "Reverse" then
    return nil, where .. '.SynchronizationDirection: expected "Forward" or "Reverse"'
  end
  local err
  job.DbObject, err = object(j.DbObject, where .. ".DbObject")
  if not job.DbObject then
    return nil, err
  end
  job.Reserved, err = object(j.Reserved, where .. ".Reserved")
  if not job.Reserved then
    return nil, err
  end
  local mode = j.MigrationMode or {}
  if type(mode) ~= "table" then
    return nil, where .. ".MigrationMode: expected a table"
  end
  job.MigrationMode = {}
  for _, f in ipairs({ "StructureInitialization", "DataInitialization", "DataSynchronization" }) do
    local v = mode[f]
    if v == nil then
      v = true
    end
    if type(v) ~= "boolean" then
      return nil, where .. ".MigrationMode." .. f .. ": expected a boolean"
    end
    job.MigrationMode[f] = v
  end
  local seq = j.status_sequence
  if seq ~= nil then
    if type(seq) ~= "table" or #seq == 0 then
      return nil, where .. ".status_sequence: expected a non-empty list of statuses"
    end
    job.status_sequence = {}
    for i, s in ipairs(seq) do
      job.status_sequence[i] = state.spell(s)
      if not job.status_sequence[i] then
        return nil, where .. ".status_sequence[" .. i .. "]: unknown status " .. tostring(s)
      end
    end
  end
  local given = j.Status
  if given == nil then
    given = job.status_sequence and job.status_sequence[math.max(job.step, 1)] or "synchronizing"
  end
  job.Status = state.spell(given)
  if not job.Status then
    return nil, where .. ".Status: unknown status " .. tostring(given)
        .. " (one of " .. table.concat(status.ALL, ", ") .. ")"
  end
  if job.Status == "Modifying" then
    -- Modifying is the window after a change over a running job.
    job.Status = "synchronizing"
    job.modifying_until = job.modifying_until
      or (clock.now or 0) + (job.modifying_seconds or clock.seconds or 0)
  end
  return job
end

-- The jobs model from a seed (table or JSON text; nil: the demo job), or
-- nil and a message naming the bad field.  clock: { now = seconds since the
-- epoch, modifying_seconds = the emulator's change window }, for jobs
-- seeded as Modifying.
function state.new(seed, clock)
  clock = clock or {}
  if seed == nil then
    seed = state.DEMO
  end
  if type(seed) == "string" then
    local decoded, err = cjson.decode(seed)
    if type(decoded) ~= "table" then
      return nil, "state: not JSON: " .. tostring(err)
    end
    seed = decoded
  end
  if type(seed) ~= "table" or type(seed.jobs) ~= "table" or #seed.jobs == 0 then
    return nil, "state: expected { jobs = { {DtsJobId=, DtsInstanceId=, ...}, ... } }"
  end
  local model = setmetatable({ jobs = {}, by_id = {} }, { __index = state })
  for i, j in ipairs(seed.jobs) do
    local job, err = job_from_seed(j, "state.jobs[" .. i .. "]",
      { now = clock.now, seconds = clock.modifying_seconds })
    if not job then
      return nil, err
    end
    if model.by_id[job.DtsJobId] then
      return nil, "state.jobs[" .. i .. "].DtsJobId: " .. job.DtsJobId .. " appears twice"
    end
    model.jobs[i] = job
    model.by_id[job.DtsJobId] = job
  end
  return model
end

-- The job for a DtsJobId, else for an instance and direction (a two-way
-- instance has one job per direction; Forward unless told).
function state:find(job_id, instance_id, direction)
  if job_id then
    return self.by_id[job_id]
  end
  direction = direction or "Forward"
  for _, job in ipairs(self.jobs) do
    if job.DtsInstanceId == instance_id and job.SynchronizationDirection == direction then
      return job
    end
  end
  return nil
end

function state.modifying(job, now)
  return job.modifying_until ~= nil and now < job.modifying_until
end

-- The status the service would report now, without moving a sequence on.
function state.status(job, now)
  if state.modifying(job, now) then
    return "Modifying"
  end
  return job.Status
end

-- What one DescribeDtsJobDetail shows: the next step of a status sequence
-- (then its last, for ever), so waiters meet the flapping of
-- dts-api.md 3.6.  A change window shows Modifying and holds the sequence.
function state.describe(job, now)
  if state.modifying(job, now) then
    return "Modifying"
  end
  local seq = job.status_sequence
  if seq then
    job.step = math.min(job.step + 1, #seq)
    job.Status = seq[job.step]
  end
  return job.Status
end

-- Why a ModifyDtsJob is refused now, as a code and its detail, or nil.
function state.refusal(job, now, wants_init)
  if state.modifying(job, now) then
    return "OperationDenied.JobStatusModifying", job.DtsJobId
  end
  if wants_init and status.initializing(job.Status) then
    return "CheckStatus.InvalidInitStatus", job.Status
  end
  if not status.can_modify(job.Status) then
    return "ModifyDenied.JobStatusNotRunning", job.Status
  end
  return nil
end

-- DbList replaces the whole object list (dts-api.md 3.7).
function state.replace_objects(job, db_object)
  job.DbObject = copy(db_object)
end

-- Reserved is merged: only the keys sent change (dts-api.md 3.7).
function state.merge_reserved(job, reserved)
  for k, v in pairs(reserved) do
    job.Reserved[k] = copy(v)
  end
end

-- One applied call: counted, and the job is Modifying for a while (its
-- own window if the seed gave one).
function state.changed(job, now, seconds)
  job.changes = job.changes + 1
  job.modifying_until = now + (job.modifying_seconds or seconds)
end

-- Plain tables for JSON: the state file format plus the emulator's own
-- fields (changes, modifying_until, step), which state.new reads back.
function state:snapshot()
  local jobs = {}
  for i, job in ipairs(self.jobs) do
    jobs[i] = copy(job)
  end
  return { jobs = jobs }
end

-- The model as JSON text (snapshot()), or nil and why it cannot be.
function state:encode()
  return cjson.encode(self:snapshot())
end

-- Puts the jobs back as encode() wrote them, in place (whoever holds the
-- model sees the old jobs again): a change that could not be saved is
-- undone whole.
function state:restore(text)
  local model, err = state.new(text)
  if not model then
    return nil, err
  end
  self.jobs, self.by_id = model.jobs, model.by_id
  return true
end

return state
