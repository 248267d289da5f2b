-- What every API subcommand of `dts` shares: the common flags, the client
-- they configure, output (plain words or --json), and exit codes.
--
-- Exit codes: 0 done; 2 bad input (nothing was sent); 3 the service said
-- no (an API or credentials error); 4 no usable answer (network, timeout,
-- TLS, a broken answer).

local dts = require "dts"
local json = require "dts.json"
local credentials = require "dts.credentials"
local sys = require "dts.sys"

local common = {}

common.EXIT = { ok = 0, input = 2, api = 3, network = 4 }

local EXIT_OF = {
  invalid_argument = 2, credentials = 3, api = 3,
  network = 4, timeout = 4, tls = 4, protocol = 4,
}

common.EPILOG = "Exit status: 0 done, 2 bad input (nothing sent), 3 the service refused "
  .. "(API or credentials error), 4 no usable answer (network, timeout, TLS, broken answer). "
  .. "Credentials: ALIBABA_CLOUD_ACCESS_KEY_ID, ALIBABA_CLOUD_ACCESS_KEY_SECRET, "
  .. "ALIBABA_CLOUD_SECURITY_TOKEN, or --profile (aliyun CLI config)."

function common.add_flags(cmd)
  cmd:option("--profile", "aliyun CLI profile to take credentials and region from "
    .. "(~/.aliyun/config.json, AK or StsToken mode).")
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
  if args.profile then
    local provider, region = credentials.from_profile(args.profile)
    if not provider then return nil, region end
    opts.credentials = provider
    opts.region_id = opts.region_id or region
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

-- Prints err (never a secret: errors hold none) and returns the exit code.
function common.fail(args, command, err)
  if args.json then
    common.write_json({ error = { kind = err.kind, code = err.code, message = err.message,
      param = err.param, http_status = err.http_status, request_id = err.request_id,
      retryable = err.retryable, attempts = err.attempts } })
  end
  io.stderr:write("dts ", command, ": ", tostring(err), "\n")
  return EXIT_OF[err.kind] or 1
end

-- The value of a JSON flag: inline JSON, or @file.
function common.json_arg(value)
  if type(value) ~= "string" or value:sub(1, 1) ~= "@" then return value end
  return sys.read_file(value:sub(2))
end

return common
