-- A local DTS endpoint (issue 4): the real protocol over HTTPS on
-- 127.0.0.1, in a throw-away nginx (dts.nginx) running dts.emulator.server.
--
--   local emulator = require "dts.emulator"
--   local em = assert(emulator.start{ modifying_seconds = 0.5 })
--   -- sign for em.endpoint ("localhost:PORT") with em.access_key_id and
--   -- em.access_key_secret, send to em.url trusting em.ca_file
--   em.requests()   -- the request log, decoded
--   em.stop()
--
-- Options (all optional):
--   port                  default: a free one
--   http = false          plain HTTP instead of HTTPS
--   access_key_id, access_key_secret   default: the fixed test pair below
--   security_token        an STS token every request must carry
--   expired_token = false answer InvalidSecurityToken.Expired to that token
--   state                 jobs to start from: a JSON file name or a table
--                         ({ jobs = {...} }, see dts.emulator.state); default
--                         one demo job
--   modifying_seconds = 2 how long a job stays Modifying after a change
--   business_errors = "http" | "success_false" | "success_false_string"
--   dts_msg_prefix = false   business error codes as "DTS.Msg.<code>"
--   faults                rules, see dts.emulator.faults
--   time_window = 900     seconds a timestamp may be off, and a nonce kept
--   detach = false        outlive this process (dts.nginx); stop it with
--                         stop() or kill -TERM watchdog_pid
--
-- It also serves every credential source a client may use (issue 12): STS
-- AssumeRole and AssumeRoleWithOIDC on the same endpoint (HTTPS), instance
-- metadata and a credentials URI over plain HTTP on a second port
-- (dts.emulator.sts, dts.emulator.metadata).  What they hand out, its DTS
-- side accepts until it expires (dts.emulator.issuer).  Options:
--   lifetime              seconds a handed-out credential lives (default:
--                         STS's DurationSeconds, else 3600)
--   first_lifetime        the first one of each source lives this long
--                         (a short one makes a client refresh soon; <= 0:
--                         already expired)
--   role_name             the instance's RAM role (default EmulatorEcsRole)
--   oidc_token            the OIDC token STS accepts (default the test one,
--                         also written to handle.oidc_token_file)
--   metadata_mode = "both" | "v2_only" | "v1_only"
--   metadata_port         default: a free one
--
-- The handle: url, endpoint, host, port, address, ca_file (nil with http),
-- access_key_id, access_key_secret, security_token, root (the temporary
-- directory: the CA certificate, and nginx's private prefix), prefix,
-- log_file, watchdog_pid, stop(), requests(), clear_log(),
-- set_faults(rules), state(), error_log(); and for credentials:
-- sts_endpoint (= endpoint, nil with http), metadata_endpoint
-- ("http://127.0.0.1:PORT"), credentials_uri, role_name, role_arn,
-- oidc_provider_arn, oidc_token_file, credentials_env() (the variables
-- pointing each source at the emulator, as { name, value }).

local cjson = require "cjson.safe"
local nginx = require "dts.nginx"
local faults = require "dts.emulator.faults"
local log = require "dts.emulator.log"
local state = require "dts.emulator.state"
local sys = require "dts.sys"
local verify = require "dts.emulator.verify"

local read_file, write_file = sys.read_file, sys.write_file

local emulator = {}

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
      return nil, "dts.emulator: unknown option " .. tostring(k)
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
    -- A new port on each of dts.nginx's attempts, like the main one.
    http = function(s)
      s.metadata_port = opts.metadata_port or nginx.random_port()
      return METADATA_SERVER:format(s.metadata_port)
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

  -- What points each credential source of a client's chain at this
  -- emulator (STS needs HTTPS: without it, no STS endpoint).
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

  function em.requests()
    return log.read(em.log_file)
  end

  function em.clear_log()
    local f = io.open(em.log_file, "w")
    if f then
      f:close()
    end
  end

  -- The jobs as the server last saved them (before any call: the seed).
  -- Status is the job's own; it is Modifying while modifying_until (an
  -- epoch time in seconds) is ahead.
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

return emulator
