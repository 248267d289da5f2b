-- Explicit providers: dts.new{ credentials = { type = ..., ... } } for
-- every type, a provider object of the caller's, and every bad value
-- refused with a clear error (never a raised one); the endpoints STS and
-- instance metadata are reached at.
local creds = require "support.creds"
local dts = require "dts"
local emulator = require "dts.emulator"
local sts = require "dts.credentials.sts"
local ecs = require "dts.credentials.ecs_ram_role"

describe("explicit credential providers", function()
  local em

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  local function works(spec, opts)
    local o = { credentials = spec, sts_endpoint = em.sts_endpoint }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = creds.client(em, o)
    local res, err = creds.describe(c)
    assert(res, err and tostring(err))
    return c.credentials.describe(), c
  end

  it("works for every type", function()
    local dir = creds.tmpdir()
    local config = creds.config(dir, { { name = "p", mode = "AK", access_key_id = em.access_key_id,
      access_key_secret = em.access_key_secret } })
    local ok, k = creds.client(em, { credentials = { type = "credentials_uri",
      credentials_uri = em.credentials_uri } }).credentials.get()
    assert.is_true(ok)
    local ak = { type = "access_key", access_key_id = em.access_key_id, access_key_secret = em.access_key_secret }
    for _, case in ipairs{
      { ak, "AK" },
      { { type = "sts", access_key_id = k.access_key_id, access_key_secret = k.access_key_secret,
          security_token = k.security_token }, "StsToken" },
      { { type = "ram_role_arn", access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
          role_arn = em.role_arn, role_session_name = "explicit", duration_seconds = 1800,
          policy = '{"Version":"1"}', external_id = "ext-1" }, "RamRoleArn" },
      { { type = "ram_role_arn", source = ak, role_arn = em.role_arn }, "ChainableRamRoleArn" },
      { { type = "ram_role_arn", source = { type = "ecs_ram_role", metadata_endpoint = em.metadata_endpoint },
          role_arn = em.role_arn }, "ChainableRamRoleArn" },
      { { type = "ecs_ram_role", metadata_endpoint = em.metadata_endpoint, role_name = em.role_name }, "EcsRamRole" },
      { { type = "oidc_role_arn", role_arn = em.role_arn, oidc_provider_arn = em.oidc_provider_arn,
          oidc_token_file = em.oidc_token_file }, "OIDC" },
      { { type = "credentials_uri", credentials_uri = em.credentials_uri }, "CredentialsURI" },
      { { type = "profile", name = "p", path = config }, "AK" },
    } do
      local info = works(case[1])
      assert.equal(case[2], info.mode, case[1].type)
    end
    creds.rmdir(dir)
    local role = creds.entries(em, "AssumeRole")[1]
    assert.same({ "explicit", "1800", '{"Version":"1"}', "ext-1" }, { role.parameters.RoleSessionName,
      role.parameters.DurationSeconds, role.parameters.Policy, role.parameters.ExternalId })
  end)

  it("signs the chained AssumeRole with the source's STS credential", function()
    works{ type = "ram_role_arn", role_arn = em.role_arn,
      source = { type = "ram_role_arn", role_arn = em.role_arn,
        access_key_id = em.access_key_id, access_key_secret = em.access_key_secret } }
    local log = creds.entries(em, "AssumeRole")
    assert.equal(2, #log)
    assert.equal(em.access_key_id, log[1].access_key_id)
    assert.equal(log[1].issued_access_key_id, log[2].access_key_id)
  end)

  describe("a provider object", function()
    local function call(get, extra)
      local p = { get = get }
      for k, v in pairs(extra or {}) do p[k] = v end
      local c = creds.client(em, { credentials = p })
      return c:modify_dts_job{ DtsInstanceId = "dtsdemoinstance01",
        DbList = { db = { name = "db", all = true } } }
    end

    it("is used as it is, with get() called without self", function()
      local calls = 0
      local res, err = call(function(...)
        calls = calls + 1
        assert.equal(0, select("#", ...))
        return true, { access_key_id = em.access_key_id, access_key_secret = em.access_key_secret }
      end)
      assert(res, err and tostring(err))
      assert.equal(1, calls)
    end)

    it("that fails in any way gives nil and an error, never a raised one", function()
      for _, case in ipairs{
        { function() return nil, "vault unreachable" end, "credentials provider: vault unreachable" },
        { function() return nil end, "get() returned nil without an error" },
        { function() return false, { message = "x" } end, "get() returned false without an error" },
        { function() return true, nil end, "get() returned true and a nil instead of" },
        { function() return true end, "get() returned true and a nil" },
        { function() return "yes" end, "its first result is a string" },
        { function() return { access_key_id = "a" } end, "its first result is a table" },
        { function() error("boom") end, "get() raised an error: " },
        { function() error({}) end, "get() raised an error: table" },
        { function() return true, { access_key_id = "a" } end, "credentials provider: access_key_secret: missing" },
        { function() return true, { access_key_id = "a", access_key_secret = "s3cr3t " } end,
          "access_key_secret: has leading or trailing whitespace" },
        { function() return true, { access_key_id = "a", access_key_secret = "b", security_token = 5 } end,
          "security_token: expected a string, got number" },
        { function() return nil, dts.errors.new("credentials", { code = "Mine", message = "own" }) end, "own" },
      } do
        local ok, res, err = pcall(call, case[1])
        assert.is_true(ok, res)
        assert.is_nil(res)
        assert.equal("credentials", err.kind)
        assert.equal(0, err.attempts)
        assert.matches(case[2], err.message, 1, true)
        assert.not_matches("s3cr3t", tostring(err), 1, true)
      end
      assert.equal(0, #em.requests())
    end)

    it("keeps the secret it gave out of the message of a later failure", function()
      local n = 0
      local res, err = call(function()
        n = n + 1
        if n == 1 then return true, { access_key_id = em.access_key_id, access_key_secret = em.access_key_secret } end
        error("refresh failed for " .. em.access_key_secret)
      end)
      assert(res, err and tostring(err))
      local c = creds.client(em, { credentials = { get = function()
        n = n + 1
        if n % 2 == 1 then
          return true, { access_key_id = em.access_key_id, access_key_secret = em.access_key_secret }
        end
        return nil, "cannot renew " .. em.access_key_secret
      end } })
      n = 0
      assert(creds.describe(c))
      res, err = creds.describe(c)
      assert.is_nil(res)
      assert.matches("cannot renew <redacted>", err.message, 1, true)
    end)
  end)

  it("refuses bad specs with a clear error, naming the field, with a did-you-mean", function()
    local ak = { access_key_id = "LTAIa", access_key_secret = "b" }
    for _, case in ipairs{
      { {}, "credentials", "an empty table: give a provider object with get(), or { type = ..., ... }" },
      { { foo = 1 }, "credentials", "no type and no get()" },
      { "LTAI", "credentials", "expected a table, got string" },
      { { get = "x" }, "credentials.get", "expected a function, got string" },
      { { type = "ram_rol_arn" }, "credentials.type", '"ram_rol_arn" is not a type; did you mean ram_role_arn?' },
      { { type = 5 }, "credentials.type", "a number is not a type" },
      { { type = "access_key", access_key_id = "a", acess_key_secret = "b" }, "credentials.acess_key_secret",
        "not a field of type access_key; did you mean access_key_secret?" },
      { { type = "access_key", access_key_id = "a" }, "credentials.access_key_secret",
        "missing (type access_key needs it)" },
      { { type = "sts", access_key_id = "a", access_key_secret = "b", security_token = 1 },
        "credentials.security_token", "expected a string, got number" },
      { { type = "ram_role_arn", access_key_id = "a", access_key_secret = "b" }, "credentials.role_arn", "missing" },
      { { type = "ram_role_arn", role_arn = "r" }, "credentials.access_key_id",
        "give access_key_id and access_key_secret" },
      { { type = "ram_role_arn", role_arn = "r", source = ak, access_key_id = "a" }, "credentials.source", "not both" },
      { { type = "ram_role_arn", role_arn = "r", source = {} }, "credentials.source", "an empty table" },
      { { type = "ram_role_arn", role_arn = "r", access_key_id = "a", access_key_secret = "b",
          duration_seconds = 60 }, "credentials.duration_seconds", "expected whole seconds from 900 to 43200" },
      { { type = "ram_role_arn", role_arn = "r", access_key_id = "a", access_key_secret = "b",
          role_session_name = "has space" }, "credentials.role_session_name", "expected 2 to 64 letters" },
      { { type = "ram_role_arn", role_arn = "r", access_key_id = "a", access_key_secret = "b",
          sts_endpoint = "sts.example.com/path" }, "credentials.sts_endpoint", 'expected "host" or "host:port"' },
      { { type = "ecs_ram_role", metadata_endpoint = "https://x" }, "credentials.metadata_endpoint",
        'expected "http://host" or "http://host:port"' },
      { { type = "ecs_ram_role", role_name = "a b" }, "credentials.role_name", "expected a RAM role name" },
      { { type = "oidc_role_arn", role_arn = "r", oidc_provider_arn = "p" }, "credentials.oidc_token_file", "missing" },
      { { type = "credentials_uri", credentials_uri = "ftp://x" }, "credentials.credentials_uri",
        "expected an http:// or https:// URL" },
      { { type = "profile", nam = "x" }, "credentials.nam", "did you mean name?" },
      { { type = "access_key", access_key_id = "a", access_key_secret = "b", clock = 5 }, "credentials.clock",
        "not a field of type access_key" },
    } do
      local c, err = creds.new(em, { credentials = case[1], sts_endpoint = false })
      assert.is_nil(c, case[3])
      assert.equal("invalid_argument", err.kind, case[3])
      assert.equal(case[2], err.param, case[3])
      assert.matches(case[3], err.message, 1, true)
    end
  end)

  it("refuses conflicting and malformed credential options of dts.new", function()
    local ak = { type = "access_key", access_key_id = "a", access_key_secret = "b" }
    for _, case in ipairs{
      { { credentials = ak, access_key_id = "a" }, "credentials", "not both" },
      { { credentials = ak, profile = "p" }, "profile", 'use credentials = { type = "profile"' },
      { { access_key_id = "a", access_key_secret = "b", profile = "p" }, "profile", "only picks" },
      { { security_token = "t" }, "security_token", "needs access_key_id and access_key_secret" },
      { { profile = "" }, "profile", "expected a profile name" },
      { { profile = 1 }, "profile", "expected a string, got number" },
      { { sts_endpoint = "http://sts.aliyuncs.com" }, "sts_endpoint", "always reached over HTTPS" },
      { { sts_endpoint = "sts.aliyuncs.com/x" }, "sts_endpoint", 'expected "host" or "host:port"' },
      { { sts_region = "cn hangzhou" }, "sts_region", "expected a region id" },
      { { metadata_endpoint = "100.100.100.200" }, "metadata_endpoint", 'expected "http://host"' },
      { { on_warning = "stderr" }, "on_warning", "expected a function, got string" },
      { { on_warnings = print }, "on_warnings", "did you mean on_warning?" },
    } do
      local c, err = dts.new(case[1], creds.env{})
      assert.is_nil(c, case[3])
      assert.equal("invalid_argument", err.kind, case[3])
      assert.equal(case[2], err.param, case[3])
      assert.matches(case[3], err.message, 1, true)
    end
  end)

  it("finds STS at the option, the provider's field, ALIBABA_CLOUD_STS_ENDPOINT, the region, "
    .. "else sts.aliyuncs.com", function()
    local function host(spec, ctx, env)
      ctx = ctx or {}
      ctx.getenv = creds.env(env or {})
      return assert(sts.endpoint(spec or {}, ctx, "credentials"))
    end
    assert.equal("sts.aliyuncs.com", host())
    assert.equal("opt:1", host({ sts_endpoint = "field" }, { sts_endpoint = "opt:1" }))
    assert.equal("field", host({ sts_endpoint = "field" }, {}, { ALIBABA_CLOUD_STS_ENDPOINT = "env" }))
    assert.equal("env.example:8443", host({ sts_region = "cn-beijing" }, {},
      { ALIBABA_CLOUD_STS_ENDPOINT = "https://env.example:8443/" }))
    assert.equal("sts.cn-beijing.aliyuncs.com", host({}, {}, { ALIBABA_CLOUD_STS_REGION = "cn-beijing" }))
    assert.equal("sts.cn-shanghai.aliyuncs.com", host({ sts_region = "cn-shanghai" }, {},
      { ALIBABA_CLOUD_STS_REGION = "cn-beijing" }))
    assert.equal("sts.cn-hongkong.aliyuncs.com", host({ sts_region = "cn-shanghai" }, { sts_region = "cn-hongkong" }))
    assert.equal("sts-vpc.cn-beijing.aliyuncs.com", host({}, {}, { ALIBABA_CLOUD_STS_REGION = "cn-beijing",
      ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED = "True" }))
    assert.equal("sts.cn-beijing.aliyuncs.com", host({ enable_vpc = false }, {}, {
      ALIBABA_CLOUD_STS_REGION = "cn-beijing",
      ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED = "true" }))
    assert.equal("sts-vpc.cn-beijing.aliyuncs.com", host({ sts_region = "cn-beijing", enable_vpc = true }))
    -- The VPC flag without a region is ignored, as in the libraries.
    assert.equal("sts.aliyuncs.com", host({}, {}, { ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED = "true" }))
    local _, err = sts.endpoint({}, { getenv = creds.env{ ALIBABA_CLOUD_STS_ENDPOINT = "a b" } }, "credentials")
    assert.same({ "invalid_argument", "ALIBABA_CLOUD_STS_ENDPOINT" }, { err.kind, err.param })
  end)

  it("finds instance metadata at the option, the provider's field, DTS_METADATA_ENDPOINT, "
    .. "else 100.100.100.200", function()
    local function at(spec, ctx, env)
      ctx = ctx or {}
      ctx.getenv = creds.env(env or {})
      return assert(ecs.endpoint(spec or {}, ctx, "credentials"))
    end
    assert.equal("http://100.100.100.200", at())
    assert.equal("http://127.0.0.1:9", at({}, {}, { DTS_METADATA_ENDPOINT = "http://127.0.0.1:9/" }))
    assert.equal("http://f:1", at({ metadata_endpoint = "http://f:1" }, {}, { DTS_METADATA_ENDPOINT = "http://e:2" }))
    assert.equal("http://o:3", at({ metadata_endpoint = "http://f:1" }, { metadata_endpoint = "http://o:3" }))
    local _, err = ecs.endpoint({}, { getenv = creds.env{ DTS_METADATA_ENDPOINT = "127.0.0.1:9" } }, "credentials")
    assert.same({ "invalid_argument", "DTS_METADATA_ENDPOINT" }, { err.kind, err.param })
  end)

  it("keeps the legacy helpers: credentials.static, from_env, from_profile, validate", function()
    local credentials = require "dts.credentials"
    local ok, c = credentials.static("LTAIx", "y").get()
    assert.is_true(ok)
    assert.equal("LTAIx", c.access_key_id)
    assert.is_nil((credentials.from_env(creds.env{})))
    ok = credentials.from_env(creds.env{ ALIBABA_CLOUD_ACCESS_KEY_ID = "a",
      ALIBABA_CLOUD_ACCESS_KEY_SECRET = "b" }).get()
    assert.is_true(ok)
    local dir = creds.tmpdir()
    local path = creds.config(dir, { { name = "p", mode = "AK", access_key_id = "a", access_key_secret = "b",
      region_id = "cn-shanghai" } })
    local p, region = credentials.from_profile("p", path)
    assert.equal("cn-shanghai", region)
    assert.is_true((p.get()))
    creds.rmdir(dir)
    assert.is_nil(credentials.validate{ access_key_id = " a", access_key_secret = "b" })
  end)
end)
