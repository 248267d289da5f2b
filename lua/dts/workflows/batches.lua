-- client:add_objects_in_batches{...}: thousands of objects added in
-- cumulative batches (each submission = everything so far + the next
-- chunk), each applied only after the previous one settled, with a
-- checkpoint written atomically (and fsynced) after every confirmed batch.
-- A run that dies resumes from the checkpoint; objects already on the job
-- are never sent twice, because every batch starts from the job's own
-- DbObject, and batch k always goes out with ClientToken <token>-b<k>, so
-- a batch whose answer was lost is applied at most once when sent again.
--
-- A run stops cleanly between steps on SIGINT/SIGTERM (when the transport
-- traps them, as the dts command does) or when on_progress returns false:
-- the error (kind "interrupted") says which batch was under way, whether
-- it went out (submitted, request_id, client_token, outcome) and how many
-- objects are confirmed (done of total).

local core = require "dts.core"
local dblist = require "dts.dblist"
local errors = require "dts.errors"
local interrupt = require "dts.workflows.interrupt"
local json = require "dts.json"
local objects = require "dts.workflows.objects"
local options = require "dts.options"
local specs = require "dts.workflows.options"
local sys = require "dts.sys"

-- The objects as an ordered list of "db" / "db.table" specs or entries.
local function ordered(list)
  local d, err = objects.to_dblist(list)
  if not d then return nil, err end
  if not dblist.is(list) and #list > 0 then return list end
  return d:names()
end

local function digest(list)
  local parts = {}
  for i, o in ipairs(list) do
    parts[i] = type(o) == "string" and o or ((o.db or "") .. "." .. (o.table or ""))
  end
  return core.sha256_hex(table.concat(parts, "\n"))
end

local function read_checkpoint(path)
  local text = sys.read_file(path)
  if not text then return nil end
  local cp, err = json.decode(text)
  if type(cp) ~= "table" or type(cp.done) ~= "number" or type(cp.batches) ~= "number" then
    return nil, errors.invalid("checkpoint", "%s is not a checkpoint (%s); remove it to start over",
      path, tostring(err or "fields missing"))
  end
  -- Counts as integers (JSON numbers decode as floats on 5.3+).
  for _, k in ipairs({ "done", "batches", "total", "batch_size" }) do
    if type(cp[k]) == "number" then cp[k] = math.floor(cp[k]) end
  end
  return cp
end

-- Aside, checked, fsynced, renamed, directory fsynced (dts.sys): a crash
-- or a full disk leaves the old checkpoint or the new one, never half of
-- one and never none.
local function write_checkpoint(path, cp)
  local ok, err = sys.write_file(path, assert(json.encode(cp, "checkpoint")), { durable = true })
  if not ok then
    return nil, errors.invalid("checkpoint", "cannot write %s: %s (the previous checkpoint is kept)",
      path, tostring(err))
  end
  return true
end

-- Batch k's ClientToken.
local function token_of(base, k) return ("%s-b%d"):format(base, k) end

