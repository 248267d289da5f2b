-- `dts modify`: ModifyDtsJob with every parameter as a flag, derived from
-- the schema (--dts-instance-id, --db-list, ...).  RegionId is the one
-- exception: --region sets it (with --region-id as its other spelling), so
-- the two can never disagree.

local common = require "dts.cli.common"
local core = require "dts.core"
local errors = require "dts.errors"
local schema = require "dts.schema"

local M = {}

local ACTION = schema.ModifyDtsJob

function M.add(parser)
  local cmd = parser:command("modify")
    :summary("ModifyDtsJob: change a task's objects (DbList) or reserved settings.")
    :description(ACTION.doc .. " DbList REPLACES the task's whole object list: "
      .. "to add objects safely use `dts add-objects`. Prints that the change was accepted, "
      .. "with the request id and the ClientToken (one is generated when --client-token is "
      .. "not given: run again with the same one and the change is applied at most once).")
    :epilog(common.epilog({
      "dts modify --dts-instance-id dtsexample01 --db-list @dblist.json --dry-run",
      "dts modify --dts-instance-id dtsexample01 --db-list @dblist.json --wait 300",
      "dts modify --dts-instance-id dtsexample01 --modify-type-enum UPDATE_RESERVED "
        .. "--reserved '{\"maxRetryTime\":\"3600\"}'",
    }))
  common.param_flags(cmd, "modify", ACTION)
  common.option(cmd, "modify", "--wait --wait-modifying", "Seconds to wait while the task is "
    .. "still Modifying from an earlier change before sending this one (--wait-modifying is the "
    .. "same flag) (default: 0, do not wait).", "wait_modifying")
    :argname("<s>"):convert(tonumber)
  common.add_flags(cmd, "modify", true)
  return cmd
end

function M.run(args)
  local params = common.params_of(args, ACTION)
  for _, p in ipairs(ACTION.params) do
    if params[p.name] ~= nil and p.type == "json" then
      local text, err = common.json_arg(params[p.name])
      if not text then return common.fail(args, "modify", errors.invalid(p.name, "%s", err)) end
      params[p.name] = text
    end
  end
  -- The token the change goes out with, known here so it can be printed.
  params.ClientToken = params.ClientToken or core.nonce()
  local client, err = common.client(args)
  if not client then return common.fail(args, "modify", err) end
  local res
  res, err = client:modify_dts_job(params, { dry_run = args.dry_run, wait_modifying = args.wait })
  if not res then
    return common.fail(args, "modify", err, err.client_token and { ["--client-token"] = err.client_token })
  end
  if args.json then
    common.write_json(res)
    return 0
  end
  if args.dry_run then
    common.say(args, "Would send (secrets redacted):\n%s %s", res.method, res.url)
    local names = {}
    for k in pairs(res.headers) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do common.say(args, "%s: %s", k, res.headers[k]) end
    common.say(args, "\n%s", res.body)
    return 0
  end
  local ids = common.ids(res.request_id, params.ClientToken)
  common.say(args, "ModifyDtsJob accepted%s%s.",
    (res.dts_job_id or args.dts_job_id) and (": task " .. tostring(res.dts_job_id or args.dts_job_id)) or "",
    ids and (" (" .. ids .. ")") or "")
  return 0
end

return M
