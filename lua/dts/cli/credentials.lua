-- `dts credentials`: which source of the chain (or which --profile) gives
-- keys, in which mode, the access key id masked and when it expires.  It
-- fetches the credential as a call would (STS, instance metadata, ...) and
-- sends nothing to DTS.  It never prints a secret or a token.

local common = require "dts.cli.common"
local credentials = require "dts.credentials"

local M = {}

function M.add(parser)
  local cmd = parser:command("credentials")
    :summary("Show where the credentials come from (never a secret).")
    :description("Resolve credentials as a call would (the --profile, else the default "
      .. "chain: environment, OIDC, aliyun CLI profile, INI file, ECS instance metadata, "
      .. "credentials URI) and print which source answered, the mode, the masked access key "
      .. "id and the expiration. Nothing is sent to DTS.")
  common.option(cmd, "credentials", "--profile", common.PROFILE_HELP, "profile"):argname("<name>")
  common.option(cmd, "credentials", "--ca-file", "CA certificates to trust for STS (e.g. the "
    .. "local emulator's) (default: DTS_CA_FILE, else SSL_CERT_FILE, else CURL_CA_BUNDLE, else "
    .. "the system store).", "ca_file"):argname("<file>")
  common.option(cmd, "credentials", "--timeout", "Seconds to wait for STS or instance metadata "
    .. "(default: 30).", "timeout"):argname("<s>"):convert(tonumber)
  cmd:flag("--json", "The result as one JSON document on stdout; a failure as "
    .. "{\"error\": {...}} there instead (see Output below).")
  cmd:flag("--quiet", "No result in plain words: only errors (and the --json document).")
  cmd:epilog(common.epilog({
    "dts credentials",
    "dts credentials --profile prod",
    "dts credentials --json | jq -r .source",
  }))
  return cmd
end

local function when(expiration)
  if not expiration then return nil end
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(expiration))
end

function M.run(args)
  local client, err = common.client(args)
  if not client then return common.fail(args, "credentials", err) end
  local ok, c = client.credentials.get()
  if not ok then
    client:close()
    return common.fail(args, "credentials", c)
  end
  local info = credentials.describe(client.credentials)
  client:close()
  local out = {
    source = info.source, where = info.where, mode = info.mode, type = info.type,
    access_key_id = credentials.mask(c.access_key_id),
    security_token = c.security_token ~= nil,
    expiration = when(c.expiration),
    sts_endpoint = info.sts_endpoint, metadata_endpoint = info.metadata_endpoint,
    role_name = info.role_name,
  }
  if args.json then
    common.write_json(out)
    return 0
  end
  common.say(args, "source:         %s%s", tostring(out.source), out.where and (" (" .. out.where .. ")") or "")
  common.say(args, "mode:           %s", tostring(out.mode or "-"))
  common.say(args, "access key id:  %s", tostring(out.access_key_id))
  common.say(args, "security token: %s", out.security_token and "yes (not shown)" or "no")
  if out.expiration then
    common.say(args, "expiration:     %s (in %d min)", out.expiration,
      math.floor((c.expiration - os.time()) / 60))
  else
    common.say(args, "expiration:     none (long-lived keys)")
  end
  if out.sts_endpoint then common.say(args, "STS endpoint:   %s", out.sts_endpoint) end
  if out.metadata_endpoint then common.say(args, "metadata:       %s", out.metadata_endpoint) end
  return 0
end

return M
