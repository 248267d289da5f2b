-- Every way a credential source can fail, from the emulator: broken JSON,
-- a bad Expiration, Code other than Success, timeouts, non-200 answers and
-- STS's refusals (as the usual error objects), throttling retried with
-- back-off.  Each is kind credentials, sends nothing to DTS, and holds no
-- secret.
local creds = require "support.creds"
local emulator = require "dts.emulator"
local from_json = require("dts.credentials.creds").from_json

describe("credential source failures", function()
  local em, secrets

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    local ok, k = creds.client(em, { credentials = { type = "credentials_uri",
      credentials_uri = em.credentials_uri } }).credentials.get()
    assert(ok)
    secrets = { em.access_key_secret, k.access_key_secret, k.security_token,
      assert(require("dts.sys").read_file(em.oidc_token_file)) }
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  local SOURCES = {
    metadata = function() return { type = "ecs_ram_role", metadata_endpoint = em.metadata_endpoint } end,
    uri = function() return { type = "credentials_uri", credentials_uri = em.credentials_uri } end,
    role = function()
      return { type = "ram_role_arn", access_key_id = em.access_key_id,
        access_key_secret = em.access_key_secret, role_arn = em.role_arn }
    end,
    oidc = function()
      return { type = "oidc_role_arn", role_arn = em.role_arn, oidc_provider_arn = em.oidc_provider_arn,
        oidc_token_file = em.oidc_token_file }
    end,
  }

  -- The error of a call with that source, after checking what every
  -- credential error must be.
  local function fails(source, opts)
    local o = { credentials = SOURCES[source](), sts_endpoint = em.sts_endpoint }
    for k, v in pairs(opts or {}) do o[k] = v end
    local c = creds.client(em, o)
    local res, err = creds.describe(c)
    assert.is_nil(res)
    assert.equal("credentials", err.kind, tostring(err))
    assert.equal(0, err.attempts)
    assert.is_false(err.retryable)
    assert.equal(0, creds.count(em, "DescribeDtsJobDetail"))
    creds.secret_free(tostring(err), secrets)
    return err
  end

  local ACTION = { metadata = "MetadataCredentials", uri = "CredentialsURI", role = "AssumeRole",
    oidc = "AssumeRoleWithOIDC" }

  for _, source in ipairs{ "metadata", "uri", "role", "oidc" } do
    describe(source, function()
      it("an answer that is not JSON", function()
        assert(em.set_faults{ { kind = "garbage", action = ACTION[source] } })
        local err = fails(source)
        if source == "metadata" or source == "uri" then
          assert.matches("is not a JSON object", err.message, 1, true)
        else
          assert.matches("a body that is not a JSON object", err.message, 1, true)
        end
      end)

      it("JSON cut in half", function()
        assert(em.set_faults{ { kind = "truncate", action = ACTION[source] } })
        fails(source)
      end)

      it("an Expiration that is not a time", function()
        assert(em.set_faults{ { kind = "bad_expiration", action = ACTION[source] } })
        local err = fails(source)
        assert.matches('Expiration "tomorrow at noon" is not a time of the form yyyy-MM-ddTHH:mm:ssZ',
          err.message, 1, true)
      end)

      it("an HTTP 500", function()
        assert(em.set_faults{ { kind = "error", action = ACTION[source] } })
        local err = fails(source)
        if source == "role" or source == "oidc" then
          -- Retried (5xx), then the service's error object.
          assert.same({ "ServiceUnavailable", 500 }, { err.code, err.http_status })
          assert.equal(3, creds.count(em, ACTION[source]))
        else
          assert.matches("HTTP 500", err.message, 1, true)
        end
      end)
    end)
  end

  it("metadata and the URI with Code other than Success", function()
    for _, source in ipairs{ "metadata", "uri" } do
      assert(em.set_faults{ { kind = "failure_code" } })
      local err = fails(source)
      assert.matches('Code is "Failure", not "Success"', err.message, 1, true)
      assert.equal("Failure", err.code)
    end
  end)

  it("metadata that does not answer within 1 s", function()
    assert(em.set_faults{ { kind = "delay", seconds = 1.5, action = "MetadataCredentials" } })
    local err = fails("metadata", { timeout = 30 })
    assert.matches("cannot read the role's credential (timeout: ", err.message, 1, true)
  end)

  it("a metadata token that cannot be had falls back to IMDSv1", function()
    assert(em.set_faults{ { kind = "delay", seconds = 1.5, action = "MetadataToken" } })
    local c = creds.client(em, { credentials = SOURCES.metadata() })
    assert(creds.describe(c))
    local log = creds.entries(em, "MetadataRoleName", "MetadataCredentials")
    assert.is_false(log[1].token)
    assert.is_false(log[2].token)
  end)

  it("STS NoPermission, as the error object STS answered", function()
    assert(em.set_faults{ { kind = "no_permission" } })
    for _, source in ipairs{ "role", "oidc" } do
      local err = fails(source)
      assert.same({ "NoPermission", 403 }, { err.code, err.http_status })
      assert.is_string(err.request_id)
      assert.matches("STS Assume", err.message, 1, true)
      assert.matches("You are not authorized", err.message, 1, true)
    end
  end)

  it("STS throttling, retried with back-off", function()
    assert(em.set_faults{ { kind = "throttle", action = "AssumeRole", times = 2 } })
    local c = creds.client(em, { credentials = SOURCES.role(), sts_endpoint = em.sts_endpoint })
    assert(creds.describe(c))
    assert.equal(3, creds.count(em, "AssumeRole"))
    assert(em.set_faults{ { kind = "throttle", action = "AssumeRole" } })
    em.clear_log()
    local err = fails("role")
    assert.same({ "Throttling.User", 3 }, { err.code, creds.count(em, "AssumeRole") })
  end)

  it("STS refusing the signing key, the role and the OIDC token", function()
    local err = fails("role", { credentials = { type = "ram_role_arn", access_key_id = "LTAIunknown",
      access_key_secret = "wrong-secret-0000", role_arn = em.role_arn } })
    assert.equal("InvalidAccessKeyId.NotFound", err.code)
    creds.secret_free(tostring(err), { "wrong-secret-0000" })
    err = fails("role", { credentials = { type = "ram_role_arn", access_key_id = em.access_key_id,
      access_key_secret = "wrong-secret-0000", role_arn = em.role_arn } })
    assert.equal("SignatureDoesNotMatch", err.code)
    creds.secret_free(tostring(err), { "wrong-secret-0000" })
    err = fails("role", { credentials = { type = "ram_role_arn", access_key_id = em.access_key_id,
      access_key_secret = em.access_key_secret, role_arn = "arn:not-a-role" } })
    assert.equal("InvalidParameter", err.code)
    local dir = creds.tmpdir()
    err = fails("oidc", { credentials = { type = "oidc_role_arn", role_arn = em.role_arn,
      oidc_provider_arn = em.oidc_provider_arn,
      oidc_token_file = creds.write(dir .. "/t", "some-other-token") } })
    assert.equal("InvalidParameter", err.code)
    creds.secret_free(tostring(err), { "some-other-token" })
    err = fails("oidc", { credentials = { type = "oidc_role_arn", role_arn = em.role_arn,
      oidc_provider_arn = em.oidc_provider_arn, oidc_token_file = dir .. "/absent" } })
    assert.matches("cannot read the OIDC token file " .. dir .. "/absent", err.message, 1, true)
    creds.rmdir(dir)
  end)

  it("STS that cannot be reached at all", function()
    local err = fails("role", { sts_endpoint = "localhost:1" })
    assert.matches("STS AssumeRole at localhost:1: network: ", err.message, 1, true)
  end)

  it("a credential object missing a field, or not an object", function()
    local _, err = from_json({ AccessKeyId = "a", AccessKeySecret = "s3cr3t",
      Expiration = "2030-01-01T00:00:00Z" }, "src")
    assert.equal("src: the answer lacks SecurityToken", err.message)
    _, err = from_json("x", "src")
    assert.equal("src: the answer holds no credentials object", err.message)
    _, err = from_json({ AccessKeyId = "a", AccessKeySecret = "s3cr3t", SecurityToken = "t",
      Expiration = "2030-02-30T00:00:00Z" }, "src")
    assert.matches("is not a time", err.message, 1, true)
  end)
end)
