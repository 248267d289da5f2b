-- `dts add-objects`: add tables or databases to a running task the safe
-- way (read, check, merge, plan, send the whole list, confirm), in batches
-- with a checkpoint when there are many.  Every run has a ClientToken
-- (--client-token, generated when absent), so a run that stops with an
-- unknown outcome or an interrupt prints the exact command that finishes
-- it without applying anything twice.

local batches = require "dts.workflows.batches"
local common = require "dts.cli.common"
local core = require "dts.core"
local errors = require "dts.errors"
local json = require "dts.json"
local sys = require "dts.sys"

local M = {}

function M.add(parser)
  local cmd = parser:command("add-objects")
    :summary("Add tables or databases to a running task, keeping every object it has.")
    :description("Reads the task's current objects, checks that the instance owns the task, "
      .. "merges the new ones, shows the plan (never a removal, unless --widen or --narrow asks "
      .. "for one), sends the complete list, waits until the task settles and confirms every new "
      .. "object is there. Objects: db.table or db (a whole database), as arguments or from "
      .. "--file (a JSON list, a DbList object, or one object per line), not both.")
  cmd:argument("objects", "Objects to add: db.table or db."):args("*")
  cmd:option("--file", "Read the objects from this file (instead of arguments)."):argname("<file>")
  cmd:option("--dts-job-id", "ID of the task."):argname("<id>")
  cmd:option("--dts-instance-id", "ID of the instance (checked against the task's own)."):argname("<id>")
  cmd:option("--synchronization-direction", "Direction, required on a two-way task.")
    :choices({ "Forward", "Reverse" })
  cmd:option("--client-token", "Idempotency token (generated when absent): run again with the same "
    .. "one after an unknown outcome and nothing is applied twice. With --batch-size, batch k "
    .. "goes out as <token>-b<k>."):argname("<token>")
  cmd:flag("--initialize", "Schema and full-data initialization of the new objects.")
  cmd:flag("--no-initialize", "Incremental synchronization only for the new objects "
    .. "(neither flag: the job's own setting, nothing sent).")
  cmd:flag("--widen", "Allow turning a database synchronized in part into a whole one (given as db).")
  cmd:flag("--narrow", "Allow turning a whole database into only the tables given for it (db.table).")
  cmd:option("--batch-size", "Add this many objects per submission (cumulative batches).")
    :argname("<n>"):convert(tonumber)
  cmd:option("--checkpoint", "Checkpoint file (needs --batch-size): a run that stops resumes from it.")
    :argname("<file>")
  cmd:option("--poll", "Seconds between status checks (default 5)."):argname("<s>"):convert(tonumber)
  cmd:option("--wait", "Seconds to wait for the task to settle (default 600)."):argname("<s>")
    :convert(tonumber)
  common.add_flags(cmd)
  return cmd
end

