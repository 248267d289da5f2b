-- What every API subcommand of `dts` shares: the common flags, the client
-- they configure, output (plain words or --json), errors and exit codes.
--
-- Output: the result on stdout (plain words, or one JSON document with
-- --json); progress, waiting (dts.cli.progress) and errors on stderr.  With
-- --json a failure prints {"error": {...}} on stdout instead of the result
-- (common.error_document), so a pipeline never reads an error as a result:
-- no result has a top-level "error" key, and the exit code is not 0.
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
local retry = require "dts.retry"
local sys = require "dts.sys"
local terms = require "dts.cli.terms"

local common = {}

common.EXIT = { ok = 0, input = 2, api = 3, network = 4, unconfirmed = 5, sigint = 130, sigterm = 143 }

local EXIT_OF = {
  invalid_argument = 2, credentials = 3, api = 3,
  network = 4, timeout = 4, tls = 4, protocol = 4,
  unconfirmed = 5, interrupted = 130,
}
common.EXIT_OF = EXIT_OF

local EXIT_OF_SIGNAL = { SIGINT = 130, SIGTERM = 143 }

-- What every subcommand's --help ends with: where output goes, the error
-- document, exit codes (dts(1) is generated from the same parser).
common.OUTPUT = "Output: the result goes to stdout, in plain words or, with --json, as one JSON "
  .. "document (an object; a list that is empty is [], never {}). Progress, waiting and error "
  .. "messages go to stderr; --quiet leaves only the error messages (and the --json document). "
  .. "A failure prints one line on stderr and exits with a status other than 0; with --json it "
  .. "also prints, on stdout and instead of the result, {\"error\": {...}}: kind, code, "
  .. "message, param (the flag at fault), recommend (what to do next), retryable (true: "
  .. "running the same command again may succeed, as after a network failure, throttling, an "
  .. "interrupt or an unknown outcome; false: it will fail the same way), and after a change "
  .. "went out submitted, client_token, request_id, outcome and resume (the command that "
  .. "finishes the run). A result never has a top-level \"error\" key, so `jq -e .error` "
  .. "tells them apart; so does the exit status."

common.EXIT_HELP = "Exit status: 0 done; 2 bad input, a usage error or no credentials found "
  .. "(nothing sent); 3 the service refused (API or credentials error); 4 no usable answer "
  .. "(network, timeout, TLS, broken answer); 5 the change was accepted but is not yet "
  .. "confirmed; 130/143 stopped by SIGINT/SIGTERM."

common.CREDENTIALS_HELP = "Credentials: --profile or ALIBABA_CLOUD_PROFILE (an aliyun CLI "
  .. "profile, any mode), else the default chain: ALIBABA_CLOUD_ACCESS_KEY_ID/_SECRET"
  .. "(/_SECURITY_TOKEN), OIDC, ~/.aliyun/config.json, ~/.alibabacloud/credentials.ini, the ECS "
  .. "RAM role, ALIBABA_CLOUD_CREDENTIALS_URI (`dts credentials` shows which answers). Secrets "
  .. "are never printed."

