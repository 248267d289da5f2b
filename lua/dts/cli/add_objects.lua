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
local progress = require "dts.cli.progress"
local specs = require "dts.workflows.options"
local sys = require "dts.sys"

local M = {}

-- The flags that set one option of client:add_objects (or, for --batch-size
-- and --checkpoint, of add_objects_in_batches) each: the parser, the call's
-- options and the flag names in messages all come from this table, and the
-- help from the options' own docs.
local FLAGS = {
  { "--dts-job-id", "DtsJobId", argname = "<id>" },
  { "--dts-instance-id", "DtsInstanceId", argname = "<id>" },
  { "--synchronization-direction", "SynchronizationDirection", none = "not sent" },
  { "--client-token", "ClientToken", argname = "<token>",
    more = "With --batch-size, batch k goes out as <token>-b<k>." },
  { "--batch-size", "batch_size", argname = "<n>", convert = tonumber,
    help = "Add this many objects per submission, in cumulative batches, with progress "
      .. "(default: all in one submission)." },
  { "--checkpoint", "checkpoint", argname = "<file>", more = "Needs --batch-size.",
    none = "none: a run that stops is resumed with the --client-token it printed" },
  { "--poll", "interval", argname = "<s>", convert = tonumber },
  { "--wait", "timeout", argname = "<s>", convert = tonumber },
}

local function option_doc(name)
  return specs.add_objects.by_key[name] or specs.add_objects_in_batches.by_key[name]
end

local function help_of(f)
  if f.help then return f.help end
  local d = option_doc(f[2])
  local text = d.doc
  if f.more then text = text .. " " .. f.more end
  if d.required then text = text .. " Required." end
  if d.default ~= nil then
    text = text:gsub("%.$", "") .. (" (default: %s)."):format(tostring(d.default))
  elseif not (d.required or text:find("default", 1, true) or text:find("generated", 1, true)) then
    text = text:gsub("%.$", "") .. (" (default: %s)."):format(f.none or "none")
  end
  return text
end

function M.add(parser)
  local cmd = parser:command("add-objects")
    :summary("Add tables or databases to a running task, keeping every object it has.")
    :description("Reads the task's current objects, checks that the instance owns the task, "
      .. "merges the new ones, shows the plan (never a removal, unless --widen or --narrow asks "
      .. "for one), sends the complete list, waits until the task settles and confirms every new "
      .. "object is there. Objects: db.table or db (a whole database), as arguments or from "
      .. "--file (a JSON list, a DbList object, or one object per line), not both. While it "
      .. "waits (up to --wait seconds) it shows on stderr which job it waits for, its status "
      .. "and the seconds waited: a line that updates on a terminal, a line per change "
      .. "otherwise; with --batch-size a progress bar (or a line per batch). The plan and the "
      .. "outcome are the result, on stdout.")
    :epilog(common.epilog({
      "dts add-objects --dts-job-id dtsexample01 --dts-instance-id dtsinstance01 \\",
      "    --no-initialize shop.orders shop.invoices",
      "dts add-objects --dts-job-id J --dts-instance-id I --file tables.txt --dry-run",
      "dts add-objects --dts-job-id J --dts-instance-id I --file tables.txt \\",
      "    --batch-size 200 --checkpoint run.json     # resume: the same line again",
      "dts add-objects --dts-job-id J --dts-instance-id I --json shop.orders | jq .plan.added",
    }))
  common.option(cmd, "add-objects", "--file", "Read the objects from this file (instead of "
    .. "arguments): a JSON list, a DbList object, or one object per line (# comments) "
    .. "(default: the arguments).", "file")
    :argname("<file>")
  cmd:argument("objects", "Objects to add: db.table or db (a whole database)."):args("*")
  for _, f in ipairs(FLAGS) do
    local d = option_doc(f[2])
    local opt = common.option(cmd, "add-objects", f[1], help_of(f), { d.name, d.alias })
    if d.required then opt:count(1) end
    if d.enum then opt:choices(d.enum) end
    if f.argname then opt:argname(f.argname) end
    if f.convert then opt:convert(f.convert) end
  end
  common.flag(cmd, "add-objects", "--initialize", "Schema and full-data initialization of the "
    .. "new objects.", "initialize")
  cmd:flag("--no-initialize", "Incremental synchronization only for the new objects "
    .. "(neither flag: the job's own setting, nothing sent).")
  common.flag(cmd, "add-objects", "--widen", "Allow turning a database synchronized in part into "
    .. "a whole one (given as db).", "widen")
  common.flag(cmd, "add-objects", "--narrow", "Allow turning a whole database into only the "
    .. "tables given for it (db.table).", "narrow")
  common.add_flags(cmd, "add-objects", false, "Read the task and print the plan; send no change "
    .. "(with --json also the signed request, secrets redacted). With --batch-size: the plan of "
    .. "every batch.")
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
  common.say(args, "Plan for task %s: %s in %s (dry run: nothing sent).",
    args.dts_job_id, common.count(res.total, "object"), common.count(res.batches, "batch", "batches"))
  if res.done > 0 then
    common.say(args, "From the checkpoint: %s already confirmed.", common.count(res.done, "object"))
  end
  for _, b in ipairs(res.plan) do
    common.say(args, "batch %d/%d (ClientToken %s):\n  %s", b.batch, res.batches, b.client_token,
      (b.text:gsub("\n", "\n  ")))
  end
end

local function say_batch_result(args, res)
  if res.resumed_at then
    common.say(args, "Resumed at batch %d of %d: added %s in %s this run; "
      .. "all %s done, every object confirmed.", res.resumed_at, res.batches,
      common.count(#res.added, "object"), common.count(res.run_batches, "batch", "batches"),
      common.count(res.batches, "batch", "batches"))
  else
    common.say(args, "Added %s in %s; every one confirmed.", common.count(#res.added, "object"),
      common.count(res.batches, "batch", "batches"))
  end
  if #res.present > 0 then
    common.say(args, "%d of them %s already there.", #res.present, #res.present == 1 and "was" or "were")
  end
end

local function say_result(args, res)
  common.say(args, "Plan for task %s:\n%s", args.dts_job_id, res.text)
  if res.dry_run then
    common.say(args, "Dry run: nothing sent.")
  elseif res.applied then
    local ids = common.ids(res.request_id, res.client_token)
    common.say(args, "Applied and confirmed%s.", ids and (" (" .. ids .. ")") or "")
  else
    common.say(args, "Nothing to do: every object is already there.")
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
  local opts = {}
  for _, f in ipairs(FLAGS) do opts[option_doc(f[2]).name] = args[f[1]:sub(3):gsub("%-", "_")] end
  opts.ClientToken, opts.objects = token, list
  opts.initialize = args.initialize or (args.no_initialize and false) or nil
  opts.widen, opts.narrow, opts.dry_run = args.widen or nil, args.narrow or nil, args.dry_run or nil
  local res
  if args.batch_size then
    opts.on_progress = progress.batches(args)
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
  opts.batch_size, opts.checkpoint = nil, nil
  local done
  opts.on_status, done = progress.waiting(args, args.dts_job_id)
  res, err = client:add_objects(opts)
  done()
  if not res then return common.fail(args, "add-objects", err, again(args, token)) end
  if args.json then
    common.write_json({ plan = res.plan, applied = res.applied, dry_run = res.dry_run or false,
      request_id = res.request_id, client_token = res.client_token or token, request = res.request })
    return 0
  end
  say_result(args, res)
  return 0
end

return M
