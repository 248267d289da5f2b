-- `dts emulator`: the local DTS endpoint in the foreground.  Prints where it
-- listens, the CA file and the test credentials, then waits; Ctrl-C stops
-- it and removes its files.

local emulator = require "dts.emulator"
local sys = require "dts.sys"

local quote, exit_code = sys.quote, sys.exit_code

local M = {}

local BUSINESS = { "http", "success_false", "success_false_string" }

function M.add(parser)
  local cmd = parser:command("emulator")
    :summary("Run a local DTS endpoint for testing scripts offline.")
    :description("Run a local DTS endpoint (ModifyDtsJob, DescribeDtsJobDetail, API "
      .. "2020-01-01) on 127.0.0.1, over HTTPS with a certificate made at start. "
      .. "It prints its URL, CA file and test credentials; Ctrl-C stops it.")
  local function number(name, arg, help)
    cmd:option(name, help):argname(arg):convert(tonumber)
  end
  number("--port", "<n>", "Port on 127.0.0.1 (default: a free one).")
  cmd:flag("--http", "Plain HTTP instead of HTTPS.")
  cmd:option("--access-key-id", "Access key id to accept (default: the test key)."):argname("<id>")
  cmd:option("--access-key-secret", "Its secret (give both or neither)."):argname("<secret>")
  cmd:option("--security-token", "STS token every request must carry."):argname("<token>")
  cmd:flag("--expired-token", "Answer InvalidSecurityToken.Expired to that token.")
  cmd:option("--state", "JSON file with the jobs to start from (default: one demo job).")
    :argname("<file>")
  number("--modifying-seconds", "<s>", "How long a job stays Modifying after a change (default 2).")
  cmd:option("--business-errors", "How DTS business errors come back: http (403/404 "
    .. "gateway body, default), success_false, success_false_string."):choices(BUSINESS)
    :argname("<mode>")
  cmd:flag("--dts-msg-prefix", "Business error codes as DTS.Msg.<code>.")
  number("--time-window", "<s>", "Seconds a timestamp may be off, and a nonce is kept (default 900).")
  number("--throttle-every", "<n>", "Answer every n-th request with 400 Throttling.User.")
  number("--error-every", "<n>", "Answer every n-th request with 500 ServiceUnavailable.")
  number("--delay", "<s>", "Answer requests after s seconds.")
  number("--delay-every", "<n>", "Delay only every n-th request (with --delay).")
  number("--drop-every", "<n>", "Close the connection of every n-th request without answering.")
  number("--truncate-every", "<n>", "Cut the JSON body of every n-th answer in half.")
  number("--garbage-every", "<n>", "Answer every n-th request with an HTML page.")
  cmd:flag("--after-apply", "Faults strike after the request was applied (its answer is lost).")
  cmd:option("--fault-action", "Faults strike this action only, e.g. ModifyDtsJob, or a "
    .. "credential endpoint's: AssumeRole, AssumeRoleWithOIDC, MetadataToken, MetadataRoleName, "
    .. "MetadataCredentials, CredentialsURI (e.g. --delay 2 --fault-action MetadataCredentials: "
    .. "a metadata timeout).")
    :argname("<action>")
  -- The credential endpoints (STS, instance metadata, credentials URI).
  number("--lifetime", "<s>", "Seconds a credential from STS, metadata or the URI lives "
    .. "(default: STS's DurationSeconds, else 3600).")
  number("--first-lifetime", "<s>", "The first credential of each source lives this long "
    .. "(a short one makes clients refresh soon).")
  cmd:option("--role-name", "The instance's RAM role on the metadata service.")
    :argname("<name>")
  cmd:option("--oidc-token", "The OIDC token STS accepts (default: the test one, in the "
    .. "printed token file).")
    :argname("<token>")
  cmd:option("--metadata-mode", "IMDS versions served: both (default), v2_only, v1_only.")
    :choices({ "both", "v2_only", "v1_only" }):argname("<mode>")
  number("--metadata-port", "<n>", "Port of instance metadata and the credentials URI "
    .. "(plain HTTP on 127.0.0.1; default: a free one).")
  number("--expired-token-every", "<n>", "Answer every n-th DTS request with "
    .. "InvalidSecurityToken.Expired.")
  number("--no-permission-every", "<n>", "Answer every n-th STS request with 403 NoPermission.")
  number("--failure-code-every", "<n>", "Every n-th metadata or credentials URI credential "
    .. "comes with Code \"Failure\".")
  number("--bad-expiration-every", "<n>", "Every n-th credential handed out has an "
    .. "Expiration that is not a time.")
  return cmd
