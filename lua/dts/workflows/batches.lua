-- client:add_objects_in_batches{...}: thousands of objects added in
-- cumulative batches (each submission = everything so far + the next
-- chunk), each applied only after the previous one settled, with a
-- checkpoint written atomically after every confirmed batch.  A run that
-- dies resumes from the checkpoint; objects already on the job are never
-- sent twice, because every batch starts from the job's own DbObject.

local core = require "dts.core"
local errors = require "dts.errors"
local json = require "dts.json"
local objects = require "dts.workflows.objects"
local sys = require "dts.sys"

-- The objects as an ordered list of "db" / "db.table" specs.
local function ordered(list)
  local d, err = objects.to_dblist(list)
  if not d then return nil, err end
  if type(list) == "table" and #list > 0 then return list end
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
  if type(cp) ~= "table" then
    return nil, errors.invalid("checkpoint", "%s is not a checkpoint (%s); remove it to start over",
      path, tostring(err))
  end
  return cp
end

-- Aside, then renamed (dts.sys): a crash leaves the old checkpoint or the
-- new one, never half of one.
local function write_checkpoint(path, cp)
  local ok, err = sys.write_file(path, assert(json.encode(cp, "checkpoint")))
  if not ok then return nil, errors.invalid("checkpoint", "cannot write %s: %s", path, tostring(err)) end
  return true
end

-- opts: DtsJobId, DtsInstanceId, objects (list), batch_size (default 100),
--   initialize (true, false or nil, as for add_objects), checkpoint (path), on_progress(p),
--   SynchronizationDirection, interval, timeout
-- -> { total, done, batches, added } | nil, err (checkpoint kept)
return function(client, opts)
  if type(opts) ~= "table" then
    return nil, errors.invalid(nil, "add_objects_in_batches expects a table of options")
  end
  local list, err = ordered(opts.objects)
  if not list then return nil, err end
  local size = opts.batch_size or 100
  if type(size) ~= "number" or size < 1 or size % 1 ~= 0 then
    return nil, errors.invalid("batch_size", "expected a whole number >= 1")
  end
  local cp = { job = opts.DtsJobId, objects = digest(list), total = #list, done = 0, batches = 0 }
  if opts.checkpoint then
    local saved
    saved, err = read_checkpoint(opts.checkpoint)
    if err then return nil, err end
    if saved then
      if saved.job ~= cp.job or saved.objects ~= cp.objects then
        return nil, errors.invalid("checkpoint", "%s belongs to another job or object list; "
          .. "remove it to start over", opts.checkpoint)
      end
      cp = saved
    end
  end
  local nbatches = math.ceil(#list / size)
  local added = {}
  while cp.done < #list do
    local chunk = {}
    for i = cp.done + 1, math.min(cp.done + size, #list) do chunk[#chunk + 1] = list[i] end
    local r
    r, err = objects.add(client, {
      DtsJobId = opts.DtsJobId, DtsInstanceId = opts.DtsInstanceId,
      SynchronizationDirection = opts.SynchronizationDirection,
      objects = chunk, initialize = opts.initialize,
      interval = opts.interval, timeout = opts.timeout,
    })
    if not r then
      err.message = ("batch %d of %d: %s"):format(cp.batches + 1, nbatches, err.message)
      return nil, err
    end
    cp.done = cp.done + #chunk
    cp.batches = cp.batches + 1
    for _, name in ipairs(r.plan.added) do added[#added + 1] = name end
    if opts.checkpoint then
      local ok
      ok, err = write_checkpoint(opts.checkpoint, cp)
      if not ok then return nil, err end
    end
    if opts.on_progress then
      opts.on_progress{ batch = cp.batches, batches = nbatches, done = cp.done, total = #list,
                        added = r.plan.added, present = r.plan.present, request_id = r.request_id }
    end
  end
  return { total = #list, done = cp.done, batches = cp.batches, added = added }
end