-- The epilog of a subcommand: its examples, then the shared paragraphs.
function common.epilog(examples)
  local lines = { "Examples:" }
  for _, e in ipairs(examples) do lines[#lines + 1] = "  " .. e end
  return table.concat(lines, "\n") .. "\n\n" .. common.OUTPUT .. "\n\n" .. common.EXIT_HELP
    .. "\n\n" .. common.CREDENTIALS_HELP
end

common.PROFILE_HELP = "aliyun CLI profile to take credentials and region from "
  .. "(~/.aliyun/config.json or ALIBABA_CLOUD_CONFIG_FILE; modes AK, StsToken, RamRoleArn, "
  .. "EcsRamRole, OIDC, ChainableRamRoleArn, CredentialsURI; default: ALIBABA_CLOUD_PROFILE, "
  .. "else the default chain)."

-- Declares an option on cmd and records which library names it sets in
-- scope (the subcommand's name, or terms.CLIENT for dts.new's options), so
-- messages about those names name the flag.  names: "--flag" or
-- "--flag --alias"; sets: a name or a list of names.  An option given
-- twice (or under both its spellings) is a usage error, never "the last
-- one wins".
function common.option(cmd, scope, names, help, sets)
  terms.record(scope, sets, names:match("^%S+"))
  return cmd:option(names, help):overwrite(false)
end

-- The same for a flag that takes no value.
function common.flag(cmd, scope, names, help, sets)
  terms.record(scope, sets, names:match("^%S+"))
  return cmd:flag(names, help)
end

-- A flag for every parameter of an API action (dts.schema), but RegionId,
-- which --region sets: --dts-instance-id, --db-list <json|@file>, ...
-- required: names the command needs besides the schema's required ones.
function common.param_flags(cmd, command, action, required)
  for _, p in ipairs(action.params) do
    if p.name ~= "RegionId" then
      local must = p.required or (required and required[p.name])
      local help = p.doc
      if must then
        help = help .. " Required."
      elseif not (help:find("default", 1, true) or help:find("generated", 1, true)) then
        help = help:gsub("%.$", "") .. " (default: not sent)."
      end
      local opt = common.option(cmd, command, "--" .. p.alias:gsub("_", "-"), help, { p.name, p.alias })
      if must then opt:count(1) end
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
  end
end

-- The parameters those flags gave (JSON ones as given: text or @file).
function common.params_of(args, action)
  local params = {}
  for _, p in ipairs(action.params) do
    if p.name ~= "RegionId" then params[p.name] = args[p.alias] end
  end
  return params
end

-- The flags every API subcommand shares, and the dts.new options they set.
-- region_alias: the command has a RegionId parameter, which --region sets
-- (the client's region is the RegionId sent): --region-id is another
-- spelling of --region, never a second value.  dry_run_help: what
-- --dry-run does, when it is more than showing the one request.
function common.add_flags(cmd, command, region_alias, dry_run_help)
  local function client_option(names, help, sets)
    terms.record(terms.CLIENT, sets, names:match("^%S+"))
    return common.option(cmd, command, names, help, sets)
  end
  client_option("--profile", common.PROFILE_HELP, "profile"):argname("<name>")
  client_option(region_alias and "--region --region-id" or "--region",
    "Region of the DTS instance, e.g. cn-hangzhou; it is also the RegionId sent"
    .. (region_alias and " (--region-id is the same flag)" or "")
    .. " (default: ALIBABA_CLOUD_REGION_ID, else the --profile's region).",
    { "region_id", "region", "RegionId" }):argname("<region>")
  client_option("--endpoint", "Endpoint host[:port] (default: ALIBABA_CLOUD_ENDPOINT, else "
    .. "dts.<region>.aliyuncs.com).", "endpoint"):argname("<host>")
  client_option("--ca-file", "CA certificates to trust (default: DTS_CA_FILE, else SSL_CERT_FILE, "
    .. "else CURL_CA_BUNDLE, else the system store).", "ca_file"):argname("<file>")
  client_option("--signature", "Signature scheme: v3 (ACS3-HMAC-SHA256) or v1 (HMAC-SHA1) "
    .. "(default: v3).", "signature"):choices({ "v3", "v1" })
  client_option("--timeout", "Seconds each API call may take, retries and back-off included "
    .. "(default: 30).", "timeout"):argname("<s>"):convert(tonumber)
  client_option("--retries", ("Attempts per API call when an answer is worth retrying "
    .. "(throttling, 5xx, network) (default: %d)."):format(retry.DEFAULTS.max_attempts),
    { "retries", "retries.max_attempts" }):argname("<n>"):convert(tonumber)
  cmd:flag("--dry-run", dry_run_help or "Show the request that would be sent (secrets redacted); "
    .. "send nothing.")
  cmd:flag("--json", "The result as one JSON document on stdout; a failure as "
    .. "{\"error\": {...}} there instead (see Output below).")
  cmd:flag("--quiet", "No result in plain words and no progress on stderr: only errors "
    .. "(and the --json document).")
end

-- The client the common flags describe.  Its errors name flags.
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
  local client, err = dts.new(opts)
  if not client then return nil, terms.translate(terms.CLIENT, err) end
  return client
end

-- Fields that are lists in what dts prints: an empty one is written [],
-- never {}.  An empty Lua table could be either, and Debian's lua-cjson
-- 2.1.0 has no empty_array or array_mt to say which (OpenResty's fork
-- has), so the command says it here, the same way with either: the plans
-- and results of the workflows (README "client:add_objects"), err.sources,
-- and the API's lists (dts-api.md 5.1; lua-cjson decodes [] as {} too).
common.LISTS = {
  added = true, removed = true, changed = true, present = true, covered = true,
  widened = true, narrowed = true, objects = true, plan = true, sources = true,
  SubSyncJob = true, SubDistributedJob = true,
}

-- A copy of v with every empty list of common.LISTS as the placeholder
-- (the caller's tables are left as they are).
local function with_lists(v, depth)
  if type(v) ~= "table" or depth > 100 then return v end
  local out = {}
  for k, x in next, v do
    if type(x) == "table" and next(x) == nil and common.LISTS[k] then
      out[k] = json.EMPTY_ARRAY
    else
      out[k] = with_lists(x, depth + 1)
    end
  end
  return out
end

-- The JSON text of a document dts prints (no trailing newline).
function common.json_text(value)
  local text, err = json.encode(with_lists(value, 0), "output")
  if not text then
    text = assert(json.encode({ error = { kind = "protocol", retryable = false,
      message = "the result has no JSON form: " .. tostring(err) } }))
  end
  -- lua-cjson writes "/" as "\/"; both are JSON, the plain one reads better.
  text = text:gsub("\\/", "/")
  return json.empty_arrays(text)
end

function common.write_json(value)
  io.stdout:write(common.json_text(value), "\n")
  io.stdout:flush()
end

-- A line of the result: stdout, unless --quiet or --json (which prints the
-- document instead).
function common.say(args, fmt, ...)
  if args.quiet or args.json then return end
  io.stdout:write(fmt:format(...), "\n")
  io.stdout:flush()
end

-- "1 object", "2 objects"; "1 batch", "3 batches".
function common.count(n, one, many)
  return ("%d %s"):format(n, n == 1 and one or (many or (one .. "s")))
end

-- "request R, ClientToken T": the parts that are there, or nil.
function common.ids(request_id, client_token)
  local parts = {}
  if request_id then parts[#parts + 1] = "request " .. tostring(request_id) end
  if client_token then parts[#parts + 1] = "ClientToken " .. tostring(client_token) end
  if #parts == 0 then return nil end
  return table.concat(parts, ", ")
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

-- Kinds of failure that running the same command again may get past.
local PASSING = { network = true, timeout = true, protocol = true, interrupted = true,
  unconfirmed = true }

-- The error document's retryable: is running the same command again worth
-- it?  (err.retryable says whether one request may be repeated, which the
-- client has done already, --retries times.)  Yes after a failure that
-- passes (network, timeout, throttling, a 5xx, an interrupt) and after a
-- change whose outcome is unknown or unconfirmed (run again with the same
-- ClientToken: applied at most once); no for bad input, TLS set-up, missing
-- credentials, and a refusal that will not change.
function common.worth_running_again(err)
  if err.submitted and (err.outcome == "unknown" or err.outcome == "accepted") then return true end
  if PASSING[err.kind] then return true end
  if err.kind == "api" then
    return err.retryable == true
      or (err.bare_code or err.code) == "OperationDenied.JobStatusModifying"
  end
  if err.kind == "credentials" then return err.code ~= "NoCredentials" and err.retryable == true end
  return false
end

-- What to do next, in one sentence: the command that finishes the run, the
-- service's own advice (Recommend: a troubleshooting link), or ours.
local function recommend(err, command, step, resume, again)
  if resume then return step .. ": " .. resume end
  if err.recommend then return err.recommend end
  local kind = err.kind
  if kind == "invalid_argument" then
    return ("correct %s and run again (dts %s --help shows every flag); nothing was sent")
      :format(err.param or "the command", command)
  elseif kind == "credentials" and err.code == "NoCredentials" then
    return "give --profile, or set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET "
      .. "(sources lists what each source of the chain said; `dts credentials` checks them)"
  elseif kind == "credentials" then
    return "check the credentials: `dts credentials` shows which source answers"
  elseif kind == "tls" then
    return "check --ca-file (or DTS_CA_FILE) and --endpoint"
  elseif again then
    return "run the same command again (if it keeps failing, check --endpoint, the network "
      .. "and --timeout)"
  end
  return "the service refused it: running the same command again will fail the same way"
end

-- The --json error document of err (already in the command's terms).
function common.error_document(err, command, step, resume)
  local again = common.worth_running_again(err)
  return { error = { kind = err.kind, code = err.code, bare_code = err.bare_code,
    message = err.message, param = err.param, http_status = err.http_status,
    request_id = err.request_id, recommend = recommend(err, command, step, resume, again),
    retryable = again, attempts = err.attempts, submitted = err.submitted,
    client_token = err.client_token, outcome = err.outcome, signal = err.signal,
    batch = err.batch, batches = err.batches, done = err.done, total = err.total,
    sources = err.sources, resume = resume or nil } }
end

-- Prints err (never a secret: errors hold none) and returns the exit code:
-- one line on stderr, "dts <command>: <kind> ...", and with --json the
-- error document on stdout.  Names of library options and parameters
-- become the flags that set them (dts.cli.terms).
-- again: the flags that finish or resume the run (dts.cli.add_objects);
-- any command that was interrupted is simply run again.
function common.fail(args, command, err, again)
  err = terms.translate(command, err)
  local step = next_step(err, again)
  local resume = step and (again or err.kind == "interrupted") and common.command_line(args, again)
  if args.json then common.write_json(common.error_document(err, command, step, resume)) end
  -- tostring(err) starts "dts: "; the command's own name replaces it.
  io.stderr:write("dts ", command, ": ", (tostring(err):gsub("^dts: ", "")),
    resume and ("; " .. step .. ": " .. resume) or "", "\n")
  return common.exit_code(err)
end

-- A usage error (argparse's message about cmd, the subcommand's parser):
-- its usage and the message on stderr, the error document on stdout with
-- --json (given anywhere on the line); exit 2, as for any bad input.
function common.usage_error(cmd, command, msg, argv)
  -- argparse's words for a flag given twice (at most once, or exactly once)
  local twice = msg:match("^(option '[^']+') must be used at most 1 time$")
    or msg:match("^(option '[^']+') must be used 1 time$")
  if twice then msg = twice .. " was given more than once (counting its other spelling): give it once" end
  for _, a in ipairs(argv) do
    if a == "--" then break end
    if a == "--json" then
      common.write_json({ error = { kind = "invalid_argument", code = "Usage", message = msg,
        recommend = ("see %s --help"):format(command), retryable = false } })
      break
    end
  end
  io.stderr:write(cmd:get_usage(), "\n\n", command, ": ", msg, " (", command, " --help shows every flag)\n")
  return 2
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