end

local function options(args)
  local faults = {
    throttle_every = args.throttle_every, error_every = args.error_every,
    delay = args.delay, delay_every = args.delay_every, drop_every = args.drop_every,
    truncate_every = args.truncate_every, garbage_every = args.garbage_every,
    expired_token_every = args.expired_token_every,
    no_permission_every = args.no_permission_every,
    failure_code_every = args.failure_code_every,
    bad_expiration_every = args.bad_expiration_every,
  }
  if next(faults) ~= nil then
    faults.after_apply = args.after_apply or nil
    faults.action = args.fault_action
  end
  return {
    port = args.port, http = args.http or nil,
    access_key_id = args.access_key_id, access_key_secret = args.access_key_secret,
    security_token = args.security_token, expired_token = args.expired_token or nil,
    state = args.state, modifying_seconds = args.modifying_seconds,
    business_errors = args.business_errors, dts_msg_prefix = args.dts_msg_prefix or nil,
    time_window = args.time_window, faults = faults,
    lifetime = args.lifetime, first_lifetime = args.first_lifetime,
    role_name = args.role_name, oidc_token = args.oidc_token,
    metadata_mode = args.metadata_mode, metadata_port = args.metadata_port,
  }
end

-- Blocks until Ctrl-C (SIGINT reaches this shell, in our process group,
-- while nginx runs detached) or until nginx exits by itself (status 2).  If
-- this Lua process dies first, the shell stops nginx and cleans up for it.
local WAIT = [[
nginx=$(cat %s) || exit 2
lua=$PPID
while kill -0 "$nginx" 2>/dev/null && kill -0 "$lua" 2>/dev/null; do sleep 0.2; done
if ! kill -0 "$lua" 2>/dev/null; then
  kill -TERM "$nginx" 2>/dev/null
  sleep 0.5
  rm -rf %s
fi
exit 2
]]

local function print_banner(em, args)
  local lines = {
    "DTS emulator: ModifyDtsJob and DescribeDtsJobDetail, API 2020-01-01",
    "  url:                " .. em.url .. "   (listening on 127.0.0.1 only)",
    "  endpoint:           " .. em.endpoint,
    "  CA file:            " .. (em.ca_file or "(none: plain HTTP)"),
    "  access key id:      " .. em.access_key_id,
    -- The one place a secret is printed, and only the emulator's own.
    "  access key secret:  " .. (args.access_key_secret and "(as given)" or em.access_key_secret),
  }
  if em.security_token then
    lines[#lines + 1] = "  security token:     (as given)"
  end
  lines[#lines + 1] = "  request log:        " .. em.log_file
  -- Every credential source of a client's chain, pointed here (the role's
  -- STS credentials work with this emulator only).
  lines[#lines + 1] = "  credential sources (export what a client should use):"
  for _, kv in ipairs(em.credentials_env()) do
    lines[#lines + 1] = ("    %s=%s"):format(kv[1], kv[2])
  end
  lines[#lines + 1] = "    (instance metadata role: " .. em.role_name .. ")"
  for _, job in ipairs(em.state() or {}) do
    lines[#lines + 1] = ("  job:                %s (instance %s, %s)"):format(
      job.DtsJobId, job.DtsInstanceId, job.Status)
  end
  lines[#lines + 1] = "Press Ctrl-C to stop."
  io.stdout:write(table.concat(lines, "\n"), "\n")
  io.stdout:flush()
end

function M.run(args)
  local em, err = emulator.start(options(args))
  if not em then
    io.stderr:write("dts emulator: ", (tostring(err):gsub("^dts%.emulator: ", "")), "\n")
    return 1
  end
  print_banner(em, args)
  local code = exit_code(os.execute(WAIT:format(quote(em.prefix .. "/nginx.pid"),
                                                quote(em.prefix))))
  em.stop()
  if code == 2 then
    io.stderr:write("dts emulator: nginx exited on its own\n", em.error_log(), "\n")
    return 1
  end
  io.stdout:write("dts emulator: stopped\n")
  io.stdout:flush()
  return 0
end

return M
