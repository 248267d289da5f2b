--- Where a client's keys come from (docs/credentials.md has the
-- details).  A provider is anything with `get()` -> `true, creds` |
-- `nil, err`, `creds = { access_key_id, access_key_secret, security_token,
-- expiration }` (`expiration`: epoch seconds, nil for long-lived keys; the
-- success flag first, so a mis-assigned err can never hold a secret),
-- and optionally `invalidate()` (called when DTS calls its token expired;
-- returning false means "no other credential to fetch").  `get()` is
-- called without self; whatever a caller's provider returns or raises
-- comes back as an error value.
--
--     dts.new{ access_key_id = ..., access_key_secret = ... }    fixed keys
--     dts.new{ credentials = { type = "ram_role_arn", ... } }   one source, by type
--     dts.new{ credentials = provider }                         your own get()
--     dts.new{}                                                 the default chain
--
-- **The default chain**, in the official order: environment
-- (`ALIBABA_CLOUD_ACCESS_KEY_ID`, `_SECRET`, `_SECURITY_TOKEN`) -> OIDC
-- (`ALIBABA_CLOUD_ROLE_ARN`, `_OIDC_PROVIDER_ARN`, `_OIDC_TOKEN_FILE`) -> the
-- aliyun CLI profile (`~/.aliyun/config.json`) -> the INI file
-- (`~/.alibabacloud/credentials.ini` or `credentials`) -> instance metadata
-- (the ECS RAM role) -> `ALIBABA_CLOUD_CREDENTIALS_URI`.  The first that
-- gives a credential answers every later call alone; when none does, one
-- error (kind `credentials`, code `NoCredentials`, `err.sources`) says why for
-- each.  Session credentials are refreshed 15 minutes before they expire,
-- one refresh in flight; a failed refresh keeps the old credential while
-- it has more than 60 s left (`on_warning` says so).
--
-- **Explicit types**: `dts.new{ credentials = { type = ..., ... } }`
-- (unknown fields refused with a "did you mean"), generated from
-- `credentials.TYPES`:
--
-- <!-- include credential-types.md -->
--
-- Below, the module's functions, which the client and the `dts` command use.
-- @module dts.credentials
--
-- One small file per source: env, oidc, cli_profile, ini, ecs_ram_role,
-- uri, ram_role_arn (STS AssumeRole, sts.lua), static; chain.lua tries them
-- in the official order; refresh.lua is the cache every session source
-- shares (stale at Expiration - 15 min, one refresh in flight, the old
-- credential kept while it has more than a minute to live, failures to
-- on_warning).  The shape follows Kong/lua-resty-aws's credentials/.
--
-- Choices where the official libraries differ, and why (README
-- "Credentials" says the same to users):
-- * The INI file: credentials.ini (Python, Java), then credentials (Go):
--   a file either wrote is found.
-- * ALIBABA_CLOUD_CONFIG_FILE is read (Go does; Python and Java do not): it
--   is how a test, a container or a second account points at another file.
-- * ALIBABA_CLOUD_STS_ENDPOINT (only the aliyun CLI reads it) is honoured,
--   and DTS_METADATA_ENDPOINT is ours: no official library can be pointed
--   at a local STS or metadata service, and users test their chain offline.
-- * Refresh follows Python/Java (15 min, single flight), with a bounded
--   stale fallback instead of Go's hard failure at 3 min (refresh.lua).
-- * Sticky after success only (Python, Java), not Go's sticky-on-failure.
-- * Profile modes CloudSSO and OAuth are refused with advice; External is
--   not run (a command from a config file inside an nginx worker).
--
-- Every credential is checked once, when it arrives, never per call.

local chain = require "dts.credentials.chain"
local creds = require "dts.credentials.creds"
local errors = require "dts.errors"
local refresh = require "dts.credentials.refresh"
local static = require "dts.credentials.static"
local suggest = require "dts.suggest"

local credentials = {}

local S, N, B, F, T = "string", "number", "boolean", "function", "table"

-- The explicit providers: one declarative table that drives the checks of
-- dts.new{ credentials = {...} }, their "did you mean", and the README.
-- Each field: { type, required = true, doc }.
local SESSION = { clock = { F, doc = "a clock for tests: returns epoch seconds (default os.time, ngx.now in nginx)" } }

