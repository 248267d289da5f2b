-- Every credential source and every profile mode and INI type, against the
-- emulator's STS, instance metadata and credentials URI: the client gets a
-- credential, the emulator's DTS side accepts it, and its log shows which
-- endpoints were asked.  The environment is the spec's own (support.creds).
local creds = require "support.creds"
local emulator = require "dts.emulator"

describe("credential sources against the emulator", function()
  local em, dir

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    dir = creds.tmpdir()
  end)

  teardown(function()
    if em then em.stop() end
    creds.rmdir(dir)
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  -- Calls DTS with the client; returns its provider's description.
  local function works(c)
    local res, err = creds.describe(c)
    assert(res, err and tostring(err))
    assert.equal("synchronizing", res.status)
    return c.credentials.describe()
  end

  -- STS keys the emulator handed out (for StsToken and sts).
  local function sts_keys()
    local c = creds.client(em, { credentials = { type = "credentials_uri", credentials_uri = em.credentials_uri } })
    local ok, v = c.credentials.get()
    assert(ok, v)
    em.clear_log()
    return v
  end

  local function actions()
    local out = {}
    for _, e in ipairs(em.requests()) do out[#out + 1] = e.action end
    return table.concat(out, ",")
  end

  describe("the environment", function()
    it("gives an access key (AK)", function()
      local info = works(creds.client(em, {}, { ALIBABA_CLOUD_ACCESS_KEY_ID = em.access_key_id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET = em.access_key_secret }))
      assert.same({ "environment", "AK" }, { info.source, info.mode })
      assert.equal("DescribeDtsJobDetail", actions())
    end)

    it("gives STS keys with ALIBABA_CLOUD_SECURITY_TOKEN (StsToken)", function()
      local k = sts_keys()
      local info = works(creds.client(em, {}, { ALIBABA_CLOUD_ACCESS_KEY_ID = k.access_key_id,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET = k.access_key_secret,
        ALIBABA_CLOUD_SECURITY_TOKEN = k.security_token }))
      assert.same({ "environment", "StsToken" }, { info.source, info.mode })
      assert.equal(k.access_key_id, em.requests()[1].access_key_id)
    end)
  end)

  describe("OIDC from the environment", function()
    local function env(extra)
      local e = { ALIBABA_CLOUD_ROLE_ARN = em.role_arn, ALIBABA_CLOUD_OIDC_PROVIDER_ARN = em.oidc_provider_arn,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE = em.oidc_token_file, ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint }
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    it("assumes the role with AssumeRoleWithOIDC, unsigned, the token kept out of the log", function()
      local info = works(creds.client(em, {}, env{ ALIBABA_CLOUD_ROLE_SESSION_NAME = "rrsa-session" }))
      assert.same({ "OIDC", "OIDC" }, { info.source, info.mode })
      assert.equal("AssumeRoleWithOIDC,DescribeDtsJobDetail", actions())
      local sts = em.requests()[1]
      assert.equal("rrsa-session", sts.parameters.RoleSessionName)
      assert.is_nil(sts.parameters.OIDCToken)
      assert.is_nil(sts.parameters.Signature)
      assert.matches("^STS%.", em.requests()[2].access_key_id)
    end)

    it("needs all three variables", function()
      local e = env()
      e.ALIBABA_CLOUD_OIDC_TOKEN_FILE = nil
      local c, err = creds.new(em, {}, e)
      assert.is_nil(c)
      assert.equal("NoCredentials", err.code)
      assert.matches("OIDC: ALIBABA_CLOUD_OIDC_TOKEN_FILE is not set", err.message, 1, true)
    end)

    it("reads the token file again at every refresh", function()
      local file = creds.write(dir .. "/token", "not-the-token")
      local c = creds.client(em, { credentials = { type = "oidc_role_arn", role_arn = em.role_arn,
        oidc_provider_arn = em.oidc_provider_arn, oidc_token_file = file }, sts_endpoint = em.sts_endpoint })
      local res, err = creds.describe(c)
      assert.is_nil(res)
      assert.equal("credentials", err.kind)
      assert.equal("InvalidParameter", err.code)
      creds.secret_free(err, { "not-the-token" })
      creds.write(file, assert(require("dts.sys").read_file(em.oidc_token_file)) .. "\n")
      works(c)
    end)
  end)

  describe("aliyun CLI profiles (config.json)", function()
    local path

    setup(function()
      path = creds.config(dir, {
        { name = "ak", mode = "AK", access_key_id = em.access_key_id,
          access_key_secret = em.access_key_secret, region_id = "cn-hangzhou" },
        { name = "inferred", access_key_id = em.access_key_id, access_key_secret = em.access_key_secret },
        { name = "role", mode = "RamRoleArn", access_key_id = em.access_key_id,
          access_key_secret = em.access_key_secret, ram_role_arn = em.role_arn,
          ram_session_name = "ops", expired_seconds = 900, sts_region = "cn-hangzhou" },
        { name = "chain", mode = "ChainableRamRoleArn", source_profile = "role",
          ram_role_arn = "acs:ram::1234567890123456:role/second", ram_session_name = "chained" },
        { name = "ecs", mode = "EcsRamRole", ram_role_name = em.role_name },
        { name = "oidc", mode = "OIDC", ram_role_arn = em.role_arn, oidc_provider_arn = em.oidc_provider_arn,
          oidc_token_file = em.oidc_token_file, ram_session_name = "k8s" },
        { name = "uri", mode = "CredentialsURI", credentials_uri = em.credentials_uri },
        { name = "uri-env", mode = "CredentialsURI" },
        { name = "sso", mode = "CloudSSO" },
        { name = "oauth", mode = "OAuth" },
        { name = "ext", mode = "External", process_command = "/bin/true" },
        { name = "old", mode = "RamRoleArnWithRoleName", ram_role_name = "x" },
        { name = "nothing" },
        { name = "cycle", mode = "ChainableRamRoleArn", source_profile = "cycle2", ram_role_arn = em.role_arn },
        { name = "cycle2", mode = "ChainableRamRoleArn", source_profile = "cycle", ram_role_arn = em.role_arn },
        { name = "bad", mode = "RamRoleArn", access_key_id = "a", access_key_secret = "b" },
        { name = "vpc-endpoint", mode = "RamRoleArn", access_key_id = em.access_key_id,
          access_key_secret = em.access_key_secret, ram_role_arn = em.role_arn, sts_endpoint = em.sts_endpoint },
      }, "ak")
    end)

    local function env(extra)
      local e = { ALIBABA_CLOUD_CONFIG_FILE = path, ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint,
        DTS_METADATA_ENDPOINT = em.metadata_endpoint }
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    local function profile(name, extra)
      return creds.client(em, { profile = name }, env(extra))
    end

    it("AK, and a profile without mode inferred as the CLI does", function()
      assert.same({ "profile", "AK" }, { works(profile("ak")).source, works(profile("ak")).mode })
      assert.equal("AK", works(profile("inferred")).mode)
      assert.not_matches("AssumeRole", actions())
    end)

    it("StsToken", function()
      local k = sts_keys()
      local p = creds.config(dir .. "/..", { { name = "sts", mode = "StsToken", access_key_id = k.access_key_id,
        access_key_secret = k.access_key_secret, sts_token = k.security_token } })
      local c = creds.client(em, { profile = "sts" }, { ALIBABA_CLOUD_CONFIG_FILE = p })
      assert.equal("StsToken", works(c).mode)
      os.remove(p)
    end)

    it("RamRoleArn: AssumeRole signed with the profile's key, its session and duration", function()
      local info = works(profile("role"))
      assert.same({ "RamRoleArn", "ram_role_arn" }, { info.mode, info.type })
      assert.equal("AssumeRole,DescribeDtsJobDetail", actions())
      local sts = em.requests()[1]
      assert.same({ em.access_key_id, "ops", "900", em.role_arn },
        { sts.access_key_id, sts.parameters.RoleSessionName, sts.parameters.DurationSeconds,
          sts.parameters.RoleArn })
      assert.is_true(sts.verified)
    end)

    it("its own sts_endpoint field when no variable names one", function()
      local c = creds.client(em, { profile = "vpc-endpoint" }, { ALIBABA_CLOUD_CONFIG_FILE = path })
      works(c)
      assert.equal("AssumeRole,DescribeDtsJobDetail", actions())
    end)

    it("ChainableRamRoleArn: the source profile's credential signs the second AssumeRole", function()
      local info = works(profile("chain"))
      assert.equal("ChainableRamRoleArn", info.mode)
      assert.equal("AssumeRole,AssumeRole,DescribeDtsJobDetail", actions())
      local log = em.requests()
      assert.equal(em.access_key_id, log[1].access_key_id)
      assert.equal(log[1].issued_access_key_id, log[2].access_key_id)
      assert.equal("chained", log[2].parameters.RoleSessionName)
      assert.equal(log[2].issued_access_key_id, log[3].access_key_id)
    end)

    it("EcsRamRole: the named role over instance metadata, no discovery", function()
      assert.equal("EcsRamRole", works(profile("ecs")).mode)
      assert.equal("MetadataToken,MetadataCredentials,DescribeDtsJobDetail", actions())
    end)

    it("OIDC", function()
      assert.equal("OIDC", works(profile("oidc")).mode)
      assert.equal("AssumeRoleWithOIDC,DescribeDtsJobDetail", actions())
      assert.equal("k8s", em.requests()[1].parameters.RoleSessionName)
    end)

    it("CredentialsURI, from the profile or else ALIBABA_CLOUD_CREDENTIALS_URI", function()
      assert.equal("CredentialsURI", works(profile("uri")).mode)
      em.clear_log()
      works(profile("uri-env", { ALIBABA_CLOUD_CREDENTIALS_URI = em.credentials_uri }))
      assert.equal("CredentialsURI,DescribeDtsJobDetail", actions())
    end)

    it("picks ALIBABA_CLOUD_PROFILE, else the file's current", function()
      local c = creds.client(em, {}, env{ ALIBABA_CLOUD_PROFILE = "ecs" })
      assert.equal("EcsRamRole", works(c).mode)
      c = creds.client(em, {}, env())
      assert.equal("AK", works(c).mode)
    end)

    it("refuses the modes it does not support, by name, with advice for CloudSSO and OAuth", function()
      for name, want in pairs{
        sso = "mode CloudSSO is not supported by lua-dts: it needs a browser sign-in",
        oauth = "mode OAuth is not supported by lua-dts: it needs a browser sign-in",
        ext = "mode External is not supported by lua-dts (it reads AK, StsToken, RamRoleArn",
        old = "mode RamRoleArnWithRoleName is not supported",
        nothing = "no mode, and none can be told from its fields",
        cycle = "source_profile loops: cycle -> cycle2 -> cycle",
        bad = "ram_role_arn: missing (mode RamRoleArn)",
        missing = 'no profile "missing" in ' .. path .. " (it has: ak, inferred,",
      } do
        local c, err = creds.new(em, { credentials = { type = "profile", name = name } }, env())
        assert.is_nil(c, name)
        assert.equal("invalid_argument", err.kind, name)
        assert.equal("profile", err.param)
        assert.matches(want, err.message, 1, true)
        if name == "sso" then assert.matches("StsToken", err.message, 1, true) end
        -- In the default chain the same is one source's reason.
        c, err = creds.new(em, { profile = name }, env{ DTS_METADATA_ENDPOINT = false,
          ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" })
        assert.is_nil(c, name)
        assert.equal("NoCredentials", err.code)
        assert.matches("profile: ", err.message, 1, true)
        assert.matches(want, err.message, 1, true)
        creds.secret_free(err, { em.access_key_secret })
      end
    end)
  end)

  describe("the INI file", function()
    local ini
    setup(function()
      local k = sts_keys()
      ini = creds.write(dir .. "/credentials.ini", table.concat({
        "# shared with other tools",
        "[default]",
        "type = access_key",
        "access_key_id = " .. em.access_key_id,
        "access_key_secret = " .. em.access_key_secret .. "   # the emulator's",
        "enable = true",
        "[sts]",
        "type = sts",
        "access_key_id = " .. k.access_key_id,
        "access_key_secret = " .. k.access_key_secret,
        "security_token = " .. k.security_token,
        "[role]",
        "type = ram_role_arn",
        "access_key_id = " .. em.access_key_id,
        "access_key_secret = " .. em.access_key_secret,
        "role_arn = " .. em.role_arn,
        "role_session_name = ini-session",
        "[ecs]",
        "type = ecs_ram_role",
        "role_name = " .. em.role_name,
        "[oidc]",
        "type = oidc_role_arn",
        "role_arn = " .. em.role_arn,
        "oidc_provider_arn = " .. em.oidc_provider_arn,
        "oidc_token_file_path = " .. em.oidc_token_file,
        "role_session_name = ini-oidc",
        "[uri]",
        "type = credentials_uri",
        "credentials_uri = " .. em.credentials_uri,
        "[rsa]",
        "type = rsa_key_pair",
        "[half]",
        "type = ram_role_arn",
        "access_key_id = x",
        "",
      }, "\n"))
    end)

    local function section(name)
      local e = { ALIBABA_CLOUD_CREDENTIALS_FILE = ini, ALIBABA_CLOUD_PROFILE = name,
        ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint, DTS_METADATA_ENDPOINT = em.metadata_endpoint }
      return creds.client(em, {}, e)
    end

    for name, want in pairs{
      default = { "AK", "DescribeDtsJobDetail" },
      sts = { "StsToken", "DescribeDtsJobDetail" },
      role = { "RamRoleArn", "AssumeRole,DescribeDtsJobDetail" },
      ecs = { "EcsRamRole", "MetadataToken,MetadataCredentials,DescribeDtsJobDetail" },
      oidc = { "OIDC", "AssumeRoleWithOIDC,DescribeDtsJobDetail" },
      uri = { "CredentialsURI", "CredentialsURI,DescribeDtsJobDetail" },
    } do
      it("[" .. name .. "] gives " .. want[1], function()
        if name == "default" then
          -- Without ALIBABA_CLOUD_PROFILE: the [default] section.
          local c = creds.client(em, {}, { ALIBABA_CLOUD_CREDENTIALS_FILE = ini })
          local info = works(c)
          assert.same({ "INI file", "AK" }, { info.source, info.mode })
          em.clear_log()
        end
        local info = works(section(name))
        assert.same({ "INI file", want[1] }, { info.source, info.mode })
        assert.equal(want[2], actions())
        if name == "role" then assert.equal("ini-session", em.requests()[1].parameters.RoleSessionName) end
      end)
    end

    it("names a type it does not read, and a missing key", function()
      local _, err = creds.new(em, {}, { ALIBABA_CLOUD_CREDENTIALS_FILE = ini, ALIBABA_CLOUD_PROFILE = "rsa" })
      assert.matches('INI file: ' .. ini .. ': [rsa]: type "rsa_key_pair" is not one lua-dts reads',
        err.message, 1, true)
      _, err = creds.new(em, {}, { ALIBABA_CLOUD_CREDENTIALS_FILE = ini, ALIBABA_CLOUD_PROFILE = "half" })
      assert.matches("[half]: access_key_secret: missing (type ram_role_arn)", err.message, 1, true)
      _, err = creds.new(em, {}, { ALIBABA_CLOUD_CREDENTIALS_FILE = ini, ALIBABA_CLOUD_PROFILE = "none" })
      assert.matches("no section [none]", err.message, 1, true)
    end)

    it("is found at ~/.alibabacloud/credentials.ini, else ~/.alibabacloud/credentials", function()
      local home = dir .. "/home"
      require("dts.sys").run("mkdir -p " .. home .. "/.alibabacloud")
      creds.write(home .. "/.alibabacloud/credentials", "[default]\ntype = access_key\naccess_key_id = "
        .. em.access_key_id .. "\naccess_key_secret = " .. em.access_key_secret .. "\n")
      local info = works(creds.client(em, {}, { HOME = home }))
      assert.equal(home .. "/.alibabacloud/credentials", info.where:match(" in (.*)$"))
      creds.write(home .. "/.alibabacloud/credentials.ini", "[default]\ntype = credentials_uri\n"
        .. "credentials_uri = " .. em.credentials_uri .. "\n")
      info = works(creds.client(em, {}, { HOME = home }))
      assert.same({ "CredentialsURI", home .. "/.alibabacloud/credentials.ini" },
        { info.mode, info.where:match(" in (.*)$") })
    end)
  end)

  describe("instance metadata", function()
    local function env(extra)
      local e = { DTS_METADATA_ENDPOINT = em.metadata_endpoint }
      for k, v in pairs(extra or {}) do e[k] = v end
      return e
    end

    it("IMDSv2: a token, the role discovered, the role's credential", function()
      local info = works(creds.client(em, {}, env()))
      assert.same({ "instance metadata", "EcsRamRole", em.role_name }, { info.source, info.mode, info.role_name })
      assert.equal("MetadataToken,MetadataRoleName,MetadataCredentials,DescribeDtsJobDetail", actions())
      local log = em.requests()
      assert.is_true(log[2].token and log[3].token)
      assert.equal(log[3].issued_access_key_id, log[4].access_key_id)
    end)

    it("the role from ALIBABA_CLOUD_ECS_METADATA, or the metadata_endpoint option", function()
      works(creds.client(em, { metadata_endpoint = em.metadata_endpoint },
        { ALIBABA_CLOUD_ECS_METADATA = em.role_name, DTS_METADATA_ENDPOINT = "http://127.0.0.1:1" }))
      assert.equal("MetadataToken,MetadataCredentials,DescribeDtsJobDetail", actions())
    end)

    it("says so when the instance has no such role", function()
      local c = creds.client(em, { credentials = { type = "ecs_ram_role", role_name = "NoSuchRole",
        metadata_endpoint = em.metadata_endpoint } })
      local _, err = creds.describe(c)
      assert.equal("credentials", err.kind)
      assert.matches("HTTP 404: the instance has no RAM role named NoSuchRole", err.message, 1, true)
      assert.equal(0, creds.count(em, "DescribeDtsJobDetail"))
    end)

    describe("served v2-only and v1-only", function()
      local v2, v1
      setup(function()
        v2 = assert(emulator.start{ metadata_mode = "v2_only" })
        v1 = assert(emulator.start{ metadata_mode = "v1_only" })
      end)
      teardown(function()
        if v2 then v2.stop() end
        if v1 then v1.stop() end
      end)

      it("v2-only: works with the token", function()
        works(creds.client(v2, {}, { DTS_METADATA_ENDPOINT = v2.metadata_endpoint }))
      end)

      it("v2-only with a token that cannot be had: the GET without it is refused", function()
        assert(v2.set_faults{ { kind = "error", action = "MetadataToken" } })
        local c = creds.client(v2, { credentials = { type = "ecs_ram_role",
          metadata_endpoint = v2.metadata_endpoint } })
        local _, err = creds.describe(c)
        assert(v2.set_faults{})
        assert.equal("credentials", err.kind)
        assert.matches("cannot read the role name (HTTP 403)", err.message, 1, true)
      end)

      it("v1-only: the token PUT fails, the GETs go without it", function()
        v1.clear_log()
        works(creds.client(v1, {}, { DTS_METADATA_ENDPOINT = v1.metadata_endpoint }))
        local log = v1.requests()
        assert.same({ "MetadataToken", 404 }, { log[1].action, log[1].http_status })
        assert.is_false(log[2].token)
        assert.is_false(log[3].token)
      end)

      it("v1-only with IMDSv1 disabled: an error that says so", function()
        for _, c in ipairs{
          creds.client(v1, {}, { DTS_METADATA_ENDPOINT = v1.metadata_endpoint,
            ALIBABA_CLOUD_IMDSV1_DISABLED = "true" }),
          creds.client(v1, { credentials = { type = "ecs_ram_role", disable_imdsv1 = true,
            metadata_endpoint = v1.metadata_endpoint } }),
        } do
          local _, err = creds.describe(c)
          assert.equal("credentials", err.kind)
          assert.matches("no IMDSv2 token (HTTP 404) and IMDSv1 is disabled", err.message, 1, true)
        end
      end)
    end)
  end)

  describe("the credentials URI", function()
    it("from ALIBABA_CLOUD_CREDENTIALS_URI, its query string kept", function()
      local info = works(creds.client(em, {}, { ALIBABA_CLOUD_CREDENTIALS_URI = em.credentials_uri .. "?token=abc" }))
      assert.same({ "credentials URI", "CredentialsURI", em.credentials_uri },
        { info.source, info.mode, info.credentials_uri })
      assert.equal("CredentialsURI,DescribeDtsJobDetail", actions())
    end)
  end)
end)
