-- `dts describe`: DescribeDtsJobDetail, the task's status and objects.

local common = require "dts.cli.common"
local dblist = require "dts.dblist"
local schema = require "dts.schema"

local M = {}

local ACTION = schema.DescribeDtsJobDetail

function M.add(parser)
  local cmd = parser:command("describe")
    :summary("DescribeDtsJobDetail: a task's status and current objects.")
    :description(ACTION.doc)
  for _, p in ipairs(ACTION.params) do
    local opt = cmd:option("--" .. p.alias:gsub("_", "-"), p.doc)
    if p.type == "boolean" then opt:choices({ "true", "false" }) end
    if p.enum then opt:choices(p.enum) end
  end
  common.add_flags(cmd)
  return cmd
end

function M.run(args)
  local params = {}
  for _, p in ipairs(ACTION.params) do params[p.name] = args[p.alias] end
  local client, err = common.client(args)
  if not client then return common.fail(args, "describe", err) end
  local job
  job, err = client:describe_dts_job_detail(params, { dry_run = args.dry_run })
  if not job then return common.fail(args, "describe", err) end
  if args.json then
    common.write_json(job)
    return 0
  end
  if args.dry_run then
    common.say(args, "Would send (secrets redacted):\n%s %s", job.method, job.url)
    return 0
  end
  common.say(args, "Task %s (instance %s) is %s.", tostring(job.dts_job_id),
    tostring(job.dts_instance_id), tostring(job.status))
  local names = job.db_object and dblist.new(job.db_object):names() or {}
  common.say(args, "%d objects%s", #names, #names > 0 and ":" or ".")
  for _, name in ipairs(names) do common.say(args, "  %s", name) end
  return 0
end

return M
