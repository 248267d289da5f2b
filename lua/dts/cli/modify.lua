-- `dts modify`: ModifyDtsJob with every parameter as a flag, derived from
-- the schema (--dts-instance-id, --db-list, ...).

local common = require "dts.cli.common"
local errors = require "dts.errors"
local schema = require "dts.schema"

local M = {}

local ACTION = schema.ModifyDtsJob

local function flag(p)
  return "--" .. p.alias:gsub("_", "-")
end

function M.add(parser)
  local cmd = parser:command("modify")
    :summary("ModifyDtsJob: change a task's objects (DbList) or reserved settings.")
    :description(ACTION.doc .. " DbList REPLACES the task's whole object list: "
      .. "to add objects safely use `dts add-objects`.")
  for _, p in ipairs(ACTION.params) do
    local opt = cmd:option(flag(p), p.doc .. (p.required and " Required." or ""))
    if p.type == "boolean" then
      opt:choices({ "true", "false" })
    elseif p.type == "json" then
      opt:argname("<json|@file>")
    elseif p.enum then
      opt:choices(p.enum)
    else
      opt:argname("<" .. p.alias:gsub("_", "-") .. ">")
    end
  end
  cmd:option("--wait-modifying", "Wait up to this many seconds while the task is still Modifying.")
    :argname("<s>"):convert(tonumber)
  common.add_flags(cmd)
  return cmd
end

function M.run(args)
  local params = {}
  for _, p in ipairs(ACTION.params) do
    local v = args[p.alias]
    if v ~= nil and p.type == "json" then
      local text, err = common.json_arg(v)
      if not text then return common.fail(args, "modify", errors.invalid(p.name, "%s", err)) end
      v = text
    end
    params[p.name] = v
  end
  local client, err = common.client(args)
  if not client then return common.fail(args, "modify", err) end
  local res
  res, err = client:modify_dts_job(params, { dry_run = args.dry_run, wait_modifying = args.wait_modifying })
  if not res then
    return common.fail(args, "modify", err, err.client_token and { ["--client-token"] = err.client_token })
  end
  if args.dry_run then
    if args.json then common.write_json(res) end
    common.say(args, "Would send (secrets redacted):\n%s %s", res.method, res.url)
    local names = {}
    for k in pairs(res.headers) do names[#names + 1] = k end
    table.sort(names)
    for _, k in ipairs(names) do common.say(args, "%s: %s", k, res.headers[k]) end
    common.say(args, "\n%s", res.body)
    return 0
  end
  if args.json then common.write_json(res) end
  common.say(args, "ModifyDtsJob accepted: task %s, request %s.", tostring(res.dts_job_id),
    tostring(res.request_id))
  return 0
end

return M
