--- A local DTS endpoint: the real protocol over HTTPS on
-- 127.0.0.1, in a throw-away nginx (dts.nginx) running dts.emulator.server,
-- for tests and for trying scripts offline (`dts emulator`, see the dts
-- command).  It verifies both signature schemes, the timestamp window,
-- nonce reuse and STS tokens, keeps per-job state, keeps a job `Modifying`
-- for a while after each change, replays a `ClientToken`'s first answer,
-- and answers with the service's real error codes and body shapes.
--
-- It also serves every credential source a client may use: STS
-- AssumeRole and AssumeRoleWithOIDC on the same endpoint (HTTPS), instance
-- metadata and a credentials URI over plain HTTP on a second port.  What
-- they hand out, its DTS side accepts until it expires.
--
-- **The state format** (`opts.state`, `dts emulator --state FILE`):
--
--     { "jobs": [ { "DtsJobId": "j1", "DtsInstanceId": "i1",
--                   "Status": "synchronizing",
--                   "DbObject": { "shop": { "name": "shop", "all": true } },
--                   "Reserved": { "maxRetryTime": "43200" },
--                   "SynchronizationDirection": "Forward",
--                   "MigrationMode": { "DataInitialization": true },
--                   "status_sequence": [ "Prechecking", "Initializing", "synchronizing" ],
--                   "modifying_seconds": 5 } ] }
--
-- * `jobs`: a non-empty list; each `DtsJobId` once.
-- * `DtsJobId`, `DtsInstanceId` (or `DtsInstanceID`): required, non-empty.
-- * `Status`: any status DescribeDtsJobDetail shows (@{dts.codes} lists
--   them), in any case; default the first of `status_sequence`, else
--   `synchronizing`.  `Modifying` starts a running job inside a change
--   window that begins at start.
-- * `DbObject`, `Reserved`: objects, or JSON text (as a captured
--   DescribeDtsJobDetail answer has them).  ModifyDtsJob's `DbList`
--   replaces `DbObject`; its `Reserved` is merged into `Reserved`.
-- * `SynchronizationDirection`: `"Forward"` (default) or `"Reverse"`; a
--   two-way instance has one job per direction.
-- * `MigrationMode`: `StructureInitialization`, `DataInitialization`,
--   `DataSynchronization`, booleans (default true), echoed back.
-- * `status_sequence`: the statuses successive describes show, one step
--   per DescribeDtsJobDetail, the last one staying (a change window shows
--   `Modifying` and holds the sequence).
-- * `modifying_seconds`: this job's change window (>= 0), instead of the
--   emulator's.
--
-- **Fault rules** (`opts.faults`, `handle.set_faults`):
--
-- A list of rules `{ kind, every = N (every N-th matching request, default
-- 1), times = N (at most N times), action = NAME (only this action),
-- after_apply = true (run the request first, then break the answer: the
-- change is applied and the answer lost), seconds = S (delay), status =
-- HTTP status (truncate, garbage; default 200) }`.  Kinds: `throttle`,
-- `error`, `delay`, `drop`, `truncate`, `garbage`, and for the credential
-- sources `expired_token` (DTS answers `InvalidSecurityToken.Expired`),
-- `no_permission` (STS answers 403 `NoPermission`), `failure_code`
-- (metadata and the credentials URI answer `Code` `"Failure"`),
-- `bad_expiration` (a credential's `Expiration` is not a time).  Actions:
-- `ModifyDtsJob`, `DescribeDtsJobDetail`, and `AssumeRole`,
-- `AssumeRoleWithOIDC`, `MetadataToken`, `MetadataRoleName`,
-- `MetadataCredentials`, `CredentialsURI`.  A rule without `action` strikes
-- DTS requests only, except the credential kinds, which strike where they
-- mean something.  The short form of the `dts emulator` flags is accepted
-- too: `{ throttle_every = N, error_every = N, delay = S, delay_every = N,
-- drop_every = N, truncate_every = N, garbage_every = N,
-- expired_token_every = N, no_permission_every = N, failure_code_every = N,
-- bad_expiration_every = N, after_apply = bool, action = NAME, times = N }`.
-- @module dts.emulator

--- What `start` returns: a running emulator.
-- @field url `"https://127.0.0.1:PORT"` (`http://` with `opts.http`)
-- @field endpoint `"localhost:PORT"`, for `dts.new{ endpoint = ... }`
-- @field host `"localhost"`, the name its certificate is for
-- @field port its port
-- @field address `"127.0.0.1"`, where nginx listens
-- @field ca_file the CA certificate to trust (nil with `http`); readable by every user
-- @field access_key_id the key pair it accepts
-- @field access_key_secret
-- @field security_token the STS token it requires, if any
-- @field root the temporary directory (the CA certificate, and nginx's private prefix)
-- @field prefix nginx's prefix directory
-- @field log_file the request log (JSON lines)
-- @field watchdog_pid the process that stops nginx and cleans up when this one dies
-- @field sts_endpoint STS's `host:port` (= `endpoint`; nil with `http`)
-- @field metadata_endpoint `"http://127.0.0.1:PORT"`: instance metadata
-- @field credentials_uri the credentials URI (on the metadata port)
-- @field role_name the instance's RAM role
-- @field role_arn the role ARN of the OIDC test values
-- @field oidc_provider_arn the OIDC provider's ARN
-- @field oidc_token_file the file holding the OIDC token
-- @table handle


local cjson = require "cjson.safe"
local nginx = require "dts.nginx"
local faults = require "dts.emulator.faults"
local log = require "dts.emulator.log"
local state = require "dts.emulator.state"
local suggest = require "dts.suggest"
local sys = require "dts.sys"
local verify = require "dts.emulator.verify"

local read_file, write_file = sys.read_file, sys.write_file

local emulator = {}

--- The test key pair every emulator accepts unless given another: printed
-- by `dts emulator` and safe to show, as they open nothing but this.
-- @field TEST_ACCESS_KEY_ID `"LTAIemulatorTestKey"`
-- @field TEST_ACCESS_KEY_SECRET `"emulator-test-secret-not-real"`
-- @field TEST_ROLE_ARN the role ARN of a made-up account (OIDC)
-- @field TEST_OIDC_PROVIDER_ARN its OIDC provider's ARN
-- @field TEST_OIDC_TOKEN the OIDC token STS accepts by default
-- @field TEST_ROLE_NAME the instance's RAM role by default, `"EmulatorEcsRole"`
-- @table emulator

-- Printed by `dts emulator` and safe to show: they open nothing but this.
emulator.TEST_ACCESS_KEY_ID = "LTAIemulatorTestKey"
emulator.TEST_ACCESS_KEY_SECRET = "emulator-test-secret-not-real"

-- The credential sources' test values: a role ARN and OIDC provider ARN
-- of a made-up account, a token STS accepts.
emulator.TEST_ROLE_ARN = "acs:ram::1234567890123456:role/emulator-role"
emulator.TEST_OIDC_PROVIDER_ARN = "acs:ram::1234567890123456:oidc-provider/emulator"
emulator.TEST_OIDC_TOKEN = "emulator-oidc-token-not-real"
emulator.TEST_ROLE_NAME = "EmulatorEcsRole"

local BUSINESS_MODES = { http = true, success_false = true, success_false_string = true }
local METADATA_MODES = { both = true, v2_only = true, v1_only = true }

-- What nginx refuses by itself (a body over 8 MB, a header line over 16 KB,
-- a request line it cannot read) is answered by dts.emulator.server.refused
-- in the gateway's error shape, never with nginx's HTML page.
local REFUSED = { 400, 404, 405, 408, 411, 413, 414, 494, 501, 505 }

-- (A URI, not a named location: nginx refuses a bad request line before
-- it has a URI, and cannot go to a named location from there.)
local SERVER = [[
    client_body_buffer_size 8m;
    client_max_body_size 8m;
    large_client_header_buffers 4 16k;
    location / {
      content_by_lua_block { require("dts.emulator.server").handle() }
    }
    location ^~ /.dts-refused/ {
      internal;
      content_by_lua_block { require("dts.emulator.server").refused() }
    }
]]
for _, status in ipairs(REFUSED) do
  SERVER = SERVER .. ("    error_page %d = /.dts-refused/%d;\n"):format(status, status)
end

-- Instance metadata and the credentials URI: plain HTTP, another port.
local METADATA_SERVER = [[
  server {
    listen 127.0.0.1:%d;
    server_name localhost;
    location / {
      content_by_lua_block { require("dts.emulator.server").handle("metadata") }
    }
  }
]]

local function check_options(opts)
  local types = {
    port = "number", http = "boolean", access_key_id = "string",
    access_key_secret = "string", security_token = "string", expired_token = "boolean",
    modifying_seconds = "number", business_errors = "string", dts_msg_prefix = "boolean",
    faults = "table", time_window = "number", detach = "boolean",
    lifetime = "number", first_lifetime = "number", role_name = "string",
    oidc_token = "string", metadata_mode = "string", metadata_port = "number",
  }
  for k, v in pairs(opts) do
    if k ~= "state" and not types[k] then
      local names = { "state" }
      for name in pairs(types) do names[#names + 1] = name end
      table.sort(names)
      local hint = type(k) == "string" and suggest(k, names)
      return nil, "dts.emulator: unknown option " .. tostring(k)
        .. (hint and ("; did you mean " .. hint .. "?") or "")
    end
    if types[k] and type(v) ~= types[k] then
      return nil, "dts.emulator: option " .. k .. ": expected a " .. types[k]
    end
  end
  if opts.business_errors and not BUSINESS_MODES[opts.business_errors] then
    return nil, 'dts.emulator: option business_errors: expected "http", '
      .. '"success_false" or "success_false_string"'
  end
  if opts.modifying_seconds and opts.modifying_seconds < 0 then
    return nil, "dts.emulator: option modifying_seconds: must be >= 0"
  end
  if opts.metadata_mode and not METADATA_MODES[opts.metadata_mode] then
    return nil, 'dts.emulator: option metadata_mode: expected "both", "v2_only" or "v1_only"'
  end
  if opts.metadata_port and opts.metadata_port == opts.port then
    return nil, "dts.emulator: option metadata_port: must differ from port"
  end
  if opts.lifetime and (opts.lifetime ~= opts.lifetime or opts.lifetime < 1) then
    return nil, "dts.emulator: option lifetime: must be >= 1"
  end
  if opts.role_name and not opts.role_name:match("^[%w%.@_%-]+$") then
    return nil, "dts.emulator: option role_name: letters, digits and . @ _ - only"
  end
  if opts.oidc_token and (#opts.oidc_token < 4 or #opts.oidc_token > 20000) then
    return nil, "dts.emulator: option oidc_token: 4 to 20000 characters"
  end
  if (opts.access_key_id == nil) ~= (opts.access_key_secret == nil) then
    return nil, "dts.emulator: give access_key_id and access_key_secret together"
  end
  -- What the checks of dts.emulator.verify could never match would make
  -- every request fail: refuse it here instead (issue 11 item 12).
  if opts.security_token and not opts.security_token:match(verify.TOKEN_CHARS) then
    return nil, "dts.emulator: option security_token: an STS token holds only letters, "
      .. "digits and + / = - . _ (anything else is refused as malformed)"
  end
  if opts.access_key_id and not opts.access_key_id:match(verify.KEY_ID_CHARS) then
    return nil, "dts.emulator: option access_key_id: only letters, digits and - . _ are allowed"
  end
  if opts.access_key_secret == "" then
    return nil, "dts.emulator: option access_key_secret: must not be empty"
  end
  return true
end

-- The seed as JSON text, checked here so a bad state file is the caller's
-- error and not a failing server.
local function seed_text(spec, modifying_seconds)
  local text = spec
  if type(spec) == "string" then
    local err
    text, err = read_file(spec)
    if not text then
      return nil, "dts.emulator: state file: " .. tostring(err)
    end
  elseif type(spec) == "table" then
    text = cjson.encode(spec)
    if not text then
      return nil, "dts.emulator: state: cannot be encoded as JSON"
    end
  elseif spec ~= nil then
    return nil, "dts.emulator: option state: expected a file name or a table"
  end
  -- A job seeded as Modifying starts its change window now.
  local model, err = state.new(text, { now = os.time(), modifying_seconds = modifying_seconds })
  if not model then
    return nil, "dts.emulator: " .. err
  end
  return cjson.encode(model:snapshot())
end

--- Starts an emulator: nginx on 127.0.0.1 in a temporary directory, with a
-- CA and certificate made at start.  A Lua process that dies without
-- `stop()` leaves nothing behind (a watchdog stops nginx and removes the
-- directory), unless `detach`.
-- @tparam[opt] table opts the options; all optional
-- @tparam number opts.port default: a free one
-- @tparam[opt=false] boolean opts.http plain HTTP instead of HTTPS (then no `ca_file`, no STS)
-- @tparam string opts.access_key_id the key pair requests must be signed
--   with, given together with `access_key_secret` (default: the test pair)
-- @tparam string opts.access_key_secret
-- @tparam string opts.security_token an STS token every request must carry
-- @tparam[opt=false] boolean opts.expired_token answer `InvalidSecurityToken.Expired` to that token
-- @param opts.state the jobs to start from: a JSON file name or a table in
--   the state format (below); default one demo job, `dtsdemojob00001` on
--   instance `dtsdemoinstance01`
-- @tparam[opt=2] number opts.modifying_seconds how long a job stays
--   `Modifying` after a change (>= 0)
-- @tparam[opt="http"] string opts.business_errors the shape of DTS business
--   errors: `"http"` (HTTP 4xx and `Code`), `"success_false"` (HTTP 200,
--   `Success: false`, `ErrCode`) or `"success_false_string"` (`Success: "false"`)
-- @tparam[opt=false] boolean opts.dts_msg_prefix business error codes as `DTS.Msg.<code>`
-- @tparam table opts.faults fault rules (below)
-- @tparam[opt=900] number opts.time_window seconds a timestamp may be off, and a nonce is kept
-- @tparam[opt=false] boolean opts.detach outlive this process; stop it with
--   `stop()` or `kill -TERM` of `watchdog_pid`
-- @tparam number opts.lifetime seconds a handed-out credential lives
--   (default: STS's `DurationSeconds`, else 3600)
-- @tparam number opts.first_lifetime the first credential of each source
--   lives this long (a short one makes a client refresh soon; <= 0: already expired)
-- @tparam[opt="EmulatorEcsRole"] string opts.role_name the instance's RAM role
-- @tparam string opts.oidc_token the OIDC token STS accepts (default the
--   test one, also written to `handle.oidc_token_file`)
-- @tparam[opt="both"] string opts.metadata_mode `"both"`, `"v2_only"` or `"v1_only"` (IMDS)
-- @tparam number opts.metadata_port default: a free one; never the same as `port`
-- @treturn handle the running emulator
-- @return[2] nil
-- @treturn[2] string what is wrong (`"dts.emulator: ..."`): an unknown
--   option, a bad value, a bad state file, nginx failing to start
-- @usage
-- local em = assert(require("dts.emulator").start{ modifying_seconds = 0.5,
--   state = { jobs = { { DtsJobId = "j1", DtsInstanceId = "i1" } } } })
-- local client = assert(dts.new{ region_id = "cn-hangzhou", endpoint = em.endpoint,
--   ca_file = em.ca_file, access_key_id = em.access_key_id,
--   access_key_secret = em.access_key_secret })
-- -- ...
-- em.stop()
function emulator.start(opts)
  opts = opts or {}
  local ok, err = check_options(opts)
  if not ok then
    return nil, err
  end
  local seed
  seed, err = seed_text(opts.state, opts.modifying_seconds or 2)
  if not seed then
    return nil, err
  end
  local rules
  rules, err = faults.normalize(opts.faults)
  if not rules then
    return nil, "dts.emulator: " .. err
  end
  local cpath
  cpath, err = nginx.luajit_cpath()
  if not cpath then
    return nil, err
  end
  local server
  server, err = nginx.start{
    tls = not opts.http, port = opts.port, lua_package_cpath = cpath, server = SERVER,
    -- A new port on each of dts.nginx's attempts, like the main one, and
    -- never the main one's: nginx would put both servers on one TLS socket
    -- and refuse the metadata server for its missing certificate.
    http = function(s)
      local port = opts.metadata_port
      while not port or port == s.port do port = nginx.random_port() end
      s.metadata_port = port
      return METADATA_SERVER:format(port)
    end,
    detach = opts.detach,
  }
  if not server then
    return nil, err
  end

  local prefix = server.prefix .. "/"
  local em = {
    url = server.url, endpoint = "localhost:" .. server.port,
    host = server.host, port = server.port, address = server.address,
    ca_file = server.ca_file, root = server.root, prefix = server.prefix,
    watchdog_pid = server.watchdog_pid,
    log_file = prefix .. "requests.jsonl",
    access_key_id = opts.access_key_id or emulator.TEST_ACCESS_KEY_ID,
    access_key_secret = opts.access_key_secret or emulator.TEST_ACCESS_KEY_SECRET,
    security_token = opts.security_token,
    stop = server.stop, error_log = server.error_log,
    sts_endpoint = not opts.http and ("localhost:" .. server.port) or nil,
    metadata_endpoint = "http://127.0.0.1:" .. server.metadata_port,
    role_name = opts.role_name or emulator.TEST_ROLE_NAME,
    role_arn = emulator.TEST_ROLE_ARN, oidc_provider_arn = emulator.TEST_OIDC_PROVIDER_ARN,
    oidc_token_file = prefix .. "oidc-token",
  }
  em.credentials_uri = em.metadata_endpoint .. "/credentials"

  --- The variables that point each credential source of a client's chain
  -- at this emulator: `ALIBABA_CLOUD_STS_ENDPOINT` (not with `http`),
  -- `DTS_METADATA_ENDPOINT`, `ALIBABA_CLOUD_CREDENTIALS_URI`,
  -- `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`,
  -- `ALIBABA_CLOUD_OIDC_TOKEN_FILE`.
  -- @function handle.credentials_env
  -- @treturn table `{ { name, value }, ... }`
  function em.credentials_env()
    local env = {}
    if em.sts_endpoint then
      env[#env + 1] = { "ALIBABA_CLOUD_STS_ENDPOINT", em.sts_endpoint }
    end
    env[#env + 1] = { "DTS_METADATA_ENDPOINT", em.metadata_endpoint }
    env[#env + 1] = { "ALIBABA_CLOUD_CREDENTIALS_URI", em.credentials_uri }
    env[#env + 1] = { "ALIBABA_CLOUD_ROLE_ARN", em.role_arn }
    env[#env + 1] = { "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", em.oidc_provider_arn }
    env[#env + 1] = { "ALIBABA_CLOUD_OIDC_TOKEN_FILE", em.oidc_token_file }
    return env
  end
  local generation = 0

  --- Replaces the fault rules (the counters restart, even for equal rules).
  -- @function handle.set_faults
  -- @tparam table spec rules or the short form (below); `{}` for none
  -- @treturn true
  -- @return[2] nil
  -- @treturn[2] string what is wrong
  function em.set_faults(spec)
    local r, ferr = faults.normalize(spec)
    if not r then
      return nil, "dts.emulator: " .. ferr
    end
    -- A new generation even for equal rules: counters restart on each call.
    generation = generation + 1
    return write_file(prefix .. "faults.json",
                      cjson.encode({ generation = generation, rules = r }))
  end

  --- The request log, oldest first, one entry per request: `time`,
  -- `request_id`, `action`, `method`, `scheme` (`"v1"`/`"v3"`), `verified`,
  -- `access_key_id`, `parameters`, `client_token`, `code` (`"OK"` or the
  -- error code), `http_status`, `applied`, `replayed`, `fault`,
  -- `connection` (nginx's serial), `error`.  Nothing secret: signatures and
  -- tokens are dropped, the secret redacted.
  -- @function handle.requests
  -- @treturn table
  function em.requests()
    return log.read(em.log_file)
  end

  --- Empties the request log.
  -- @function handle.clear_log
  function em.clear_log()
    local f = io.open(em.log_file, "w")
    if f then
      f:close()
    end
  end

  --- The jobs as the server last saved them (before any call: the seed),
  -- in the state format plus the emulator's own fields: `changes` (applied
  -- ModifyDtsJob calls), `modifying_until` (epoch seconds: the job is
  -- `Modifying` until then; `Status` is its own) and `step` (of its status
  -- sequence).
  -- @function handle.state
  -- @treturn table the list of jobs
  function em.state()
    local text = read_file(prefix .. "state.json") or seed
    return (cjson.decode(text) or {}).jobs
  end

  local cfg = cjson.encode({
    access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
    security_token = opts.security_token, expired_token = opts.expired_token or false,
    modifying_seconds = opts.modifying_seconds or 2,
    business_errors = opts.business_errors or "http",
    dts_msg_prefix = opts.dts_msg_prefix or false,
    time_window = opts.time_window or 900,
    lifetime = opts.lifetime, first_lifetime = opts.first_lifetime,
    role_name = em.role_name, oidc_token = opts.oidc_token or emulator.TEST_OIDC_TOKEN,
    metadata_mode = opts.metadata_mode or "both",
  })
  ok, err = write_file(prefix .. "emulator.json", cfg)
  if ok then
    ok, err = write_file(em.oidc_token_file, opts.oidc_token or emulator.TEST_OIDC_TOKEN)
  end
  if ok then
    ok, err = write_file(prefix .. "seed.json", seed)
  end
  if ok then
    ok, err = em.set_faults(rules)
  end
  if not ok then
    server.stop()
    return nil, "dts.emulator: " .. tostring(err)
  end
  return em
end

--- Stops nginx and removes the temporary directory, CA key included.
-- Idempotent.
-- @function handle.stop

--- nginx's error log, as text (also after `stop()`).
-- @function handle.error_log
-- @treturn string

return emulator
