-- The default chain: the official order and what beats what, sticking to
-- the source that answered, the one error that says why each source gave
-- nothing, and a metadata service that did not answer asked only once.
local creds = require "support.creds"
local emulator = require "dts.emulator"

local unpack = table.unpack or unpack

describe("the default chain", function()
  local em, dir, config, ini

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    dir = creds.tmpdir()
    config = creds.config(dir, {
      { name = "role", mode = "RamRoleArn", access_key_id = em.access_key_id,
        access_key_secret = em.access_key_secret, ram_role_arn = em.role_arn },
    })
    ini = creds.write(dir .. "/credentials.ini", "[default]\ntype = credentials_uri\ncredentials_uri = "
      .. em.credentials_uri .. "?from=ini\n")
  end)

  teardown(function()
    if em then em.stop() end
    creds.rmdir(dir)
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  -- Every source configured, minus the names given.
  local function all_but(...)
    local e = {
      ALIBABA_CLOUD_ACCESS_KEY_ID = em.access_key_id, ALIBABA_CLOUD_ACCESS_KEY_SECRET = em.access_key_secret,
      ALIBABA_CLOUD_ROLE_ARN = em.role_arn, ALIBABA_CLOUD_OIDC_PROVIDER_ARN = em.oidc_provider_arn,
      ALIBABA_CLOUD_OIDC_TOKEN_FILE = em.oidc_token_file, ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint,
      ALIBABA_CLOUD_CONFIG_FILE = config, ALIBABA_CLOUD_CREDENTIALS_FILE = ini,
      DTS_METADATA_ENDPOINT = em.metadata_endpoint, ALIBABA_CLOUD_CREDENTIALS_URI = em.credentials_uri,
    }
    for i = 1, select("#", ...) do
      for _, k in ipairs(({
        environment = { "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET" },
        OIDC = { "ALIBABA_CLOUD_ROLE_ARN" },
        profile = { "ALIBABA_CLOUD_CONFIG_FILE" },
        ["INI file"] = { "ALIBABA_CLOUD_CREDENTIALS_FILE" },
        ["instance metadata"] = { "DTS_METADATA_ENDPOINT" },
      })[select(i, ...)]) do e[k] = nil end
    end
    return e
  end

  local function source_of(env, opts)
    local c = creds.client(em, opts, env)
    local res, err = creds.describe(c)
    assert(res, err and tostring(err))
    return c.credentials.describe().source, c
  end

  it("tries environment, OIDC, profile, INI file, instance metadata, credentials URI in that order", function()
    local gone = {}
    for _, want in ipairs{ "environment", "OIDC", "profile", "INI file", "instance metadata", "credentials URI" } do
      em.clear_log()
      assert.equal(want, (source_of(all_but(unpack(gone)))))
      gone[#gone + 1] = want
      -- Sources before the one that answered were not asked (the network
      -- ones would show in the log): only that one's endpoint was.
      local asked = {}
      for _, e in ipairs(em.requests()) do asked[e.service or "dts"] = true end
      if want == "OIDC" or want == "profile" then assert.is_true(asked.sts) end
      if want ~= "instance metadata" then assert.is_nil(asked.metadata) end
    end
  end)

  it("environment keys beat a profile, even one named by ALIBABA_CLOUD_PROFILE or the profile option", function()
    local env = all_but("OIDC")
    env.ALIBABA_CLOUD_PROFILE = "role"
    assert.equal("environment", (source_of(env)))
    assert.equal("environment", (source_of(env, { profile = "role" })))
    assert.equal(0, creds.count(em, "AssumeRole"))
  end)

  it("the profile option picks the profile and the INI section, as ALIBABA_CLOUD_PROFILE does", function()
    local env = all_but("environment", "OIDC")
    assert.equal("profile", (source_of(env, { profile = "role" })))
    -- Neither config.json nor the INI file has it: both are skipped.
    assert.equal("instance metadata", (source_of(env, { profile = "absent" })))
  end)

  it("skips config.json with ALIBABA_CLOUD_CLI_PROFILE_DISABLED=true", function()
    local env = all_but("environment", "OIDC")
    env.ALIBABA_CLOUD_CLI_PROFILE_DISABLED = "TRUE"
    assert.equal("INI file", (source_of(env)))
  end)

  it("moves on from a source that fails, then sticks to the one that answered", function()
    -- The profile's AssumeRole is refused; instance metadata answers.
    local env = all_but("environment", "OIDC", "INI file")
    env.ALIBABA_CLOUD_CREDENTIALS_URI = nil
    assert(em.set_faults{ { kind = "no_permission", action = "AssumeRole" } })
    local source, c = source_of(env)
    assert.equal("instance metadata", source)
    assert.equal(1, creds.count(em, "AssumeRole"))
    -- DTS calls the token expired: the refresh goes to metadata alone.
    assert(em.set_faults{ { kind = "expired_token", times = 1 } })
    em.clear_log()
    assert(creds.describe(c))
    assert.equal(0, creds.count(em, "AssumeRole"))
    assert.equal(1, creds.count(em, "MetadataCredentials"))
    -- Once it answered, its failure is the error: no falling through.
    assert(em.set_faults{ { kind = "expired_token", times = 1 }, { kind = "failure_code" } })
    em.clear_log()
    local res, err = creds.describe(c)
    assert.is_nil(res)
    assert.equal("credentials", err.kind)
    assert.matches('instance metadata at ' .. em.metadata_endpoint .. ': Code is "Failure"', err.message, 1, true)
    assert.is_nil(err.sources)
    assert.equal(0, creds.count(em, "AssumeRole"))
  end)

  it("says why each source gave nothing, at once when nothing can be tried", function()
    local home = dir .. "/empty-home"
    local c, err = creds.new(em, {}, { HOME = home, ALIBABA_CLOUD_ACCESS_KEY_ID = "LTAIonlytheid",
      ALIBABA_CLOUD_ROLE_ARN = em.role_arn, ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" })
    assert.is_nil(c)
    assert.same({ "credentials", "NoCredentials" }, { err.kind, err.code })
    local reasons = {}
    for i, s in ipairs(err.sources) do reasons[i] = s.source .. ": " .. s.reason end
    assert.same({
      "environment: ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not",
      "OIDC: ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE are not set",
      "profile: no file " .. home .. "/.aliyun/config.json",
      "INI file: no file " .. home .. "/.alibabacloud/credentials.ini nor " .. home .. "/.alibabacloud/credentials",
      "instance metadata: skipped: ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
      "credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set",
    }, reasons)
    for _, r in ipairs(reasons) do assert.matches(r, err.message, 1, true) end
    assert.equal(0, #em.requests())
    creds.secret_free(tostring(err), { em.access_key_secret })
  end)

  it("reports what each source said when all were tried, secrets kept out", function()
    assert(em.set_faults{ { kind = "failure_code", action = "MetadataCredentials" } })
    local c = creds.client(em, {}, { DTS_METADATA_ENDPOINT = em.metadata_endpoint,
      ALIBABA_CLOUD_CREDENTIALS_URI = em.credentials_uri .. "?secret=querytoken", HOME = dir .. "/none" })
    assert(em.set_faults{ { kind = "failure_code" } })
    local res, err = creds.describe(c)
    assert.is_nil(res)
    assert.same({ "credentials", "NoCredentials", 0 }, { err.kind, err.code, err.attempts })
    assert.matches('instance metadata: instance metadata at ' .. em.metadata_endpoint
      .. ': Code is "Failure", not "Success"', err.message, 1, true)
    assert.matches('credentials URI: credentials URI ' .. em.credentials_uri .. ': Code is "Failure"',
      err.message, 1, true)
    creds.secret_free(tostring(err), { "querytoken", em.access_key_secret })
    assert.equal(0, creds.count(em, "DescribeDtsJobDetail"))
  end)

  it("asks a metadata service that did not answer only once", function()
    assert(em.set_faults{ { kind = "drop", action = "MetadataToken" }, { kind = "drop", action = "MetadataRoleName" } })
    local c = creds.client(em, {}, { DTS_METADATA_ENDPOINT = em.metadata_endpoint, HOME = dir .. "/none" })
    local _, err = creds.describe(c)
    assert.equal("NoCredentials", err.code)
    local asked = #em.requests()
    assert.is_true(asked >= 2)
    _, err = creds.describe(c)
    assert.equal("NoCredentials", err.code)
    assert.matches("not asked again by this client", err.message, 1, true)
    assert.equal(asked, #em.requests())
  end)
end)
