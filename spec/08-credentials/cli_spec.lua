-- The dts command's credentials: `dts credentials` (which source, mode,
-- masked key id, expiration; never a secret), `--profile` in every mode,
-- ALIBABA_CLOUD_PROFILE as in the aliyun CLI, and exit 2 when no source
-- gives keys.  Each run gets only the environment given here.
local cjson = require "cjson"
local creds = require "support.creds"
local emulator = require "dts.emulator"
local sys = require "dts.sys"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local ABI = jit and "luajit" or _VERSION:match("%d+%.%d+")

describe("dts and credentials", function()
  local em, dir, config, secrets

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    dir = creds.tmpdir()
    local ok, k = creds.client(em, { credentials = { type = "credentials_uri",
      credentials_uri = em.credentials_uri } }).credentials.get()
    assert(ok)
    secrets = { em.access_key_secret, k.access_key_secret, k.security_token }
    local region = "cn-hangzhou"
    config = creds.config(dir, {
      { name = "ak", mode = "AK", access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
        region_id = region },
      { name = "sts", mode = "StsToken", access_key_id = k.access_key_id, access_key_secret = k.access_key_secret,
        sts_token = k.security_token, region_id = region },
      { name = "role", mode = "RamRoleArn", access_key_id = em.access_key_id,
        access_key_secret = em.access_key_secret, ram_role_arn = em.role_arn, region_id = region },
      { name = "chain", mode = "ChainableRamRoleArn", source_profile = "role", ram_role_arn = em.role_arn,
        region_id = region },
      { name = "ecs", mode = "EcsRamRole", region_id = region },
      { name = "oidc", mode = "OIDC", ram_role_arn = em.role_arn, oidc_provider_arn = em.oidc_provider_arn,
        oidc_token_file = em.oidc_token_file, region_id = region },
      { name = "uri", mode = "CredentialsURI", credentials_uri = em.credentials_uri, region_id = region },
      { name = "sso", mode = "CloudSSO" },
    })
  end)

  teardown(function()
    if em then em.stop() end
    creds.rmdir(dir)
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  -- `dts <args>` with exactly this environment (HOME an empty directory);
  -- exit code, stdout, stderr.  No secret may appear in either.
  local function dts(args, env)
    local vars = { "PATH=/usr/bin:/bin", "HOME=" .. sys.quote(dir .. "/home"),
      "LUA_CPATH=" .. sys.quote("build/" .. ABI .. "/?.so;;") }
    for k, v in pairs(env or {}) do vars[#vars + 1] = k .. "=" .. sys.quote(v) end
    local out, errf = os.tmpname(), os.tmpname()
    local p = io.popen(("unset LD_PRELOAD; env -i %s %s bin/dts %s >%s 2>%s; echo $?"):format(
      table.concat(vars, " "), LUA, args, out, errf))
    local code = tonumber(p:read("*a"))
    p:close()
    local stdout, stderr = sys.read_file(out), sys.read_file(errf)
    os.remove(out)
    os.remove(errf)
    creds.secret_free(stdout .. stderr, secrets)
    return code, stdout, stderr
  end

  local META = function() return { DTS_METADATA_ENDPOINT = em.metadata_endpoint } end

  it("dts credentials: the source, mode, masked key id and expiration", function()
    local code, out, err = dts("credentials", META())
    assert.equal(0, code, err)
    local issued = creds.entries(em, "MetadataCredentials")[1].issued_access_key_id
    assert.matches("source:         instance metadata", out, 1, true)
    assert.matches("mode:           EcsRamRole", out, 1, true)
    assert.matches("access key id:  STS.", out, 1, true)
    assert.matches("security token: yes (not shown)", out, 1, true)
    assert.matches("expiration:     %d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ %(in %d+ min%)", out)
    assert.not_matches(issued, out, 1, true)
    assert.matches(issued:sub(-4), out, 1, true)
    -- Nothing went to DTS.
    assert.equal(0, creds.count(em, "DescribeDtsJobDetail"))
  end)

  it("dts credentials --json, and long-lived keys", function()
    local code, out = dts("credentials --json", { ALIBABA_CLOUD_ACCESS_KEY_ID = em.access_key_id,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET = em.access_key_secret, ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" })
    assert.equal(0, code)
    local t = cjson.decode(out)
    assert.same({ "environment", "AK", false }, { t.source, t.mode, t.security_token })
    assert.is_nil(t.expiration)
    assert.equal(em.access_key_id:sub(1, 4), t.access_key_id:sub(1, 4))
    assert.not_matches(em.access_key_id, out, 1, true)
  end)

  it("exits 2 when no source gives keys, saying why for each", function()
    local code, out, err = dts("credentials", { ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" })
    assert.equal(2, code)
    assert.equal("", out)
    assert.matches("NoCredentials", err, 1, true)
    for _, source in ipairs{ "environment:", "OIDC:", "profile:", "INI file:", "instance metadata:",
                             "credentials URI:" } do
      assert.matches(source, err, 1, true)
    end
    code, out = dts("describe --dts-job-id dtsdemojob00001 --region cn-hangzhou --json",
      { ALIBABA_CLOUD_ECS_METADATA_DISABLED = "true" })
    assert.equal(2, code)
    local t = cjson.decode(out)
    assert.equal("NoCredentials", t.error.code)
    assert.equal(6, #t.error.sources)
    assert.equal(0, #em.requests())
  end)

  it("dts --profile takes every supported mode, the region from the profile", function()
    for _, name in ipairs{ "ak", "sts", "role", "chain", "ecs", "oidc", "uri" } do
      local code, out, err = dts(("describe --profile %s --dts-job-id dtsdemojob00001 --endpoint %s --ca-file %s")
        :format(name, em.endpoint, em.ca_file), { ALIBABA_CLOUD_CONFIG_FILE = config,
        ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint, DTS_METADATA_ENDPOINT = em.metadata_endpoint })
      assert.equal(0, code, name .. ": " .. err)
      assert.matches("is synchronizing", out, 1, true)
    end
    local code, _, err = dts("credentials --profile sso", { ALIBABA_CLOUD_CONFIG_FILE = config })
    assert.equal(2, code)
    assert.matches('profile "sso" in ' .. config .. ": mode CloudSSO is not supported", err, 1, true)
    code, _, err = dts("credentials --profile nope", { ALIBABA_CLOUD_CONFIG_FILE = config })
    assert.equal(2, code)
    assert.matches('no profile "nope"', err, 1, true)
  end)

  it("--profile and --region may come before the command, as in the aliyun CLI", function()
    local env = { ALIBABA_CLOUD_CONFIG_FILE = config, ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint,
      DTS_CA_FILE = em.ca_file }
    local code, out, err = dts("--profile role credentials", env)
    assert.equal(0, code, err)
    assert.matches("mode:%s+RamRoleArn", out)
    code, out, err = dts(("--profile role --region cn-hangzhou describe --dts-job-id dtsdemojob00001 "
      .. "--endpoint %s"):format(em.endpoint), env)
    assert.equal(0, code, err)
    assert.matches("is synchronizing", out, 1, true)
    local _
    code, _, err = dts("--region cn-beijing describe --region cn-hangzhou --dts-job-id x", env)
    assert.equal(2, code)
    assert.matches("--region given before and after the command, with different values", err, 1, true)
    code, _, err = dts("--profile role emulator", env)
    assert.equal(2, code)
    assert.matches("--profile does not apply to the emulator", err, 1, true)
  end)

  it("ALIBABA_CLOUD_PROFILE picks the profile as in the aliyun CLI, even over environment keys", function()
    local code, out = dts("credentials --json --ca-file " .. em.ca_file, { ALIBABA_CLOUD_CONFIG_FILE = config,
      ALIBABA_CLOUD_PROFILE = "role", ALIBABA_CLOUD_STS_ENDPOINT = em.sts_endpoint,
      ALIBABA_CLOUD_ACCESS_KEY_ID = "LTAIfromenv", ALIBABA_CLOUD_ACCESS_KEY_SECRET = "env-secret" })
    assert.equal(0, code)
    local t = cjson.decode(out)
    assert.same({ "profile", "RamRoleArn" }, { t.source, t.mode })
    assert.equal(1, creds.count(em, "AssumeRole"))
    -- --profile beats it.
    code, out = dts("credentials --json --profile ak", { ALIBABA_CLOUD_CONFIG_FILE = config,
      ALIBABA_CLOUD_PROFILE = "role" })
    assert.equal(0, code)
    assert.equal("AK", cjson.decode(out).mode)
  end)

  it("lists the command and its flags in the help", function()
    local code, out = dts("--help")
    assert.equal(0, code)
    assert.matches("credentials", out, 1, true)
    code, out = dts("credentials --help")
    assert.equal(0, code)
    for _, flag in ipairs{ "--profile", "--ca-file", "--timeout", "--json" } do
      assert.matches(flag, out, 1, true)
    end
  end)
end)