local STS_FIELDS = {
  role_session_name = { S, doc = 'session name, 2-64 of [A-Za-z0-9.@_-] (default "lua-dts-<unix time>")' },
  duration_seconds = { N, doc = "lifetime asked of STS, 900 or more (default 3600)" },
  policy = { S, doc = "a policy narrowing the role's permissions (JSON text)" },
  sts_endpoint = { S, doc = "STS host[:port] (see the sts_endpoint option)" },
  sts_region = { S, doc = "region of the STS endpoint: sts.<region>.aliyuncs.com" },
  enable_vpc = { B, doc = "sts-vpc.<region>.aliyuncs.com (default ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED)" },
}

local function fields(...)
  local out = {}
  for i = 1, select("#", ...) do
    for k, v in pairs((select(i, ...))) do out[k] = v end
  end
  return out
end

local TYPES = {
  access_key = {
    doc = "long-lived access key (AK)",
    fields = {
      access_key_id = { S, required = true, doc = "access key id" },
      access_key_secret = { S, required = true, doc = "access key secret" },
    },
    build = function(spec)
      return static.new(spec.access_key_id, spec.access_key_secret, nil,
        { source = "explicit", type = "access_key", mode = "AK" })
    end,
  },
  sts = {
    doc = "a fixed STS token, never refreshed (StsToken)",
    fields = {
      access_key_id = { S, required = true, doc = "STS access key id" },
      access_key_secret = { S, required = true, doc = "STS access key secret" },
      security_token = { S, required = true, doc = "STS token" },
    },
    build = function(spec)
      return static.new(spec.access_key_id, spec.access_key_secret, spec.security_token,
        { source = "explicit", type = "sts", mode = "StsToken" })
    end,
  },
  ram_role_arn = {
    doc = "a RAM role through STS AssumeRole (RamRoleArn; with source: ChainableRamRoleArn)",
    fields = fields(SESSION, STS_FIELDS, {
      access_key_id = { S, doc = "access key that signs AssumeRole (or source)" },
      access_key_secret = { S, doc = "its secret" },
      security_token = { S, doc = "its STS token, when it is an STS key" },
      source = { T, doc = "instead of the keys: another provider, or a { type = ... } table" },
      role_arn = { S, required = true, doc = "ARN of the role, acs:ram::<account>:role/<name>" },
      external_id = { S, doc = "ExternalId the role's trust policy asks for" },
    }),
    build = function(spec, ctx)
      if spec.source ~= nil then
        if spec.access_key_id or spec.access_key_secret or spec.security_token then
          return nil, errors.invalid("credentials.source", "give source or access_key_id/"
            .. "access_key_secret, not both")
        end
        local src, err = credentials.new(spec.source, ctx, "credentials.source")
        if not src then return nil, err end
        spec.source = src
      end
      return require("dts.credentials.ram_role_arn").new(spec, ctx,
        { source = "explicit", mode = spec.source and "ChainableRamRoleArn" or "RamRoleArn" })
    end,
  },
  ecs_ram_role = {
    doc = "the ECS instance's RAM role, over instance metadata (EcsRamRole)",
    fields = fields(SESSION, {
      role_name = { S, doc = "the role (default ALIBABA_CLOUD_ECS_METADATA, else asked of the metadata service)" },
      metadata_endpoint = { S, doc = "http://host[:port] (see the metadata_endpoint option)" },
      disable_imdsv1 = { B, doc = "no IMDSv1 fallback (default ALIBABA_CLOUD_IMDSV1_DISABLED)" },
    }),
    build = function(spec, ctx)
      return require("dts.credentials.ecs_ram_role").new(spec, ctx, { source = "explicit" })
    end,
  },
  oidc_role_arn = {
    doc = "a RAM role through STS AssumeRoleWithOIDC, e.g. ACK RRSA (OIDC)",
    fields = fields(SESSION, STS_FIELDS, {
      role_arn = { S, required = true, doc = "ARN of the role" },
      oidc_provider_arn = { S, required = true, doc = "ARN of the OIDC identity provider" },
      oidc_token_file = { S, required = true, doc = "file holding the OIDC token, read at every refresh" },
    }),
    build = function(spec, ctx)
      return require("dts.credentials.oidc").new(spec, ctx, { source = "explicit" })
    end,
  },
  credentials_uri = {
    doc = "a URL answering a credential as JSON (CredentialsURI)",
    fields = fields(SESSION, {
      credentials_uri = { S, required = true, doc = "http:// or https:// URL" },
    }),
    build = function(spec, ctx)
      return require("dts.credentials.uri").new(spec, ctx, { source = "explicit" })
    end,
  },
  profile = {
    doc = "an aliyun CLI profile, any supported mode",
    fields = fields(SESSION, {
      name = { S, doc = "profile name (default ALIBABA_CLOUD_PROFILE, else the file's current)" },
      path = { S, doc = "config.json (default ALIBABA_CLOUD_CONFIG_FILE, else ~/.aliyun/config.json)" },
    }),
    build = function(spec, ctx)
      local p, err = require("dts.credentials.cli_profile").provider(ctx,
        { name = spec.name, path = spec.path })
      -- A profile asked for by name that cannot be used is bad input.
      if not p then return nil, errors.new("invalid_argument", { param = "profile", message = err.message }) end
      return p
    end,
  },
}
--- The explicit types, by name: `{ doc, fields = { name = { type, required, doc } }, build }`.
-- @table TYPES
credentials.TYPES = TYPES