-- A JSON list or DbList, else one object per line (# comments allowed).
local function read_objects(path)
  local text, err = sys.read_file(path)
  if not text then return nil, errors.invalid("file", "%s", err) end
  if text:match("^%s*[%[{]") then
    local v, jerr = json.decode(text)
    if type(v) ~= "table" then return nil, errors.invalid("file", "%s: not valid JSON: %s", path, jerr) end
    return v
  end
  local list = {}
  for line in text:gmatch("[^\n]+") do
    line = line:gsub("#.*", ""):match("^%s*(.-)%s*$")
    if line ~= "" then list[#list + 1] = line end
  end
  return list
end

local function is_tty()
  local ok = os.execute("[ -t 1 ]")
  return ok == true or ok == 0
end

-- A bar on a terminal, plain lines otherwise.
local function progress(args)
  if args.quiet or args.json then return nil end
  local tty = is_tty()
  return function(p)
    if tty then
      local width = 30
      local filled = math.floor(width * p.done / p.total)
      io.stdout:write(("\r[%s%s] %d/%d objects, batch %d/%d"):format(("#"):rep(filled),
        ("."):rep(width - filled), p.done, p.total, p.batch, p.batches))
      if p.done == p.total then io.stdout:write("\n") end
    else
      io.stdout:write(("batch %d/%d: %d/%d objects (%d added)\n"):format(p.batch, p.batches,
        p.done, p.total, #p.added))
    end
    io.stdout:flush()
  end
end

-- The flags a run that stopped is resumed with: the same token (and the
-- same checkpoint), so nothing is applied twice.
local function again(args, token)
  return { ["--client-token"] = token, ["--checkpoint"] = args.checkpoint }
end

local function objects_of(args)
  local list = args.objects or {}
  if args.file then
    if #list > 0 then
      return nil, errors.invalid("file", "objects given both as arguments and with --file: "
        .. "use one or the other")
    end
    return read_objects(args.file)
  end
  return list
end

local function check_flags(args)
  if args.initialize and args.no_initialize then
    return nil, errors.invalid("initialize", "--initialize and --no-initialize contradict each other")
  end
  if args.checkpoint and not args.batch_size then
    return nil, errors.invalid("checkpoint", "--checkpoint records batches: give --batch-size too")
  end
  return true
end

local function say_batch_plan(args, res)
  common.say(args, "Plan for task %s: %d objects in %d batches (dry run: nothing sent).",
    args.dts_job_id, res.total, res.batches)
  if res.done > 0 then
    common.say(args, "From the checkpoint: %d objects already confirmed.", res.done)
  end
  for _, b in ipairs(res.plan) do
    common.say(args, "batch %d/%d (ClientToken %s):\n  %s", b.batch, res.batches, b.client_token,
      (b.text:gsub("\n", "\n  ")))
  end
end

local function say_batch_result(args, res)
  if res.resumed_at then
    common.say(args, "Resumed at batch %d of %d: added %d objects in %d batches this run; "
      .. "all %d batches done, every object confirmed.", res.resumed_at, res.batches, #res.added,
      res.run_batches, res.batches)
  else
    common.say(args, "Added %d objects in %d batches; every one confirmed.", #res.added, res.batches)
  end
  if #res.present > 0 then
    common.say(args, "%d of them were already there.", #res.present)
  end
end

function M.run(args)
  local ok, err = check_flags(args)
  if not ok then return common.fail(args, "add-objects", err) end
  local list
  list, err = objects_of(args)
  if not list then return common.fail(args, "add-objects", err) end
  if next(list) == nil then
    return common.fail(args, "add-objects", errors.invalid("objects", "no objects given"))
  end
  local client
  client, err = common.client(args)
  if not client then return common.fail(args, "add-objects", err) end
  -- A batch run's checkpoint keeps its ClientToken (written before the
  -- first batch), so the same command resumes it, even after a kill -9
  -- that printed nothing.
  local token = args.client_token
    or (args.batch_size and batches.checkpoint_token(args.checkpoint)) or core.nonce()
  local opts = {
    DtsJobId = args.dts_job_id, DtsInstanceId = args.dts_instance_id,
    SynchronizationDirection = args.synchronization_direction, ClientToken = token,
    objects = list, initialize = args.initialize or (args.no_initialize and false) or nil,
    widen = args.widen or nil, narrow = args.narrow or nil,
    interval = args.poll, timeout = args.wait, dry_run = args.dry_run or nil,
  }
  local res
  if args.batch_size then
    opts.batch_size, opts.checkpoint, opts.on_progress = args.batch_size, args.checkpoint, progress(args)
    res, err = client:add_objects_in_batches(opts)
    if not res then return common.fail(args, "add-objects", err, again(args, token)) end
    if args.json then
      common.write_json(res)
    elseif res.dry_run then
      say_batch_plan(args, res)
    else
      say_batch_result(args, res)
    end
    return 0
  end
  res, err = client:add_objects(opts)
  if not res then return common.fail(args, "add-objects", err, again(args, token)) end
  if args.json then
    common.write_json({ plan = res.plan, applied = res.applied, dry_run = res.dry_run,
      request_id = res.request_id, client_token = res.client_token, request = res.request })
    return 0
  end
  common.say(args, "Plan for task %s:\n%s", args.dts_job_id, res.text)
  if res.dry_run then
    common.say(args, "Dry run: nothing sent.")
  elseif res.applied then
    common.say(args, "Applied and confirmed (request %s, ClientToken %s).", tostring(res.request_id),
      tostring(res.client_token))
  else
    common.say(args, "Nothing to do: every object is already there.")
  end
  return 0
end

return M
