-- The emulator's credential endpoints on the wire (issue 12): STS
-- AssumeRole (GET and POST, the signature verified) and AssumeRoleWithOIDC
-- (the token checked), instance metadata (IMDSv2 tokens, v2-only and
-- v1-only modes) and the credentials URI; what they hand out is accepted by
-- the DTS side until it expires; and the log keeps tokens out.
local core = require "dts.core"
local curl = require "dts.curl"
local cjson = require "cjson.safe"
local dts_call = require "support.dts_call"
local emulator = require "dts.emulator"

describe("dts.emulator credential endpoints", function()
  local em, caller, http

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    caller = dts_call.new(em)
    http = assert(curl.new{ proxy = "", timeout = 10, allow_http = true, ca_file = em.ca_file })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  local function assume(over, r)
    local t = { scheme = "v1", action = "AssumeRole", version = "2015-04-01",
      body = { RoleArn = em.role_arn, RoleSessionName = "spec-session" } }
    for k, v in pairs(r or {}) do t[k] = v end
    return caller:call(t, over)
  end

  local function get(path, headers, method)
    local res = assert(http:request{ method = method or "GET", url = em.metadata_endpoint .. path,
      headers = headers })
    res.json = cjson.decode(res.body)
    return res
  end

  local function last()
    local log = em.requests()
    return log[#log]
  end

  it("names where each source is, and prints them in the environment's names", function()
    assert.equal(em.endpoint, em.sts_endpoint)
    assert.matches("^http://127%.0%.0%.1:%d+$", em.metadata_endpoint)
    assert.equal(em.metadata_endpoint .. "/credentials", em.credentials_uri)
    local names = {}
    for _, kv in ipairs(em.credentials_env()) do names[#names + 1] = kv[1] end
    assert.same({ "ALIBABA_CLOUD_STS_ENDPOINT", "DTS_METADATA_ENDPOINT", "ALIBABA_CLOUD_CREDENTIALS_URI",
      "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE" }, names)
  end)

  describe("AssumeRole", function()
    it("answers a credential to a V1 POST and a V1 GET, signature verified", function()
      for _, method in ipairs{ "POST", "GET" } do
        local r = { method = method }
        if method == "GET" then r.query, r.body = { RoleArn = em.role_arn, RoleSessionName = "spec-session" }, false end
        local res = assert(assume(nil, r))
        assert.equal(200, res.status, res.body)
        local c = res.json.Credentials
        assert.matches("^STS%.", c.AccessKeyId)
        assert.is_string(c.AccessKeySecret)
        assert.is_string(c.SecurityToken)
        local expires = require("dts.time").parse(c.Expiration)
        assert.is_true(math.abs(expires - (os.time() + 3600)) <= 2)
        assert.equal(em.role_arn:gsub(":role/", ":assumed-role/") .. "/spec-session", res.json.AssumedRoleUser.Arn)
        local e = last()
        assert.same({ "sts", "AssumeRole", true, c.AccessKeyId, em.access_key_id },
          { e.service, e.action, e.verified, e.issued_access_key_id, e.access_key_id })
      end
    end)

    it("lives DurationSeconds", function()
      local res = assume(nil, { body = { RoleArn = em.role_arn, RoleSessionName = "s1", DurationSeconds = "900" } })
      local expires = require("dts.time").parse(res.json.Credentials.Expiration)
      assert.is_true(math.abs(expires - (os.time() + 900)) <= 2)
    end)

    it("refuses a bad signature, an unknown key, a bad role, session or duration", function()
      local res = assume(nil, { access_key_secret = "not-the-secret" })
      assert.same({ 400, "SignatureDoesNotMatch" }, { res.status, res.json.Code })
      res = assume(nil, { access_key_id = "LTAInobody" })
      assert.same({ 404, "InvalidAccessKeyId.NotFound" }, { res.status, res.json.Code })
      for body, code in pairs{
        [{ RoleSessionName = "s1" }] = "MissingRoleArn",
        [{ RoleArn = em.role_arn }] = "MissingRoleSessionName",
        [{ RoleArn = "role", RoleSessionName = "s1" }] = "InvalidParameter",
        [{ RoleArn = em.role_arn, RoleSessionName = "x" }] = "InvalidParameter.RoleSessionName",
        [{ RoleArn = em.role_arn, RoleSessionName = "s1", DurationSeconds = "899" }] =
          "InvalidParameter.DurationSeconds",
      } do
        res = assume(nil, { body = body })
        assert.equal(code, res.json.Code)
      end
      res = assume(nil, { version = "2014-01-01" })
      assert.equal("InvalidVersion", res.json.Code)
    end)

    it("accepts a credential it handed out as the signing key (a chained role)", function()
      local c = assume().json.Credentials
      local res = assume(nil, { access_key_id = c.AccessKeyId, access_key_secret = c.AccessKeySecret,
        security_token = c.SecurityToken })
      assert.equal(200, res.status, res.body)
      res = assume(nil, { access_key_id = c.AccessKeyId, access_key_secret = c.AccessKeySecret })
      assert.equal("InvalidSecurityToken.MismatchWithAccessKey", res.json.Code)
    end)

    it("answers NoPermission and Throttling.User when told", function()
      assert(em.set_faults{ no_permission_every = 1 })
      local res = assume()
      assert.same({ 403, "NoPermission" }, { res.status, res.json.Code })
      assert(em.set_faults{ { kind = "throttle", action = "AssumeRole" } })
      assert.equal("Throttling.User", assume().json.Code)
      -- A rule without action strikes DTS only.
      assert(em.set_faults{ throttle_every = 1 })
      assert.equal(200, assume().status)
    end)
  end)

  describe("AssumeRoleWithOIDC", function()
    local function oidc(params)
      local p = { Action = "AssumeRoleWithOIDC", Version = "2015-04-01", Format = "JSON",
        Timestamp = core.timestamp(), RoleArn = em.role_arn, OIDCProviderArn = em.oidc_provider_arn,
        OIDCToken = emulator.TEST_OIDC_TOKEN, RoleSessionName = "k8s-pod" }
      for k, v in pairs(params or {}) do p[k] = v or nil end
      local parts = {}
      for k, v in pairs(p) do parts[#parts + 1] = core.percent_encode(k) .. "=" .. core.percent_encode(v) end
      local res = assert(http:request{ method = "POST", url = em.url .. "/", body = table.concat(parts, "&"),
        headers = { ["content-type"] = "application/x-www-form-urlencoded" } })
      res.json = cjson.decode(res.body)
      return res
    end

    it("answers a credential to the right token, unsigned, and logs no token", function()
      local res = oidc()
      assert.equal(200, res.status, res.body)
      assert.matches("^STS%.", res.json.Credentials.AccessKeyId)
      assert.is_table(res.json.OIDCTokenInfo)
      local e = last()
      assert.same({ "sts", "AssumeRoleWithOIDC", true }, { e.service, e.action, e.verified })
      assert.is_nil(e.parameters.OIDCToken)
      local f = assert(io.open(em.log_file, "rb"))
      local text = f:read("*a")
      f:close()
      assert.not_matches(emulator.TEST_OIDC_TOKEN, text, 1, true)
    end)

    it("refuses another token, a missing one, and a missing session name", function()
      assert.equal("InvalidParameter", oidc{ OIDCToken = "someone-else" }.json.Code)
      assert.equal("MissingOIDCToken", oidc{ OIDCToken = false }.json.Code)
      assert.equal("MissingRoleSessionName", oidc{ RoleSessionName = false }.json.Code)
      assert.equal("MissingOIDCProviderArn", oidc{ OIDCProviderArn = false }.json.Code)
    end)

    it("writes its token to the file it names", function()
      assert.equal(emulator.TEST_OIDC_TOKEN, require("dts.sys").read_file(em.oidc_token_file))
    end)
  end)

  describe("instance metadata", function()
    local function token(ttl)
      return get("/latest/api/token", { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = ttl or "21600" }, "PUT")
    end
    local ROLE = "/latest/meta-data/ram/security-credentials/"

    it("IMDSv2: token, role name, the role's credential with Code Success", function()
      local t = token()
      assert.equal(200, t.status)
      local h = { ["X-aliyun-ecs-metadata-token"] = t.body }
      local r = get(ROLE, h)
      assert.same({ 200, em.role_name }, { r.status, r.body })
      local c = get(ROLE .. em.role_name, h)
      assert.equal(200, c.status)
      assert.equal("Success", c.json.Code)
      for _, k in ipairs{ "AccessKeyId", "AccessKeySecret", "SecurityToken", "Expiration", "LastUpdated" } do
        assert.is_string(c.json[k], k)
      end
      assert.same({ "metadata", "MetadataCredentials", true }, { last().service, last().action, last().token })
    end)

    it("IMDSv1 by default; a token must be valid; the TTL header is required", function()
      assert.equal(200, get(ROLE).status)
      assert.equal(401, get(ROLE, { ["X-aliyun-ecs-metadata-token"] = "forged" }).status)
      assert.equal(400, get("/latest/api/token", nil, "PUT").status)
      assert.equal(400, token("0").status)
      assert.equal(405, get("/latest/api/token").status)
      assert.equal(404, get(ROLE .. "OtherRole").status)
      assert.equal(404, get("/latest/meta-data/other").status)
    end)

    it("answers the credentials URI", function()
      local c = get("/credentials?any=thing")
      assert.same({ 200, "Success" }, { c.status, c.json.Code })
      assert.equal("uri", last().service)
    end)

    it("v2-only refuses a GET without a token; v1-only has no token", function()
      local v2 = assert(emulator.start{ metadata_mode = "v2_only" })
      local v1 = assert(emulator.start{ metadata_mode = "v1_only", role_name = "Custom" })
      local function at(e, path, headers, method)
        return assert(http:request{ method = method or "GET", url = e.metadata_endpoint .. path, headers = headers })
      end
      local s1 = at(v2, ROLE).status
      local s2 = at(v1, "/latest/api/token", { ["X-aliyun-ecs-metadata-token-ttl-seconds"] = "60" }, "PUT").status
      local s3 = at(v1, ROLE).body
      v2.stop()
      v1.stop()
      assert.same({ 403, 404, "Custom" }, { s1, s2, s3 })
    end)

    it("answers Code Failure and a bad Expiration when told", function()
      assert(em.set_faults{ failure_code_every = 1, bad_expiration_every = 1 })
      local c = get(ROLE .. em.role_name)
      assert.equal("Failure", c.json.Code)
      assert.equal("tomorrow at noon", c.json.Expiration)
    end)
  end)

  describe("what it hands out", function()
    local function dts_call_with(c)
      return caller:call{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" },
        access_key_id = c.AccessKeyId, access_key_secret = c.AccessKeySecret, security_token = c.SecurityToken }
    end

    it("is accepted by DTS with its token, refused without", function()
      local c = assume().json.Credentials
      assert.equal(200, dts_call_with(c).status)
      c.SecurityToken = false
      assert.equal("InvalidSecurityToken.MismatchWithAccessKey", dts_call_with(c).json.Code)
    end)

    it("is refused once expired, and lives first_lifetime the first time", function()
      local short = assert(emulator.start{ first_lifetime = -1, lifetime = 1200 })
      local h = assert(curl.new{ proxy = "", allow_http = true })
      local function uri()
        return cjson.decode(assert(h:request{ url = short.credentials_uri }).body)
      end
      local first, second = uri(), uri()
      local other = dts_call.new(short)
      local function call(c)
        return other:call{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" },
          access_key_id = c.AccessKeyId, access_key_secret = c.AccessKeySecret, security_token = c.SecurityToken }
      end
      local r1, r2 = call(first), call(second)
      short.stop()
      assert.same({ 403, "InvalidSecurityToken.Expired" }, { r1.status, r1.json.Code })
      assert.equal(200, r2.status)
      local e2 = require("dts.time").parse(second.Expiration)
      assert.is_true(math.abs(e2 - (os.time() + 1200)) <= 2)
    end)

    it("DTS answers InvalidSecurityToken.Expired when told", function()
      assert(em.set_faults{ expired_token_every = 1 })
      local res = caller:call{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" } }
      assert.equal("InvalidSecurityToken.Expired", res.json.Code)
    end)
  end)

  it("refuses bad options", function()
    for _, case in ipairs{
      { { metadata_mode = "v3" }, "metadata_mode" },
      { { lifetime = 0 }, "lifetime" },
      { { role_name = "a b" }, "role_name" },
      { { oidc_token = "ab" }, "oidc_token" },
      { { faults = { { kind = "failure_code", action = "ModifyDtsJob" } } }, "changes credential answers only" },
    } do
      local e, err = emulator.start(case[1])
      assert.is_nil(e)
      assert.matches(case[2], err, 1, true)
    end
  end)
end)
