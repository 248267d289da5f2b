-- `dts emulator`: the local DTS endpoint.  In the foreground it prints where
-- it listens, the CA file and the test credentials, then waits; Ctrl-C (or
-- SIGTERM, SIGHUP) stops it and removes its files.  `--print-env` starts it
-- in the background and prints the environment that points lua-dts at it:
--
--   eval "$(dts emulator --print-env)"    # start; scripts and dts now use it
--   eval "$(dts emulator --stop)"         # stop it, unset the variables

local emulator = require "dts.emulator"
local sys = require "dts.sys"

local quote, exit_code, run = sys.quote, sys.exit_code, sys.run

local M = {}

local BUSINESS = { "http", "success_false", "success_false_string" }

function M.add(parser)
  local cmd = parser:command("emulator")
    :summary("Run a local DTS endpoint for testing scripts offline.")
    :description("Run a local DTS endpoint (ModifyDtsJob, DescribeDtsJobDetail, API "
      .. "2020-01-01) on 127.0.0.1, over HTTPS with a certificate made at start. "
      .. "It prints its URL, CA file and test credentials; Ctrl-C stops it. With --print-env "
      .. "it runs in the background instead: eval \"$(dts emulator --print-env)\" points "
      .. "lua-dts scripts and dts at it, eval \"$(dts emulator --stop)\" stops it.")
    :epilog(table.concat({
      "Examples:",
      "  dts emulator                     # in the foreground; Ctrl-C stops it",
      "  eval \"$(dts emulator --print-env)\"              # in the background ...",
      "  dts describe --dts-job-id dtsdemojob00001       # ... dts and scripts use it",
      "  eval \"$(dts emulator --stop)\"",
      "  dts emulator --throttle-every 3 --modifying-seconds 5   # faults",
      "",
      "Output: the banner (URL, endpoint, CA file, the emulator's own test credentials, the "
        .. "request log, the jobs) goes to stdout; with --print-env stdout holds only the shell "
        .. "lines (export/unset) and a note goes to stderr; --stop prints the unset lines on "
        .. "stdout. Errors and \"stopped\" go to stderr.",
      "",
      "Exit status: 130 stopped by Ctrl-C (143 by SIGTERM), having cleaned up; 0 --print-env "
        .. "started it, or --stop stopped it; 1 it could not start, nginx exited on its own, or "
        .. "--stop found no emulator; 2 bad usage, or --stop without DTS_EMULATOR_PID.",
    }, "\n"))
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
  cmd:flag("--print-env", "Start in the background and print the shell lines that point lua-dts "
    .. "and dts at it: eval \"$(dts emulator --print-env)\".")
  cmd:flag("--stop", "Stop the emulator that --print-env started (DTS_EMULATOR_PID) and print "
    .. "the lines that unset its variables: eval \"$(dts emulator --stop)\".")
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
-- while the Lua process waiting for it ignores SIGINT) or until nginx exits
-- by itself (status 2).  Whatever kills the Lua process instead (SIGTERM,
-- SIGHUP, to it or to its group), dts.nginx's watchdog cleans up after it.
local WAIT = [[
nginx=$(cat %s 2>/dev/null) || exit 2
while kill -0 "$nginx" 2>/dev/null; do sleep 0.2; done
exit 2
]]

-- What `--print-env` exports, in order: the variables lua-dts and dts read.
-- { name, value }: export; { name, false }: unset; { name, note }: a comment
-- instead (a secret the user gave is never printed: they have it).
function M.env(em, args)
  local given = "set it to the %s given with %s"
  return {
    { "ALIBABA_CLOUD_ENDPOINT", em.endpoint },
    { "DTS_CA_FILE", em.ca_file },
    { "ALIBABA_CLOUD_ACCESS_KEY_ID", em.access_key_id },
    -- The emulator's own test secret opens nothing else.
    args.access_key_secret
      and { "ALIBABA_CLOUD_ACCESS_KEY_SECRET", nil, given:format("secret", "--access-key-secret") }
      or { "ALIBABA_CLOUD_ACCESS_KEY_SECRET", em.access_key_secret },
    -- A real token left in the shell would be sent along and refused.
    args.security_token
      and { "ALIBABA_CLOUD_SECURITY_TOKEN", nil, given:format("token", "--security-token") }
      or { "ALIBABA_CLOUD_SECURITY_TOKEN", false },
    { "ALIBABA_CLOUD_REGION_ID", "cn-hangzhou" },
    -- STS and instance metadata here too, for a role or metadata chain a
    -- script sets up itself (the keys above come first in the chain).
    { "ALIBABA_CLOUD_STS_ENDPOINT", em.sts_endpoint },
    { "DTS_METADATA_ENDPOINT", em.metadata_endpoint },
  }
