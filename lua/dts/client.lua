--- A DTS client: its configuration (`dts.new`), the API calls, and the
-- workflows that change a running job safely.
--
-- Every call takes the one-way flow of design.md: validate -> encode ->
-- sign -> send -> decode -> retry.  Bad input is refused before anything
-- is sent; a `ClientToken` is generated when absent and reused by every
-- attempt of the call, so a retried change whose first answer was lost is
-- not applied twice.  `timeout` bounds the whole call, retries and
-- back-off included; `connect_timeout` bounds each attempt's connection.
--
-- Results are tables; failures are `nil, err` with `err` from
-- @{dts.errors}.  An error after a change went out says so (`submitted`,
-- `client_token`, `outcome`): see @{dts.errors} for what each outcome asks
-- of the caller.
-- @module dts.client
-- @usage
-- local client = assert(dts.new{ region_id = "cn-hangzhou" })
-- local res, err = client:add_objects{
--   DtsJobId = "l3m1213ye7l4w5f", DtsInstanceId = "dtsbi6e22ay2435ab",
--   objects = { "shop.orders" }, initialize = true,
-- }
-- if not res then error(tostring(err)) end
-- print(res.text)

local clock = require "dts.clock"
local core = require "dts.core"
local credentials = require "dts.credentials"
local decode = require "dts.decode"
local endpoint = require "dts.endpoint"
local errors = require "dts.errors"
local json = require "dts.json"
local retry = require "dts.retry"
local schema = require "dts.schema"
local suggest = require "dts.suggest"
local transports = require "dts.transport"
local validate = require "dts.validate"

local VERSION = core._VERSION
local core_sign, nonce, timestamp = core.sign, core.nonce, core.timestamp
local DEFAULT_TIMEOUT, DEFAULT_CONNECT_TIMEOUT = 30, 5

local client = {}
client.__index = client

-- dts.new's options and their types; nothing else is accepted.
local OPTIONS = {
  region_id = "string", access_key_id = "string", access_key_secret = "string",
  security_token = "string", credentials = "table", endpoint = "string",
  protocol = "string", signature = "string", ca_file = "string", ca_path = "string",
  client_cert = "string", client_key = "string", proxy = "string", no_proxy = "string",
  connect_timeout = "number", timeout = "number", retries = "table",
  transport = "any", connect_address = "string", insecure_host = "string",
  user_agent = "string", max_response_size = "number", debug = "boolean",
  shared_dict = "string", wait_modifying = "number",
  -- Credentials (issue 12, dts.credentials): the default chain's profile,
  -- where STS and instance metadata are, and the refresh warning hook.
  profile = "string", sts_endpoint = "string", sts_region = "string",
  metadata_endpoint = "string", on_warning = "function",
}