local function sorted_keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local TYPE_NAMES = sorted_keys(TYPES)

local protect = refresh.protect

local function provider_error(message)
  return errors.new("credentials", { message = "credentials provider: " .. message })
end

-- A provider object of the caller's: whatever its get() does, the client
-- gets true, creds or nil and an error object, never a raised error; the
-- credential is checked when it changes, not on every call.
local function wrap(provider)
  -- The fields as the provider last gave them, and our checked copy.
  local seen, id, secret, token, expiration, value, secrets = nil, nil, nil, nil, nil, nil, {}
  local p = {}
  function p.get()
    local ok, good, c = protect(provider.get)
    if not ok then
      return nil, provider_error("get() raised an error: " .. errors.redact(tostring(good), secrets))
    end
    if good ~= true then
      if good == nil or good == false then
        if errors.is(c) then return nil, c end
        if type(c) == "string" then return nil, provider_error(errors.redact(c, secrets)) end
        return nil, provider_error("get() returned " .. tostring(good) .. " without an error")
      end
      return nil, provider_error("get() must return true, creds (the success flag first) or "
        .. "nil, err; its first result is a " .. type(good))
    end
    if type(c) ~= "table" then
      return nil, provider_error("get() returned true and a " .. type(c)
        .. " instead of { access_key_id, access_key_secret, security_token }")
    end
    if c == seen and c.access_key_id == id and c.access_key_secret == secret
       and c.security_token == token and c.expiration == expiration then
      return true, value
    end
    local valid, err = creds.validate(c)
    if not valid then
      err.message = "credentials provider: " .. err.message
      return nil, err
    end
    seen, value = c, creds.copy(c)
    id, secret, token, expiration = c.access_key_id, c.access_key_secret, c.security_token, c.expiration
    secrets = { value.access_key_secret, value.security_token }
    return true, value
  end
  if type(provider.invalidate) == "function" then
    function p.invalidate()
      local ok, again = protect(provider.invalidate)
      return ok and again ~= false
    end
  end
  function p.describe()
    local ok, info = false, nil
    if type(provider.describe) == "function" then ok, info = protect(provider.describe) end
    info = ok and type(info) == "table" and info or {}
    info.source = info.source or "provider object"
    return info
  end
  return p
end

