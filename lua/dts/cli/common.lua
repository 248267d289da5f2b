-- What every API subcommand of `dts` shares: the common flags, the client
-- they configure, output (plain words or --json), and exit codes.
--
-- Exit codes: 0 done; 2 bad input (nothing was sent), and no credentials
-- found at all (code NoCredentials); 3 the service said no (an API or
-- credentials error); 4 no usable answer (network, timeout, TLS, a broken
-- answer); 5 the change was accepted but is not yet confirmed; 130 / 143
-- stopped by SIGINT / SIGTERM.  After a change went out, the error line
-- says so (submitted, ClientToken, request, outcome) and ends with the
-- exact command that finishes or resumes the run.

local dts = require "dts"
local json = require "dts.json"
local credentials = require "dts.credentials"
local sys = require "dts.sys"

local common = {}

common.EXIT = { ok = 0, input = 2, api = 3, network = 4, unconfirmed = 5, sigint = 130, sigterm = 143 }

local EXIT_OF = {
  invalid_argument = 2, credentials = 3, api = 3,
  network = 4, timeout = 4, tls = 4, protocol = 4,
  unconfirmed = 5, interrupted = 130,
}
common.EXIT_OF = EXIT_OF

local EXIT_OF_SIGNAL = { SIGINT = 130, SIGTERM = 143 }

common.EPILOG = "Exit status: 0 done, 2 bad input or no credentials found (nothing sent), "
  .. "3 the service refused (API or credentials error), 4 no usable answer (network, timeout, "
  .. "TLS, broken answer), 5 accepted but not yet confirmed, 130/143 stopped by SIGINT/SIGTERM. "
  .. "Credentials: --profile or ALIBABA_CLOUD_PROFILE (an aliyun CLI profile, any mode), else "
  .. "the default chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET(/_SECURITY_TOKEN), OIDC, "
  .. "~/.aliyun/config.json, ~/.alibabacloud/credentials.ini, the ECS RAM role, "
  .. "ALIBABA_CLOUD_CREDENTIALS_URI (`dts credentials` shows which answers)."

common.PROFILE_HELP = "aliyun CLI profile to take credentials and region from "
  .. "(~/.aliyun/config.json or ALIBABA_CLOUD_CONFIG_FILE; modes AK, StsToken, RamRoleArn, "
  .. "EcsRamRole, OIDC, ChainableRamRoleArn, CredentialsURI; default ALIBABA_CLOUD_PROFILE)."

function common.add_flags(cmd)
  cmd:option("--profile", common.PROFILE_HELP)
    :argname("<name>")
  cmd:option("--region", "Region of the DTS instance (default: ALIBABA_CLOUD_REGION_ID).")
    :argname("<region>")
  cmd:option("--endpoint", "Endpoint host[:port] (default: from the region).")
    :argname("<host>")
  cmd:option("--ca-file", "CA certificates to trust (default: DTS_CA_FILE, else SSL_CERT_FILE, "
    .. "else CURL_CA_BUNDLE, else the system store).")
    :argname("<file>")
  cmd:option("--signature", "Signature scheme: v3 (default) or v1."):choices({ "v3", "v1" })
  cmd:option("--timeout", "Seconds each API call may take, retries and back-off included "
    .. "(default 30).")
    :argname("<s>"):convert(tonumber)
  cmd:option("--retries", "Attempts per API call when an answer is worth retrying "
    .. "(throttling, 5xx, network; default 4).")
    :argname("<n>"):convert(tonumber)
  cmd:flag("--dry-run", "Show the request that would be sent (secrets redacted); send nothing.")
  cmd:flag("--json", "Machine-readable output: one JSON document on stdout.")
  cmd:flag("--quiet", "Print nothing but errors.")
  cmd:epilog(common.EPILOG)
end