local function option_names()
  local names = {}
  for k in pairs(OPTIONS) do names[#names + 1] = k end
  table.sort(names)
  return names
end

-- A plain copy of a caller's table, read raw: none of its metamethods
-- (__index, __pairs, ...) runs, so no value passed in can raise here.
local function raw_copy(t)
  local c = {}
  for k, v in next, t do c[k] = v end
  return c
end

-- A key as an error names it; only strings are option names.
local function key_name(k)
  if type(k) == "string" then return k end
  return "a " .. type(k) .. " key"
end

local function describe(v)
  if type(v) ~= "string" then return type(v) end
  return ("%q"):format(#v > 40 and v:sub(1, 40) .. "..." or v)
end

-- Durations in seconds: finite; timeouts above zero, waits from zero.
local SECONDS = { timeout = 0, connect_timeout = 0, wait_modifying = -1 }

local function check_seconds(opts)
  for k, above in pairs(SECONDS) do
    local v = opts[k]
    if type(v) == "number" and not (v > above and v < math.huge) then
      return nil, errors.invalid(k, "expected a number of seconds %s, got %s",
        above == 0 and "above 0" or "from 0", tostring(v))
    end
  end
  return true
end

local function check_options(opts)
  for k, v in pairs(opts) do
    local want = OPTIONS[k]
    if not want then
      local hint = type(k) == "string" and suggest(k, option_names())
      return nil, errors.invalid(key_name(k), "not an option of dts.new%s",
        hint and ("; did you mean " .. hint .. "?") or "")
    end
    if want ~= "any" and type(v) ~= want then
      return nil, errors.invalid(k, "expected a %s, got %s", want, type(v))
    end
  end
  if opts.protocol and opts.protocol ~= "https" and opts.protocol ~= "http" then
    return nil, errors.invalid("protocol", 'expected "https" or "http"')
  end
  if opts.signature and opts.signature ~= "v3" and opts.signature ~= "v1" then
    return nil, errors.invalid("signature", 'expected "v3" or "v1" (the RPC HMAC-SHA1 scheme the docs call V2)')
  end
  local ok, err = check_seconds(opts)
  if not ok then return nil, err end
  return credentials.check_options(opts)
end

-- The region from the options or the environment (empty there: unset), or
-- nil; an error when it is not a region id (schema.FORMATS.region_id).
local function region_of(opts, getenv)
  local region, name = opts.region_id, "region_id"
  if region == nil then
    region, name = getenv("ALIBABA_CLOUD_REGION_ID"), "ALIBABA_CLOUD_REGION_ID"
    if region == "" then region = nil end
  end
  local format = schema.FORMATS.region_id
  if region ~= nil and not (type(region) == "string" and region:find(format.pattern)) then
    return nil, errors.invalid(name, "%s is not %s", describe(region), format.doc)
  end
  return true, region
end

local function check_endpoint(name, e)
  if e and not e:match("^[%w%.%-]+$") and not e:match("^[%w%.%-]+:%d+$") then
    return nil, errors.invalid(name, 'expected "host" or "host:port", without scheme or path')
  end
  return true
end

-- What every transport is configured with.
local function transport_settings(opts)
  return {
    ca_file = opts.ca_file, ca_path = opts.ca_path,
    client_cert = opts.client_cert, client_key = opts.client_key,
    proxy = opts.proxy, no_proxy = opts.no_proxy,
    connect_timeout = opts.connect_timeout or DEFAULT_CONNECT_TIMEOUT,
    timeout = opts.timeout or DEFAULT_TIMEOUT,
    connect_address = opts.connect_address, insecure_host = opts.insecure_host,
    allow_http = opts.protocol == "http", max_response_size = opts.max_response_size,
    shared_dict = opts.shared_dict,
    user_agent = opts.user_agent or ("lua-dts/" .. VERSION .. " (" .. _VERSION .. ")"),
  }
end

-- Trusted CAs from the environment unless given: DTS_CA_FILE (lua-dts's
-- own), then SSL_CERT_FILE and SSL_CERT_DIR (OpenSSL's), then
-- CURL_CA_BUNDLE (curl's); else the system store.  Empty means unset.
-- Not inside nginx, where lua_ssl_trusted_certificate decides.  -> opts
-- (a copy when changed) | nil, err naming the variable
local function ca_from_env(opts, getenv)
  if transports.in_nginx() then return opts end
  -- A file named by an option must be there now: bad input, not a TLS
  -- failure after the first request.
  for _, name in ipairs({ "ca_file", "client_cert", "client_key" }) do
    if opts[name] then
      local f, err = io.open(opts[name], "rb")
      if not f then return nil, errors.invalid(name, "cannot read %s", tostring(err)) end
      f:close()
    end
  end
  if opts.ca_file or opts.ca_path then return opts end
  local function env(name)
    local v = getenv(name)
    if type(v) == "string" and v ~= "" then return v end
  end
  local name, file, path = "DTS_CA_FILE", env("DTS_CA_FILE"), nil
  if not file then
    name, file, path = "SSL_CERT_FILE", env("SSL_CERT_FILE"), env("SSL_CERT_DIR")
    if not file and not path then name, file = "CURL_CA_BUNDLE", env("CURL_CA_BUNDLE") end
  end
  if not file and not path then return opts end
  if file then
    local f, err = io.open(file, "rb")
    if not f then return nil, errors.invalid(name, "cannot read the CA file: %s", tostring(err)) end
    f:close()
  end
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.ca_file, o.ca_path = file, path
  return o
end

--- Makes a client (`dts.new`).  Options are checked at once: an unknown
-- name is refused with a "did you mean", a wrong type names the option,
-- and an environment variable naming an unreadable CA file is refused
-- here.  Nothing touches the network: credentials are fetched at the
-- first call.  Empty environment variables count as unset.
-- @tparam[opt] table opts the options; all optional
-- @tparam string opts.region_id region of the DTS instance (default
--   `ALIBABA_CLOUD_REGION_ID`); also picks the endpoint, so only lower-case
--   letters, digits and `-`
-- @tparam string opts.access_key_id fixed keys, with `access_key_secret`
--   (default: the credentials chain, @{dts.credentials}); keys with leading or
--   trailing whitespace are refused
-- @tparam string opts.access_key_secret the secret of `access_key_id`
-- @tparam string opts.security_token an STS token for the fixed keys (never refreshed)
-- @tparam table opts.credentials `{ type = ..., ... }` (one source, see
--   @{dts.credentials}) or a provider object with `get()` -> `true, creds` |
--   `nil, err` (called without self) and optionally `invalidate()`
-- @tparam string opts.profile the aliyun CLI profile the default chain reads
--   (default `ALIBABA_CLOUD_PROFILE`, else the file's `current`)
-- @tparam string opts.sts_endpoint where STS is, `host[:port]`, always HTTPS
--   (default `ALIBABA_CLOUD_STS_ENDPOINT`, else from `sts_region`)
-- @tparam string opts.sts_region region of the STS endpoint (default `ALIBABA_CLOUD_STS_REGION`)
-- @tparam string opts.metadata_endpoint instance metadata, `http://host[:port]`
--   (default `DTS_METADATA_ENDPOINT`, else `http://100.100.100.200`)
-- @tparam function opts.on_warning `function(message)`: a credential refresh
--   failed and the old credential is used meanwhile (default: nginx's error
--   log, else stderr)
-- @tparam string opts.endpoint `"host"` or `"host:port"` (default
--   `ALIBABA_CLOUD_ENDPOINT`, else `dts.aliyuncs.com` for the regions the
--   SDKs serve centrally, else `dts.<region>.aliyuncs.com`)
-- @tparam string opts.protocol `"https"` (default) or `"http"`
-- @tparam string opts.signature `"v3"` (ACS3-HMAC-SHA256, default) or `"v1"`
--   (RPC HMAC-SHA1, which Alibaba's docs call V2)
-- @tparam string opts.ca_file trusted CAs (default `DTS_CA_FILE`, else
--   `SSL_CERT_FILE` / `SSL_CERT_DIR`, else `CURL_CA_BUNDLE`, else the system
--   store); inside nginx `lua_ssl_trusted_certificate` decides instead
-- @tparam string opts.ca_path a directory of trusted CAs
-- @tparam string opts.client_cert client certificate (PEM), as for @{dts.curl.new}
-- @tparam string opts.client_key its key (PEM)
-- @tparam string opts.proxy proxy URL; `""` disables proxies (default: libcurl's environment rules)
-- @tparam string opts.no_proxy hosts reached without the proxy
-- @tparam string opts.connect_address connect to this address; the endpoint's
--   name is still used for SNI, the certificate check and `Host`
-- @tparam string opts.insecure_host **unsafe**: no TLS verification for this one host name
-- @tparam string opts.user_agent default `lua-dts/<version> (<Lua version>)`
-- @tparam number opts.max_response_size bytes (default 8 MiB); larger answers are kind `protocol`
-- @tparam number opts.timeout seconds for the **whole call** (default 30):
--   every attempt, the back-off between them, the answers; each attempt
--   gets what is left, and none starts without time to finish
-- @tparam number opts.connect_timeout seconds **per attempt** to set up a
--   connection (default 5, within `timeout`)
-- @tparam table opts.retries `{ max_attempts = 4, base_delay = 0.2,
--   max_delay = 5 }` (the defaults): attempts for what is worth retrying
--   (throttling, 5xx, network, timeouts), capped exponential back-off with
--   full jitter; `max_attempts` 1-100, delays 0-600 s
-- @param opts.transport `"curl"` (default outside nginx), `"cosocket"`
--   (default inside nginx) or an object with `request(req)` and
--   `sleep(seconds, err)`: the contract is in @{dts.transport}
-- @tparam boolean opts.debug on `SignatureDoesNotMatch`, compare the
--   service's string to sign with ours (secrets redacted)
-- @tparam number opts.wait_modifying seconds every call keeps retrying while
--   the job is `Modifying` (`OperationDenied.JobStatusModifying`); when longer
--   than `timeout`, it is the call's deadline (each attempt still gets at most `timeout`)
-- @tparam string opts.shared_dict OpenResty: a `lua_shared_dict` for a
--   throttling back-off and the session credentials shared by the workers
-- @param[opt] getenv for tests: reads the environment instead of `os.getenv`
-- @treturn client the client
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument` (a bad option),
--   `credentials` (code `NoCredentials`: no source of the chain can even be tried)
-- @usage local client, err = dts.new{ region_id = "cn-hangzhou", timeout = 60 }
function client.new(opts, getenv)
  if opts == nil then opts = {} end
  getenv = getenv or os.getenv
  if type(opts) ~= "table" then
    return nil, errors.invalid(nil, "dts.new expects a table of options, got %s", type(opts))
  end
  opts = raw_copy(opts)
  local ok, err = check_options(opts)
  if not ok then return nil, err end
  local region
  ok, region = region_of(opts, getenv)
  if not ok then return nil, region end
  local policy
  policy, err = retry.policy(opts.retries)
  if not policy then return nil, err end
  opts, err = ca_from_env(opts, getenv)
  if not opts then return nil, err end
  local settings = transport_settings(opts)
  local transport
  transport, err = transports.choose(opts, settings)
  if not transport then return nil, err end
  local provider
  provider, err = credentials.resolve(opts, getenv, credentials.context{
    getenv = getenv, profile = opts.profile, sts_endpoint = opts.sts_endpoint,
    sts_region = opts.sts_region, metadata_endpoint = opts.metadata_endpoint,
    on_warning = opts.on_warning, shared_dict = opts.shared_dict,
    connect_timeout = opts.connect_timeout, timeout = opts.timeout, retries = policy,
    -- The client's own transport settings, plain http allowed for instance
    -- metadata (STS URLs are always https://); a transport object is shared.
    make_transport = function()
      if type(opts.transport) == "table" then return opts.transport end
      local s2 = {}
      for k, v in pairs(settings) do s2[k] = v end
      s2.allow_http = true
      return transports.choose(opts, s2)
    end,
  })
  if not provider then return nil, err end
  local host, name = opts.endpoint, "endpoint"
  if not host and (getenv("ALIBABA_CLOUD_ENDPOINT") or "") ~= "" then
    host, name = getenv("ALIBABA_CLOUD_ENDPOINT"), "ALIBABA_CLOUD_ENDPOINT"
  end
  ok, err = check_endpoint(name, host)
  if not ok then return nil, err end
  return setmetatable({
    region = region,
    region_host = region and endpoint(region), -- the host a call in `region` goes to
    endpoint = host,
    protocol = opts.protocol or "https",
    scheme = opts.signature or "v3",
    credentials = provider,
    transport = transport,
    retries = policy,
    connect_timeout = opts.connect_timeout,
    timeout = opts.timeout,
    debug = opts.debug or false,
    wait_modifying = opts.wait_modifying,
  }, client)
end

-- The request a call would send, minus its signature: placed parameters.
local function prepare(self, def, params)
  local query, body = validate(def, params, true) -- RegionId and ClientToken go in the query
  if not query then return nil, body end
  local region = query.RegionId
  if not region then
    region = self.region
    if not region then
      return nil, errors.invalid("region", "missing; set region_id in dts.new{} or "
        .. "ALIBABA_CLOUD_REGION_ID, or pass RegionId")
    end
    query.RegionId = region
  end
  -- One token for every attempt of this call, so a replay is harmless.
  if not query.ClientToken and def.by_name.ClientToken then
    query.ClientToken = nonce()
  end
  local host = self.endpoint
  if not host then
    host = region == self.region and self.region_host or endpoint(region)
    if not host then -- validation checked RegionId, dts.new the client's region
      return nil, errors.invalid("RegionId", "%s is not a region id", describe(region))
    end
  end
  -- secrets (set by send) has its room from the start: the table does not
  -- grow on the way (only a refreshed token adds `refreshed`).
  return { def = def, host = host, query = query, body = body, sent = 0,
           went_out = 0, unanswered = false, secrets = nil }
end

-- core.sign's argument, one table per client filled anew for each call
-- (core.sign reads it whole before anything else runs, so calls that
-- interleave in coroutines cannot mix theirs up).  What it refers to is
-- let go after each call.
local sign_args = setmetatable({}, { __mode = "k" })

local function sign(self, req, creds)
  local a = sign_args[self]
  if not a then
    a = { scheme = self.scheme, path = "/" }
    sign_args[self] = a
  end
  a.scheme, a.method, a.host = self.scheme, req.def.method, req.host
  a.action, a.version = req.def.action, req.def.version
  a.access_key_id, a.access_key_secret = creds.access_key_id, creds.access_key_secret
  a.security_token = creds.security_token
  a.timestamp, a.nonce = timestamp(), nonce()
  a.query, a.body = req.query, req.body
  -- The strings to sign are read only by explain_signature, in debug.
  a.debug_strings = self.debug
  local signed, err = core_sign(a)
  a.access_key_secret, a.security_token, a.query, a.body = nil, nil, nil, nil
  if not signed then return nil, errors.invalid(nil, err) end
  signed.headers.accept = "application/json"
  return signed
end

-- The secrets of a credential, as redaction takes them: made once per
-- credential (providers hand out the same table until it changes).
local secrets_cache = setmetatable({}, { __mode = "k" })

local function secrets_of(creds)
  local s = secrets_cache[creds]
  if not s or s[1] ~= creds.access_key_secret or s[2] ~= creds.security_token then
    s = { creds.access_key_secret, creds.security_token }
    secrets_cache[creds] = s
  end
  return s
end

-- The secrets each client last signed with, for errors raised before a
-- call has credentials (a parameter can echo anything).  Aside, not in the
-- client table, so printing a client shows none.
local last_secrets = setmetatable({}, { __mode = "k" })

-- What dry_run shows: the exact request, with every secret redacted.
local function redacted(self, signed, creds)
  local secrets = secrets_of(creds)
  local headers = {}
  for k, v in pairs(signed.headers) do
    headers[k] = errors.redact(v, secrets)
  end
  if headers.authorization then
    headers.authorization = headers.authorization:gsub("Signature=%x+", "Signature=<redacted>")
  end
  local url = self.protocol .. "://" .. signed.headers.host .. signed.target
  url = errors.redact(url, secrets):gsub("([?&]Signature=)[^&]*", "%1<redacted>")
  return {
    method = signed.method, url = url, headers = headers,
    body = errors.redact(signed.body, secrets),
  }
end

-- Make SignatureDoesNotMatch actionable; compare strings to sign only in debug.
local function explain_signature(self, err, string_to_sign, raw)
  err.message = "the service computed a different signature: the access key secret "
    .. "is most likely wrong (check for a changed or mistyped secret)"
  if self.debug and raw and raw.Message then
    local theirs = tostring(raw.Message):match("server string to sign is:(.*)$")
    if theirs then
      -- Redacted with every other field, in client:call.
      local same = theirs == string_to_sign
      err.message = err.message .. (same and "; the strings to sign match, so the secret differs"
        or "; the strings to sign differ: client " .. tostring(string_to_sign) .. " server " .. theirs)
    end
  end
  return err
end

-- Providers check a credential once, when it arrives: nothing per call here.
-- An attempt: dry_run as the call asked, the seconds it may take.
local function send(self, req, dry_run, connect_timeout, timeout)
  local ok, creds = self.credentials.get()
  if not ok then return nil, creds end
  req.secrets = secrets_of(creds) -- what client:call redacts from errors
  if last_secrets[self] ~= req.secrets then last_secrets[self] = req.secrets end
  local signed, err = sign(self, req, creds)
  if not signed then return nil, err end
  if dry_run then return redacted(self, signed, creds), nil, true end
  req.sent = req.sent + 1
  -- The signed table becomes the transport's request, with exactly the
  -- contract's fields (dts.transport): core.sign left room for the three
  -- added, so no table is made or grown here.  The string to sign (debug
  -- only) is kept aside for explain_signature.
  local string_to_sign = signed.string_to_sign
  signed.url = self.protocol .. "://" .. req.host .. signed.target
  signed.target, signed.signature, signed.string_to_sign, signed.canonical_request = nil, nil, nil, nil
  signed.connect_timeout = math.min(connect_timeout, timeout)
  signed.timeout = timeout
  local res
  res, err = self.transport:request(signed)
  if not res then
    if not errors.is(err) then -- a caller's transport object said something else
      err = errors.new("network", { message = "transport: " .. describe(err) })
    end
    -- Refused connections and TLS handshakes send nothing; whatever else
    -- failed may have reached the service.
    if err.request_sent ~= false and err.kind ~= "tls" then
      req.went_out, req.unanswered = req.went_out + 1, true
    end
    err.request_sent = nil
    return nil, err
  end
  req.went_out = req.went_out + 1
  if type(res) ~= "table" or type(res.status) ~= "number" or type(res.body) ~= "string" then
    req.unanswered = true
    return nil, errors.new("protocol", { message = "transport: an answer without a "
      .. "numeric status and a string body" })
  end
  local body
  body, err = decode(res)
  if not body then
    -- A broken answer or a 5xx does not say whether the change was made;
    -- a used nonce says an earlier copy of this very request arrived
    -- (libcurl resends a request whose kept-alive connection died).
    if err.kind == "protocol" or (err.http_status or 0) >= 500
        or err.bare_code == "SignatureNonceUsed" then
      req.unanswered = true
    end
    if err.bare_code == "SignatureDoesNotMatch" then
      explain_signature(self, err, string_to_sign, json.decode(res.body))
    end
    return nil, err
  end
  return body
end

-- call(action, params, opts) -> decoded answer | nil, err
-- opts: dry_run, wait_modifying (seconds), timeout, connect_timeout
-- Call options.  dry_run and wait_modifying may also ride in the parameter
-- table: no API parameter (nor its alias) is spelled so.
local CALL_OPTIONS = { dry_run = "boolean", wait_modifying = "number",
  timeout = "number", connect_timeout = "number" }
local IN_PARAMS = { dry_run = true, wait_modifying = true }

-- The checked options of a call that passes none, kept per client (read
-- only): most calls pass none.
local no_options = setmetatable({}, { __mode = "k" })

-- -> options, params | nil, err.  Both tables are read raw.
local function call_options(self, params, opts)
  local none = opts == nil and (type(params) ~= "table" or (rawget(params, "dry_run") == nil
      and rawget(params, "wait_modifying") == nil))
  if none then
    local o = no_options[self]
    if o and o.wait_modifying == self.wait_modifying then return o, params end
  end
  if opts ~= nil and type(opts) ~= "table" then
    return nil, errors.invalid(nil, "call options: expected a table (dry_run, "
      .. "wait_modifying, timeout, connect_timeout), got %s", type(opts))
  end
  local o = opts and raw_copy(opts) or {}
  if type(params) == "table" and (rawget(params, "dry_run") ~= nil
      or rawget(params, "wait_modifying") ~= nil) then
    local rest = {}
    for k, v in next, params do
      if not IN_PARAMS[k] then
        rest[k] = v
      elseif o[k] == nil then
        o[k] = v
      end
    end
    params = rest
  end
  if o.wait_modifying == nil then o.wait_modifying = self.wait_modifying end
  for k, v in pairs(o) do
    if not CALL_OPTIONS[k] then
      return nil, errors.invalid(key_name(k),
        "not a call option (dry_run, wait_modifying, timeout, connect_timeout)")
    end
    if type(v) ~= CALL_OPTIONS[k] then
      return nil, errors.invalid(k, "expected a %s, got %s", CALL_OPTIONS[k], type(v))
    end
  end
  local ok, err = check_seconds(o)
  if not ok then return nil, err end
  if none then no_options[self] = o end
  return o, params
end

-- After a change went out, its error says so (design.md): submitted, the
-- ClientToken it went out with, and the outcome ("unknown" when an
-- attempt got no usable answer: it may have been applied).
local function submitted(req, err)
  if req.def.by_name.ClientToken and req.went_out > 0 then
    err.submitted = true
    err.client_token = req.query.ClientToken
    err.outcome = req.unanswered and "unknown" or "refused"
  end
  return err
end

-- An STS token the service calls expired: the provider drops it (when it
-- can fetch another), and the call is signed again and sent at once, once,
-- under the same ClientToken (issue 12).  A second refusal is the error.
local function expired_token(self, req, err)
  if req.refreshed or err.bare_code ~= "InvalidSecurityToken.Expired" then return false end
  local invalidate = self.credentials.invalidate
  if not invalidate or not invalidate() then return false end
  req.refreshed = true
  return true
end

-- The method a dotted call meant, e.g. ModifyDtsJob -> modify_dts_job.
local function method_name(action)
  return (tostring(action):gsub("(%l)(%u)", "%1_%2"):lower())
end

--- Calls an action of @{dts.schema} by name: what `modify_dts_job` and
-- `describe_dts_job_detail` do, returning the decoded answer as it came.
-- Parameters are validated against the action's schema (names or aliases),
-- `RegionId` defaults to the client's region, a missing `ClientToken` is
-- generated.  Retries what is worth retrying (throttling, 5xx, network,
-- timeouts) under one deadline; an STS token the service calls expired is
-- refreshed and the call sent once more under the same `ClientToken`.
-- @tparam string action `"ModifyDtsJob"` or `"DescribeDtsJobDetail"`
-- @tparam table params the parameters
-- @tparam[opt] table opts call options, as for @{client:modify_dts_job}
-- @treturn table the decoded JSON answer (with `dry_run`: the request)
-- @treturn nil
-- @treturn boolean true for a dry run
-- @return[2] nil
-- @treturn[2] dts.errors err; `attempts` counts the requests that went out
--
-- The call's deadline (design.md, "a timeout bounds the whole call"):
-- `timeout` seconds for everything, retries and back-off included, or
-- `wait_modifying` seconds when that is later (a Modifying job is waited
-- out only that long).  No attempt is given more than `timeout` nor more
-- than what is left, and none starts without enough time left to finish.
function client:call(action, params, opts)
  if getmetatable(self) ~= client then
    local name = method_name(action)
    return nil, errors.invalid(nil, "call client:%s{...} with a colon: client.%s{...} passes "
      .. "no client", name, name)
  end
  local def = schema[action]
  local err
  opts, params = call_options(self, params, opts)
  if not opts then
    params.attempts = 0
    return nil, errors.redact_fields(params, last_secrets[self])
  end
  local req
  req, err = prepare(self, def, params)
  if not req then
    err.attempts = 0
    return nil, errors.redact_fields(err, last_secrets[self])
  end
  local policy = self.retries
  local timeout = opts.timeout or self.timeout or DEFAULT_TIMEOUT
  local wait = opts.wait_modifying
  -- The clock is read once per call (a dry run sends nothing and needs none).
  local start = opts.dry_run and 0 or clock.now()
  local deadline = start + math.max(timeout, wait or 0)
  local connect_timeout = opts.connect_timeout or self.connect_timeout or DEFAULT_CONNECT_TIMEOUT
  local attempt = 0
  while true do
    attempt = attempt + 1
    local body, dry
    body, err, dry = send(self, req, opts.dry_run, connect_timeout,
      attempt == 1 and timeout or math.min(timeout, deadline - clock.now()))
    if body then return body, nil, dry end
    -- The one path every error of a call takes once credentials are known:
    -- every string field (server text, transport messages, debug text, and
    -- fields added later) loses every form of the secret and the token.
    errors.redact_fields(err, req.secrets)
    err.attempts = req.sent -- requests that went out: 0 when nothing was sent
    local modifying = wait and retry.is_modifying(err) and clock.now() < start + wait
    local again = modifying or (retry.retryable(err) and attempt < policy.max_attempts)
    local refreshed = not again and expired_token(self, req, err)
    if refreshed then again = true end
    if not again then return nil, submitted(req, err) end
    local delay = refreshed and 0 or retry.delay(policy, math.min(attempt, 10))
    if modifying then delay = math.max(delay, policy.base_delay) end
    if deadline - clock.now() - delay < retry.min_attempt(timeout) then
      return nil, submitted(req, err)
    end
    self.transport:sleep(delay, err)
  end
end

local function result(body)
  return {
    request_id = body.RequestId,
    dts_job_id = body.DtsJobId,
    status = body.Status,
    success = true,
    raw = body,
  }
end

--- ModifyDtsJob: changes a job's objects (`DbList`) or reserved settings.
-- **`DbList` replaces the job's whole object list**: send every object that
-- should stay, or use @{client:add_objects}, which reads, merges and confirms.
--
-- Parameters, by their API name or snake_case alias (@{dts.schema}): `RegionId`,
-- `DtsInstanceId` (required), `DtsJobId`, `SynchronizationDirection`,
-- `ClientToken`, `DbList`, `EtlOperatorColumnReference`, `ModifyTypeEnum`,
-- `Reserved`, `FileOssUrl`, `FilterTableName`, `StructureInitialization`,
-- `DataInitialization`, `DataSynchronization`, `ZeroEtlJob`, `ResourceGroupId`.
-- `DbList`, `Reserved` and `EtlOperatorColumnReference` take a Lua table or
-- JSON text; `DbList` must follow the DbList grammar and stay within 1 MB.
-- @tparam table params the parameters; `dry_run` and `wait_modifying` may ride here too
-- @tparam[opt] table opts call options:
-- @tparam[opt=false] boolean opts.dry_run return the exact request instead of
--   sending it: `{ method, url, headers, body }`, with the secret, the STS
--   token and the signature redacted
-- @tparam number opts.wait_modifying seconds to keep retrying while the
--   service answers `OperationDenied.JobStatusModifying` (default: the
--   client's `wait_modifying`, else none)
-- @tparam number opts.timeout this call's whole deadline, in seconds (default: the client's)
-- @tparam number opts.connect_timeout each attempt's connection, in seconds (default: the client's)
-- @treturn table `{ request_id, dts_job_id, status, success = true, raw }`
--   (`raw`: the decoded answer); with `dry_run`, the request
-- @return[2] nil
-- @treturn[2] dts.errors err, any kind; after the request went out it has
--   `submitted = true`, `client_token` and `outcome` (`"refused"` or `"unknown"`)
-- @usage
-- local res, err = client:modify_dts_job{
--   DtsInstanceId = "dtsbi6e22ay2435ab", DtsJobId = "l3m1213ye7l4w5f",
--   DbList = { shop = { name = "shop", all = true } },
-- }
function client:modify_dts_job(params, opts)
  local body, err, dry = client.call(self, "ModifyDtsJob", params, opts)
  if not body then return nil, err end
  if dry then return body end
  return result(body)
end

-- DbObject and Reserved come as JSON text inside the JSON answer.
local function inner_json(text)
  if type(text) ~= "string" or text == "" then return nil end
  return (json.decode(text))
end

--- DescribeDtsJobDetail: a job's status, objects and reserved settings.
-- Parameters (@{dts.schema}): `RegionId`, `DtsJobId`, `DtsInstanceID`
-- (note the capital ID), `SynchronizationDirection`, `SyncSubJobHistory`,
-- `ZeroEtlJob`, `ResourceGroupId`, `DbObjectOutputType`.
-- Compare `status` case-insensitively: the service spells the running
-- state `synchronizing`.
-- @tparam table params the parameters
-- @tparam[opt] table opts call options, as for @{client:modify_dts_job}
-- @treturn table `{ request_id, dts_job_id, dts_instance_id, status,
--   db_object, db_object_text, reserved, success = true, raw }`: `db_object`
--   and `reserved` decoded from the JSON text the service embeds
--   (`db_object_text`, as it came; `db_object` when first read, which
--   `dts.json.encode` and, on Lua 5.2+, `pairs` do); with `dry_run`, the request
-- @return[2] nil
-- @treturn[2] dts.errors err
-- @usage
-- local job = assert(client:describe_dts_job_detail{ DtsJobId = "l3m1213ye7l4w5f" })
-- print(job.status, dts.dblist.new(job.db_object):names()[1])
function client:describe_dts_job_detail(params, opts)
  local body, err, dry = client.call(self, "DescribeDtsJobDetail", params, opts)
  if not body then return nil, err end
  if dry then return body end
  local job = result(body)
  job.dts_instance_id = body.DtsInstanceID or body.DtsInstanceId
  job.db_object_text = body.DbObject
  job.reserved = inner_json(body.Reserved)
  -- Decoded when first read: a poll (wait_idle) only reads the status.
  return json.lazy(job, "db_object", function() return inner_json(body.DbObject) end)
end

-- Workflows (lua/dts/workflows/): safe object changes on running jobs.
-- Each checks its options as dts.new does (unknown names with a "did you
-- mean", types, nothing sent); API parameters take the same names and
-- aliases as modify_dts_job.  Their option tables are generated from
-- lua/dts/workflows/options.lua.

--- Waits until a job accepts changes again: polls DescribeDtsJobDetail
-- every `interval` seconds until the job runs (`synchronizing`), seen
-- twice in a row (statuses flap while a job sets up), so a wait takes at
-- least one `interval`.  `timeout` bounds the wait: no poll starts that
-- would end after it.
--
-- **Options** (declared in lua/dts/workflows/options.lua; API names or aliases):
--
-- <!-- include options-wait_idle.md -->
-- @tparam table opts the options above
-- @treturn table the job, as @{client:describe_dts_job_detail} returns it
-- @return[2] nil
-- @treturn[2] dts.errors err: kind `api` with code `JobStatus.<status>` for a
--   terminal status (`Failed`, `PrecheckFailed`, `InitializeFailed`,
--   `MigrationFailed`, `Finished`), ending the wait at once; kind `timeout`
--   at the deadline; `interrupted` on SIGINT/SIGTERM when the transport traps
--   them; an error of a describe call as it came
-- @usage
-- local job, err = client:wait_idle{ DtsJobId = "l3m1213ye7l4w5f", interval = 2, timeout = 120,
--   on_status = function(status) print("job is", status) end }
function client:wait_idle(opts) return require("dts.workflows.wait").idle(self, opts) end

--- Adds objects to a running job, safely.  Reads the job's `DbObject`,
-- checks that `DtsInstanceId` owns the job and that the direction exists
-- (a two-way job needs `SynchronizationDirection`), waits while it is
-- `Modifying`, merges, and sends the complete list under one `ClientToken`;
-- then waits until the job settles and reads it back to confirm.
--
-- Objects already there are not sent twice; a table of a database the job
-- takes whole is *covered* and left as it is.  A plan that would remove or
-- change an object is refused, except widening (`widen = true`: `"shop"`
-- for a database the job takes in part makes it whole) and narrowing
-- (`narrow = true`: `"shop.orders"` for a database taken whole makes it
-- that table only).  `remove` goes first, in a submission of its own
-- (ClientToken `<token>-r`).
--
-- Time: `timeout` bounds each wait on its own: the wait while the job is
-- `Modifying` before the change, the submission's retries while the
-- service still answers `JobStatusModifying`, and the wait after the
-- change; `interval` is the pause between two status checks.
--
-- **Options** (declared in lua/dts/workflows/options.lua; API names or aliases):
--
-- <!-- include options-add_objects.md -->
-- @tparam table opts the options above
-- @treturn table `{ plan, text, applied, request_id, client_token, job, removal }`:
--
-- * `plan = { added, removed, changed, present, covered, widened, narrowed,
--   initialize, bytes }`: lists of object names (`"db"` or `"db.table"`);
--   `present`: asked for and already there; `bytes`: the size of the DbList sent
-- * `text`: the plan in words (`add: ..., remove: nothing, already there: ...`)
-- * `applied`: false when there was nothing to send (then no `request_id`)
-- * `job`: the job as read back; `removal`: the result of `remove`, if given
-- * with `dry_run = true`: `{ dry_run = true, plan, text, request, client_token,
--   applied = false }`, `request` the exact signed request, secrets redacted
-- @return[2] nil
-- @treturn[2] dts.errors err: `invalid_argument` (bad options, a refused plan:
--   nothing sent); a failure before the submission says "nothing was sent";
--   after it, `submitted`, `client_token`, `request_id` and `outcome`
--   (`"unknown"`, `"refused"`, or `"accepted"` with kind `unconfirmed`, code
--   `NotConfirmed`); kind `api` with code `JobStatus.<status>` when the job
--   is not running, or fails after the change
-- @usage
-- local res, err = client:add_objects{
--   DtsJobId = "l3m1213ye7l4w5f", DtsInstanceId = "dtsbi6e22ay2435ab",
--   objects = { "shop.orders", "audit" }, initialize = true,
-- }
-- if not res then error(tostring(err)) end  -- err.submitted, err.outcome
-- print(res.text)
function client:add_objects(opts) return require("dts.workflows.objects").add(self, opts) end

--- Removes objects from a running job, safely: the same checks, plan,
-- submission and confirmation as @{client:add_objects}.  Removing every
-- object of a job is refused.
--
-- **Options** (declared in lua/dts/workflows/options.lua; API names or aliases):
--
-- <!-- include options-remove_objects.md -->
-- @tparam table opts the options above
-- @treturn table as for @{client:add_objects}
-- @return[2] nil
-- @treturn[2] dts.errors err, as for @{client:add_objects}
-- @usage
-- assert(client:remove_objects{ DtsJobId = "l3m1213ye7l4w5f",
--   DtsInstanceId = "dtsbi6e22ay2435ab", objects = { "shop.tmp_import" } })
function client:remove_objects(opts) return require("dts.workflows.objects").remove(self, opts) end

--- Adds many objects in cumulative batches: batch *k* sends everything so
-- far plus the next `batch_size` objects (as @{client:add_objects} does,
-- from the job's own `DbObject`), each after the previous one settled and
-- was confirmed, with ClientToken `<token>-b<k>`.  The checkpoint (written
-- before the first batch and after every confirmed one: aside, every write
-- checked, fsynced, renamed, directory fsynced) records the job, the object
-- list, the batch size, the token and how far it got: a run that stops
-- resumes there, applying nothing twice and losing nothing.  A checkpoint of
-- another job, list, batch size or token is refused.
--
-- A run stops cleanly between two steps when `on_progress` returns `false`,
-- or on SIGINT/SIGTERM when the transport traps them (as the `dts` command
-- does): an `interrupted` error.  Every error of a run says where it stood.
--
-- **Options** (declared in lua/dts/workflows/options.lua; API names or aliases):
--
-- <!-- include options-add_objects_in_batches.md -->
-- @tparam table opts the options above
-- @treturn table `{ total, done, batches, run_batches, resumed_at, added,
--   present, client_token }`: `total` objects of the list, `done` confirmed;
--   `batches` counts every batch of the job (earlier runs included),
--   `run_batches` and `added` / `present` (object names) this run only,
--   `resumed_at` the batch a resumed run started from (nil for a fresh run);
--   `client_token` the run's token.  With `dry_run = true`: `{ dry_run =
--   true, applied = false, total, done, batches, client_token, plan = { {
--   batch, objects, added, present, covered, widened, narrowed, bytes,
--   initialize, done, client_token, text }, ... } }`, the plan of every batch
--   still to go
-- @return[2] nil
-- @treturn[2] dts.errors err with `batch` (the batch under way, or the last
--   one confirmed when the run stopped between two), `batches`, `done` and
--   `total` (objects confirmed); when that batch sent a change, `submitted`,
--   `client_token`, `request_id` and `outcome` (`"confirmed"` for a batch
--   done, else as for @{client:add_objects}); kind `interrupted` with `signal`
--   (`"SIGINT"`, `"SIGTERM"`; none for `on_progress`)
-- @usage
-- local res, err = client:add_objects_in_batches{
--   DtsJobId = "l3m1213ye7l4w5f", DtsInstanceId = "dtsbi6e22ay2435ab",
--   objects = tables, batch_size = 200, checkpoint = "run.json",
--   on_progress = function(p) print(("batch %d/%d: %d of %d"):format(p.batch, p.batches, p.done, p.total)) end,
-- }
function client:add_objects_in_batches(opts) return require("dts.workflows.batches")(self, opts) end

--- Releases the transport's connection (`dts.curl`'s libcurl handle); the
-- garbage collector does it too.  Idempotent.  Do not call the client
-- afterwards: with the curl transport a call then raises ("client is
-- closed"), a misuse rather than a failure.
function client:close()
  if self.transport.close then self.transport:close() end
end

client.VERSION = VERSION

return client