local function chunk_of(list, from, size)
  local chunk = {}
  for i = from + 1, math.min(from + size, #list) do chunk[#chunk + 1] = list[i] end
  return chunk
end

-- "3 of 7 objects", "1 of 1 object".
local function of_objects(done, total)
  return ("%d of %d object%s"):format(done, total, total == 1 and "" or "s")
end

-- Where the run stood when it stopped, on any error.
local function at_batch(err, k, n, cp, total)
  err.batch, err.batches, err.done, err.total = k, n, cp.done, total
  err.message = ("batch %d of %d (%s confirmed before it): %s"):format(k, n, of_objects(cp.done, total),
    tostring(err.message))
  return err
end

-- A stop between two batches: it names the last batch confirmed (and its
-- change, when it sent one), so a caller knows what is already applied.
local function stopped_after(err, last, cp, n, total)
  err.batch, err.batches, err.done, err.total = cp.batches, n, cp.done, total
  if cp.batches == 0 then
    err.message = ("%s before batch 1 of %d: nothing was sent"):format(tostring(err.message), n)
  else
    err.message = ("%s after batch %d of %d (%s confirmed); batch %d was not sent"):format(
      tostring(err.message), cp.batches, n, of_objects(cp.done, total), cp.batches + 1)
  end
  if last and last.applied then
    err.submitted, err.client_token, err.request_id, err.outcome = true, last.client_token,
      last.request_id, "confirmed"
  end
  return err
end

-- The plan of every batch still to go, from the job as it is, after the
-- checks a real run makes (the owner, the direction, the status): nothing
-- is sent and no checkpoint written.
local function dry_run(client, o, list, cp, n, base)
  local job, current = objects.preflight(client, o)
  if not job then return nil, current end
  local err
  local plans, done = {}, cp.done
  for k = cp.batches + 1, n do
    local at = { done = done }
    local chunk = chunk_of(list, done, o.batch_size)
    local extra
    extra, err = objects.to_dblist(chunk)
    if not extra then return nil, at_batch(err, k, n, at, #list) end
    local plan, wanted = objects.plan_add(current, extra, o)
    if not plan then return nil, at_batch(wanted, k, n, at, #list) end
    local ok, size = wanted:validate()
    if not ok then return nil, at_batch(size, k, n, at, #list) end
    plan.bytes = size
    done = done + #chunk
    plans[#plans + 1] = { batch = k, objects = extra:names(), added = plan.added, present = plan.present,
      covered = plan.covered, widened = plan.widened, narrowed = plan.narrowed, bytes = size,
      initialize = o.initialize, done = done, client_token = token_of(base, k),
      text = objects.describe_plan(plan) }
    current = wanted
  end
  return { dry_run = true, applied = false, total = #list, done = cp.done, batches = n, plan = plans,
           client_token = base }
end

-- opts: dts.workflows.options.add_objects_in_batches
-- -> { total, done, batches, run_batches, resumed_at, added, present,
--      client_token } | a dry run's { dry_run, plan = {...} } | nil, err
local function add_in_batches(client, opts)
  local o, err = options.check(specs.add_objects_in_batches, opts)
  if not o then return nil, err end
  local list
  list, err = ordered(o.objects)
  if not list then return nil, err end
  local size, n = o.batch_size, math.ceil(#list / o.batch_size)
  local cp = { job = o.DtsJobId, objects = digest(list), total = #list, done = 0, batches = 0,
               batch_size = size }
  local fresh = true
  if o.checkpoint then
    local saved
    saved, err = read_checkpoint(o.checkpoint)
    if err then return nil, err end
    if saved then
      if saved.job ~= cp.job or saved.objects ~= cp.objects then
        return nil, errors.invalid("checkpoint", "%s belongs to another job or object list; "
          .. "remove it to start over", o.checkpoint)
      end
      if saved.batch_size and saved.batch_size ~= size then
        return nil, errors.invalid("batch_size", "%s was made with batch_size %s: resume with that, "
          .. "or remove it to start over", o.checkpoint, tostring(saved.batch_size))
      end
      if o.ClientToken and saved.client_token and saved.client_token ~= o.ClientToken then
        return nil, errors.invalid("ClientToken", "%s was made with ClientToken %s: resume with "
          .. "that one, or remove it to start over", o.checkpoint, tostring(saved.client_token))
      end
      cp, fresh = saved, false
      cp.batch_size = size
    end
  end
  local base = o.ClientToken or cp.client_token or core.nonce()
  if #token_of(base, n) > 64 then
    return nil, errors.invalid("ClientToken", "at most %d characters for a run of %d batch%s "
      .. "(batch k goes out as <ClientToken>-b<k>, at most 64)", 64 - #token_of("", n), n, n == 1 and "" or "es")
  end
  cp.client_token = base
  if o.dry_run then return dry_run(client, o, list, cp, n, base) end
  -- The token is on disk before the first batch goes out.
  if o.checkpoint and fresh then
    local ok
    ok, err = write_checkpoint(o.checkpoint, cp)
    if not ok then return nil, err end
  end
  local start = cp.batches + 1
  local run = { added = {}, present = {}, batches = 0 }
  local last -- this run's last confirmed batch
  while cp.done < #list do
    local k = cp.batches + 1
    local stop = interrupt(client)
    if stop then return nil, stopped_after(stop, last, cp, n, #list) end
    local chunk = chunk_of(list, cp.done, size)
    local r
    r, err = objects.add_checked(client, {
      DtsJobId = o.DtsJobId, DtsInstanceId = o.DtsInstanceId,
      SynchronizationDirection = o.SynchronizationDirection, ClientToken = token_of(base, k),
      objects = chunk, initialize = o.initialize, widen = o.widen, narrow = o.narrow,
      interval = o.interval, timeout = o.timeout,
    })
    if not r then return nil, at_batch(err, k, n, cp, #list) end
    cp.done = cp.done + #chunk
    cp.batches = k
    run.batches = run.batches + 1
    last = { batch = k, applied = r.applied, client_token = r.client_token, request_id = r.request_id }
    for _, name in ipairs(r.plan.added) do run.added[#run.added + 1] = name end
    for _, name in ipairs(r.plan.present) do run.present[#run.present + 1] = name end
    if o.checkpoint then
      local ok
      ok, err = write_checkpoint(o.checkpoint, cp)
      if not ok then
        -- Nothing is pending: a run from the old checkpoint finds batch k
        -- on the job and sends nothing of it again.
        err.batch, err.batches, err.done, err.total = k, n, cp.done, #list
        err.message = ("batch %d of %d is applied and confirmed (%s), but %s"):format(
          k, n, of_objects(cp.done, #list), err.message)
        return nil, err
      end
    end
    if o.on_progress then
      local go = o.on_progress{ batch = k, batches = n, done = cp.done, total = #list,
        added = r.plan.added, present = r.plan.present, request_id = r.request_id }
      if go == false and cp.done < #list then
        return nil, stopped_after(errors.new("interrupted", { message = "stopped by on_progress" }),
          last, cp, n, #list)
      end
    end
  end
  return { total = #list, done = cp.done, batches = cp.batches, run_batches = run.batches,
           resumed_at = start > 1 and start or nil, added = run.added, present = run.present,
           client_token = base }
end

-- The ClientToken a checkpoint file holds (nil: no file, or none in it),
-- for a command that prints how to resume a run it did not start.
local function checkpoint_token(path)
  local cp = type(path) == "string" and read_checkpoint(path)
  return cp and type(cp.client_token) == "string" and cp.client_token or nil
end

-- batches(client, opts) runs; batches.checkpoint_token(path).
return setmetatable({ checkpoint_token = checkpoint_token }, {
  __call = function(_, client, opts) return add_in_batches(client, opts) end,
})
