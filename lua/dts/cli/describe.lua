-- `dts describe`: DescribeDtsJobDetail, the task's status and objects.

local common = require "dts.cli.common"
local dblist = require "dts.dblist"
local schema = require "dts.schema"

local M = {}

local ACTION = schema.DescribeDtsJobDetail

function M.add(parser)
  local cmd = parser:command("describe")
    :summary("DescribeDtsJobDetail: a task's status and current objects.")
    :description(ACTION.doc .. " Prints the task's status and every object it synchronizes "
      .. "(db.table, or db for a whole database); --json prints the whole answer.")
    :epilog(common.epilog({
      "dts describe --dts-job-id dtsexample01",
      "dts describe --dts-job-id dtsexample01 --json | jq -r .status",
      "dts describe --dts-job-id dtsexample01 --region cn-beijing --profile prod",
    }))
  -- One task per call: without a job id the service would answer
  -- MissingDtsJobId, so it is asked for here, before anything is sent.
  common.param_flags(cmd, "describe", ACTION, { DtsJobId = true })
  common.add_flags(cmd, "describe", true)
  return cmd
end

function M.run(args)
  local params = common.params_of(args, ACTION)
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
  common.say(args, "Task %s%s %s.", tostring(job.dts_job_id or args.dts_job_id),
    job.dts_instance_id and (" (instance " .. tostring(job.dts_instance_id) .. ")") or "",
    job.status and ("is " .. tostring(job.status)) or "has no status in the answer")
  local names = job.db_object and dblist.new(job.db_object):names() or {}
  common.say(args, "%s%s", common.count(#names, "object"), #names > 0 and ":" or ".")
  for _, name in ipairs(names) do common.say(args, "  %s", name) end
  return 0
end

return M