-- The client the common flags describe.
function common.client(args)
  local opts = {
    region_id = args.region, endpoint = args.endpoint, ca_file = args.ca_file,
    signature = args.signature, timeout = args.timeout,
    retries = args.retries and { max_attempts = args.retries } or nil,
  }
  -- As in the aliyun CLI: a profile named by the flag or by
  -- ALIBABA_CLOUD_PROFILE is used, and must exist (the libraries' chain
  -- would let environment keys win and skip a missing one).
  local profile = args.profile
  if profile == nil and (os.getenv("ALIBABA_CLOUD_PROFILE") or "") ~= "" then
    profile = os.getenv("ALIBABA_CLOUD_PROFILE")
  end
  if profile then
    opts.credentials = { type = "profile", name = profile }
    if not opts.region_id then
      local found, region = credentials.from_profile(profile)
      if found then opts.region_id = region end
    end
  end
  return dts.new(opts)
end

function common.write_json(value)
  local text = json.encode(value, "output")
  io.stdout:write(text or "{}", "\n")
end

function common.say(args, fmt, ...)
  if args.quiet or args.json then return end
  io.stdout:write(fmt:format(...), "\n")
  io.stdout:flush()
end

-- The word before the command that finishes a run, by what happened.
local function next_step(err, again)
  if err.kind == "interrupted" and not again then return "run again" end
  if err.kind == "interrupted" or err.batch then return "resume with" end
  if err.kind == "unconfirmed" then return "to confirm, run" end
  if err.submitted and err.outcome == "unknown" then return "to finish safely, run" end
  return nil
end

local SAFE = "^[%w%-_./=:@,+%%]+$"

local function shell_word(s)
  return s:match(SAFE) and s or sys.quote(s)
end

-- The command line this run was started with, with the flags in `with`
-- (name -> value; nil: left out) replacing the ones given, ready to paste.
function common.command_line(args, with)
  local words, i, argv = { args._program or "dts" }, 1, args._argv or {}
  with = with or {}
  while i <= #argv do
    local a = argv[i]
    local flag = a:match("^(%-%-[%w%-]+)=")
    if flag and with[flag] ~= nil then
      i = i + 1 -- --flag=value
    elseif with[a] ~= nil then
      i = i + 2 -- --flag value
    else
      words[#words + 1] = shell_word(a)
      i = i + 1
    end
  end
  local names = {}
  for name in pairs(with) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    words[#words + 1] = name
    words[#words + 1] = shell_word(tostring(with[name]))
  end
  return table.concat(words, " ")
end

function common.exit_code(err)
  -- No source gave keys: nothing was sent, as with bad input.
  if err.kind == "credentials" and err.code == "NoCredentials" then return 2 end
  return EXIT_OF_SIGNAL[err.signal] or EXIT_OF[err.kind] or 1
end

-- Prints err (never a secret: errors hold none) and returns the exit code.
-- again: the flags that finish or resume the run (dts.cli.add_objects);
-- any command that was interrupted is simply run again.
function common.fail(args, command, err, again)
  local step = next_step(err, again)
  local resume = step and (again or err.kind == "interrupted") and common.command_line(args, again)
  if args.json then
    common.write_json({ error = { kind = err.kind, code = err.code, message = err.message,
      param = err.param, http_status = err.http_status, request_id = err.request_id,
      retryable = err.retryable, attempts = err.attempts, submitted = err.submitted,
      client_token = err.client_token, outcome = err.outcome, signal = err.signal,
      batch = err.batch, batches = err.batches, done = err.done, total = err.total,
      sources = err.sources, resume = resume or nil } })
  end
  io.stderr:write("dts ", command, ": ", tostring(err),
    resume and ("; " .. step .. ": " .. resume) or "", "\n")
  return common.exit_code(err)
end

-- A signal that came after the command's work was done still ends it with
-- the signal's exit code (the dts command traps SIGINT and SIGTERM).
function common.interrupted_after(args, command, sig)
  local code = EXIT_OF_SIGNAL[sig] or 130
  if not args.quiet then
    io.stderr:write("dts ", command, ": interrupted by ", sig, " after the command had finished; "
      .. "nothing is pending\n")
  end
  return code
end

-- The value of a JSON flag: inline JSON, or @file.
function common.json_arg(value)
  if type(value) ~= "string" or value:sub(1, 1) ~= "@" then return value end
  return sys.read_file(value:sub(2))
end

return common