--- A provider from a `{ type = ..., ... }` table or a caller's provider
-- object (wrapped: its answers are checked when they change).
-- @tparam table spec `{ type = ..., ... }` (the types above) or an object with `get`
-- @tparam[opt] table ctx from @{context}
-- @tparam[opt="credentials"] string where how messages name spec
-- @treturn provider
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument` for a bad spec
function credentials.new(spec, ctx, where)
  where = where or "credentials"
  ctx = ctx or credentials.context{}
  if type(spec) ~= "table" then
    return nil, errors.invalid(where, "expected a provider object with get(), or a table "
      .. "{ type = ..., ... }; got %s", type(spec))
  end
  local get = spec.get
  if type(get) == "function" then return wrap(spec) end
  if get ~= nil then
    return nil, errors.invalid(where .. ".get", "expected a function, got %s", type(get))
  end
  local t = rawget(spec, "type")
  if t == nil then
    return nil, errors.invalid(where, "%s: give a provider object with get(), or { type = ..., ... } "
      .. "with a type among %s", next(spec) == nil and "an empty table" or "no type and no get()",
      table.concat(TYPE_NAMES, ", "))
  end
  local def = type(t) == "string" and TYPES[t]
  if not def then
    local hint = type(t) == "string" and suggest(t, TYPE_NAMES)
    return nil, errors.invalid(where .. ".type", "%s is not a type%s (types: %s)",
      type(t) == "string" and ('"' .. t .. '"') or ("a " .. type(t)),
      hint and ("; did you mean " .. hint .. "?") or "", table.concat(TYPE_NAMES, ", "))
  end
  local names = sorted_keys(def.fields)
  local copy = { where = where }
  for k, v in pairs(spec) do
    if k ~= "type" then
      local f = type(k) == "string" and def.fields[k]
      if not f then
        local hint = type(k) == "string" and suggest(k, names)
        return nil, errors.invalid(where .. "." .. tostring(k), "not a field of type %s%s", t,
          hint and ("; did you mean " .. hint .. "?") or "")
      end
      if type(v) ~= f[1] then
        return nil, errors.invalid(where .. "." .. k, "expected a %s, got %s", f[1], type(v))
      end
      copy[k] = v
    end
  end
  for _, k in ipairs(names) do
    if def.fields[k].required and copy[k] == nil then
      return nil, errors.invalid(where .. "." .. k, "missing (type %s needs it)", t)
    end
  end
  if copy.clock then
    local c = {}
    for k, v in pairs(ctx) do c[k] = v end
    c.clock = copy.clock
    ctx = c
  end
  return def.build(copy, ctx)
end

--- What the credential sources share from their client: the environment,
-- the options that steer them, and its transport (CA file, proxy,
-- timeouts; cosockets in nginx), made when first needed, plain http allowed
-- (instance metadata is http://; STS is always https://).
-- @tparam table o `getenv`, `profile`, `sts_endpoint`, `sts_region`,
--   `metadata_endpoint`, `on_warning`, `shared_dict`, `clock`,
--   `connect_timeout`, `timeout`, `retries`, `make_transport` (a function
--   returning the transport, or nil and an error)
-- @treturn table the context, with `request(req)` and `sleep(seconds, err)`
--   over a transport made when first needed
function credentials.context(o)
  local ctx = {}
  for k, v in pairs(o) do ctx[k] = v end
  ctx.getenv = o.getenv or os.getenv
  local made, made_err
  local function transport()
    if made then return made end
    if made_err then return nil, made_err end
    local factory = o.make_transport or function()
      return require("dts.transport").choose({}, { allow_http = true,
        connect_timeout = o.connect_timeout or 5, timeout = o.timeout or 30,
        user_agent = "lua-dts (credentials)" })
    end
    made, made_err = factory()
    if not made then return nil, made_err end
    return made
  end
  ctx.make_transport = nil
  function ctx.request(req)
    local t, err = transport()
    if not t then return nil, err end
    return t:request(req)
  end
  function ctx.sleep(seconds, err)
    local t = transport()
    if t then t:sleep(seconds, err) end
  end
  return ctx
end

--- The provider that dts.new's options ask for: `credentials`, else the
-- fixed keys, else the default chain.  Refuses options that compete
-- (`credentials` with keys, `profile` with either).
-- @tparam table opts dts.new's options
-- @tparam[opt] function getenv reads the environment
-- @tparam[opt] table ctx from @{context}
-- @treturn provider
-- @return[2] nil
-- @treturn[2] dts.errors err
function credentials.resolve(opts, getenv, ctx)
  ctx = ctx or credentials.context{ getenv = getenv, profile = opts.profile }
  local keys = opts.access_key_id ~= nil or opts.access_key_secret ~= nil
  if opts.credentials ~= nil then
    if keys or opts.security_token ~= nil then
      return nil, errors.invalid("credentials", "give credentials or access_key_id/"
        .. "access_key_secret/security_token, not both")
    end
    if opts.profile ~= nil then
      return nil, errors.invalid("profile", 'only picks the default chain\'s profile; with '
        .. 'credentials, use credentials = { type = "profile", name = ... }')
    end
    return credentials.new(opts.credentials, ctx)
  end
  if keys then
    if opts.profile ~= nil then
      return nil, errors.invalid("profile", "only picks the default chain's profile, "
        .. "and access_key_id/access_key_secret were given")
    end
    local p = static.new(opts.access_key_id, opts.access_key_secret, opts.security_token,
      { source = "dts.new options" })
    return p
  end
  if opts.security_token ~= nil then
    return nil, errors.invalid("security_token", "needs access_key_id and access_key_secret")
  end
  return chain.new(ctx)
end

--- Checks dts.new's credential options (`profile`, `sts_endpoint`,
-- `sts_region`, `metadata_endpoint`), with the others; types are checked
-- by the client already.
-- @tparam table opts dts.new's options
-- @treturn true
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
function credentials.check_options(opts)
  if opts.profile == "" then
    return nil, errors.invalid("profile", "expected a profile name, got an empty string")
  end
  local e = opts.sts_endpoint
  if e ~= nil and (e:match("^[Hh][Tt][Tt][Pp]://") or not require("dts.credentials.sts").normalize(e)) then
    return nil, errors.invalid("sts_endpoint", 'expected "host" or "host:port" (STS is always '
      .. "reached over HTTPS)")
  end
  if opts.sts_region ~= nil and not opts.sts_region:match("^[%w%-]+$") then
    return nil, errors.invalid("sts_region", "expected a region id such as cn-hangzhou")
  end
  if opts.metadata_endpoint ~= nil
     and not require("dts.credentials.ecs_ram_role").normalize(opts.metadata_endpoint) then
    return nil, errors.invalid("metadata_endpoint", 'expected "http://host" or "http://host:port"')
  end
  return true
end

--- What `dts credentials` shows of a provider: `{ source, mode, type, where }`
-- (never a secret).
-- @param provider a provider
-- @treturn table
function credentials.describe(provider)
  if type(provider) == "table" and type(provider.describe) == "function" then
    local info = provider.describe()
    if type(info) == "table" then return info end
  end
  return { source = "provider object" }
end

--- The README's table of explicit providers, from `TYPES`
-- (spec/05-client/readme_spec.lua keeps the two in step).
-- @treturn string a Markdown table
function credentials.markdown()
  local lines = { "| `type` | fields (**required**) | |", "|---|---|---|" }
  for _, t in ipairs(TYPE_NAMES) do
    local def, fs = TYPES[t], {}
    for _, k in ipairs(sorted_keys(def.fields)) do
      if k ~= "clock" then
        fs[#fs + 1] = def.fields[k].required and ("**`" .. k .. "`**") or ("`" .. k .. "`")
      end
    end
    lines[#lines + 1] = ("| `%s` | %s | %s |"):format(t, table.concat(fs, ", "), def.doc)
  end
  return table.concat(lines, "\n") .. "\n"
end

--- Checks a credential once, when it arrives: access key id and secret
-- non-empty strings without leading or trailing whitespace, the token a
-- string if there, `expiration` finite epoch seconds if there.
-- @function validate
-- @tparam table c `{ access_key_id, access_key_secret, security_token, expiration }`
-- @treturn true
-- @return[2] nil
-- @treturn[2] dts.errors err kind `credentials`, naming the field, never its value
credentials.validate = creds.validate

--- An access key id masked for display: `"LTAI****************wxyz"`,
-- enough to tell two keys apart, not to use one.
-- @function mask
-- @tparam string id
-- @treturn string or nil for anything but a non-empty string
credentials.mask = creds.mask

--- A provider of fixed keys (checked on the first `get()`).
-- @function static
-- @tparam string id access key id
-- @tparam string secret access key secret
-- @tparam[opt] string token STS token
-- @treturn provider
credentials.static = function(id, secret, token) return static.new(id, secret, token) end

--- The default chain (above).
-- @function chain
-- @tparam table ctx from @{context}
-- @treturn provider
-- @return[2] nil
-- @treturn[2] dts.errors err code `NoCredentials` when no source can even be tried
credentials.chain = chain.new

--- The refreshing cache every session source shares (dts.credentials.refresh).
-- @field refresh
credentials.refresh = refresh

--- The environment's keys (`ALIBABA_CLOUD_ACCESS_KEY_ID`, `_SECRET`, `_SECURITY_TOKEN`).
-- @tparam[opt] function getenv reads the environment
-- @treturn provider
-- @return[2] nil
-- @treturn[2] string why not (names only, never values)
function credentials.from_env(getenv)
  return require("dts.credentials.env").new(getenv or os.getenv)
end

--- An aliyun CLI profile, any supported mode.
-- @tparam[opt] string name the profile (default `ALIBABA_CLOUD_PROFILE`, else the file's `current`)
-- @tparam[opt] string path config.json (default `ALIBABA_CLOUD_CONFIG_FILE`, else `~/.aliyun/config.json`)
-- @tparam[opt] table ctx from @{context}
-- @treturn provider
-- @treturn string the profile's `region_id`, if it has one
-- @return[2] nil
-- @treturn[2] dts.errors err
function credentials.from_profile(name, path, ctx)
  local p, profile = require("dts.credentials.cli_profile").provider(
    ctx or credentials.context{}, { name = name, path = path })
  if not p then return nil, profile end
  return p, profile.region_id
end

return credentials