end

local MARKER = "# lua-dts nginx watchdog"

-- Is pid a watchdog of dts.nginx (and not whatever took its number)?
local function is_watchdog(pid)
  local f = io.open("/proc/" .. pid .. "/cmdline", "rb")
  if not f then return false end
  local cmdline = f:read("*a")
  f:close()
  return cmdline:find(MARKER, 1, true) ~= nil
end

local function unset_lines(names)
  local out = {}
  for _, name in ipairs(names) do out[#out + 1] = "unset " .. name end
  return table.concat(out, "\n") .. "\n"
end

local function env_names()
  local names = {}
  for _, kv in ipairs(M.env({}, {})) do names[#names + 1] = kv[1] end
  names[#names + 1] = "DTS_EMULATOR_PID"
  return names
end

-- The emulator runs detached; its watchdog is what --stop (or kill)
-- signals, and it cleans up.
local function print_env(em, args)
  local pid = em.watchdog_pid
  local lines = {}
  for _, v in ipairs(M.env(em, args)) do
    if v[3] then
      lines[#lines + 1] = ("# %s: %s"):format(v[1], v[3])
    elseif v[2] then
      lines[#lines + 1] = ("export %s=%s"):format(v[1], quote(v[2]))
    else
      lines[#lines + 1] = "unset " .. v[1]
    end
  end
  lines[#lines + 1] = "export DTS_EMULATOR_PID=" .. pid
  lines[#lines + 1] = '# stop it with: eval "$(dts emulator --stop)"'
  io.stdout:write(table.concat(lines, "\n"), "\n")
  io.stdout:flush()
  io.stderr:write(("dts emulator: %s (CA %s), in the background as pid %s; "
    .. "stop it with: eval \"$(dts emulator --stop)\"\n"):format(em.url, em.ca_file, pid))
  return 0
end

-- Signals the watchdog of the emulator --print-env started (it cleans up on
-- SIGTERM) and waits for it, then prints the lines that unset what
-- --print-env set.
local function stop(getenv)
  local pid = (getenv("DTS_EMULATOR_PID") or ""):match("^%d+$")
  if not pid then
    io.stderr:write("dts emulator --stop: DTS_EMULATOR_PID is not set: nothing to stop\n")
    return 2
  end
  io.stdout:write(unset_lines(env_names()))
  io.stdout:flush()
  if not is_watchdog(pid) then
    io.stderr:write("dts emulator --stop: no emulator runs as pid ", pid, " (stopped already?)\n")
    return 1
  end
  -- Gone once its command line is (a zombie's is empty).
  run(("kill -TERM %s; for i in $(seq 200); do grep -qa %s /proc/%s/cmdline 2>/dev/null || exit 0; "
    .. "sleep 0.05; done"):format(pid, quote(MARKER), pid))
  if is_watchdog(pid) then
    io.stderr:write("dts emulator --stop: pid ", pid, " did not stop\n")
    return 1
  end
  io.stderr:write("dts emulator: stopped\n")
  return 0
end

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

function M.run(args, getenv)
  getenv = getenv or os.getenv
  if args.stop then return stop(getenv) end
  if args.print_env and args.http then
    io.stderr:write("dts emulator: --print-env needs HTTPS (lua-dts takes no protocol from the environment)\n")
    return 2
  end
  local opts = options(args)
  opts.detach = args.print_env or nil
  local em, err = emulator.start(opts)
  if not em then
    io.stderr:write("dts emulator: ", (tostring(err):gsub("^dts%.emulator: ", "")), "\n")
    return 1
  end
  if args.print_env then return print_env(em, args) end
  print_banner(em, args)
  local code = exit_code(os.execute(WAIT:format(quote(em.prefix .. "/nginx.pid"))))
  em.stop()
  if code == 2 then
    io.stderr:write("dts emulator: nginx exited on its own\n", em.error_log(), "\n")
    return 1
  end
  io.stderr:write("dts emulator: stopped\n")
  return code or 130
end

return M
