-- The emulator's gateway side over HTTPS on 127.0.0.1: both signature
-- schemes in the shapes the SDKs send (signing.md 2.3, 3.4), and every
-- refusal with its code, HTTP status and body shape (dts-api.md 1.2, 1.3).
local core = require "dts.core"
local codes = require "dts.codes"
local emulator = require "dts.emulator"
local dts_call = require "support.dts_call"

local JOB = "dtsdemojob00001"
local INSTANCE = "dtsdemoinstance01"
local V1_PREFIX = "Specified signature is not matched with our calculation. server string to sign is:"

-- The gateway error object with its status from dts.codes.
local function gateway_error(res, code, status)
  assert.are.equal(status or codes.lookup(code).status, res.status)
  local b = assert(res.json, res.body)
  assert.are.equal(code, b.Code)
  assert.are.equal("dts.aliyuncs.com", b.HostId)
  assert.matches("^%x+%-%x+%-%x+%-%x+%-%x+$", b.RequestId)
  assert.are.equal("https://api.aliyun.com/troubleshoot?q=" .. code
    .. "&product=Dts&requestId=" .. b.RequestId, b.Recommend)
  assert.is_string(b.Message)
  assert.is_nil(b.Success)
  local n = 0
  for _ in pairs(b) do
    n = n + 1
  end
  assert.are.equal(5, n)
  return b
end

local function replace(s, from, to)
  local i, j = s:find(from, 1, true)
  assert(i, "no " .. from .. " in " .. s)
  return s:sub(1, i - 1) .. to .. s:sub(j + 1)
end

describe("dts.emulator protocol", function()
  local em, caller

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    caller = dts_call.new(em)
  end)

  teardown(function()
    if em then
      em.stop()
    end
  end)

  local function describe_job(r)
    r.action = r.action or "DescribeDtsJobDetail"
    r.query = r.query or { DtsJobId = JOB, RegionId = "cn-hangzhou" }
    return caller:ok(r)
  end

  it("starts with the documented handle", function()
    assert.matches("^https://localhost:%d+$", em.url)
    assert.are.equal("localhost:" .. em.port, em.endpoint)
    assert.are.equal("localhost", em.host)
    assert.are.equal("127.0.0.1", em.address)
    assert.truthy(io.open(em.ca_file)):close()
    assert.are.equal("LTAIemulatorTestKey", em.access_key_id)
    assert.are.equal("emulator-test-secret-not-real", em.access_key_secret)
    for _, f in ipairs({ "stop", "requests", "clear_log", "set_faults", "state" }) do
      assert.is_function(em[f])
    end
  end)

  describe("accepts", function()
    it("V1 GET with every parameter in the URL (the DOC-V2 example's shape)", function()
      local res = describe_job{ scheme = "v1", method = "GET" }
      assert.are.equal(200, res.status, res.body)
      assert.is_true(res.json.Success)
      assert.are.equal("", res.signed.body)
      local e = em.requests()[#em.requests()]
      assert.same({ "v1", "GET", true, "OK", 200 }, { e.scheme, e.method, e.verified, e.code, e.http_status })
    end)

    it("V1 POST with query in the URL and DbList in the form body (the SDKs)", function()
      local res = caller:ok{ scheme = "v1", action = "ModifyDtsJob",
        query = { DtsInstanceId = INSTANCE, RegionId = "cn-hangzhou" },
        body = { DbList = '{"dtstestdata":{"name":"dtstestdata","all":true}}' } }
      assert.are.equal(200, res.status, res.body)
    end)

    it("V1 POST with every parameter, Signature too, in the body (pop-core, Terraform)", function()
      local s = caller:sign{ scheme = "v1", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      local body = s.target:match("^/%?(.*)$")
      local res = assert(caller:send(s, { target = "/", body = body,
        headers = { ["content-type"] = "application/x-www-form-urlencoded" } }))
      assert.are.equal(200, res.status, res.body)
    end)

    it("V1 with the URL encoded the Node querystring way (! ' ( ) * raw)", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB, ResourceGroupId = "rg(test)*'!" } }
      local target = s.target:gsub("%%28", "("):gsub("%%29", ")"):gsub("%%2A", "*")
                             :gsub("%%27", "'"):gsub("%%21", "!")
      assert.truthy(target:find("rg(test)*'!", 1, true))
      local res = assert(caller:send(s, { target = target }))
      assert.are.equal(200, res.status, res.body)
    end)

    it("V3 POST with query parameters and a form body (the DOC-V3 example's shape)", function()
      local res = caller:ok{ action = "ModifyDtsJob",
        query = { DtsInstanceId = INSTANCE, DtsJobId = JOB, RegionId = "cn-hangzhou" },
        body = { DbList = '{"dtstestdata":{"name":"dtstestdata","all":true}}',
                 Reserved = '{"targetTableMode":"2"}' } }
      assert.are.equal(200, res.status, res.body)
      assert.are.equal("application/x-www-form-urlencoded", res.signed.headers["content-type"])
      local e = em.requests()[#em.requests()]
      assert.same({ "v3", "POST", true, "OK" }, { e.scheme, e.method, e.verified, e.code })
    end)

    it("V3 POST with an empty body and V3 GET", function()
      assert.are.equal(200, describe_job{}.status)
      assert.are.equal(200, describe_job{ method = "GET" }.status)
    end)

    it("V3 with extra signed x-acs-* headers and unsigned others, as the SDKs send", function()
      local res = describe_job{ headers = { ["x-acs-credentials-provider"] = "static_ak",
                                            ["User-Agent"] = "AlibabaCloud (darwin)" } }
      assert.are.equal(200, res.status, res.body)
    end)

    it("parameters from the query and the form body alike", function()
      -- DescribeDtsJobDetail with its DtsJobId in the body.
      local res = caller:ok{ scheme = "v3", action = "DescribeDtsJobDetail",
                             body = { DtsJobId = JOB } }
      assert.are.equal(200, res.status, res.body)
      assert.are.equal(JOB, res.json.DtsJobId)
    end)

    it("answers with JSON and the request id in a header", function()
      local res = describe_job{}
      assert.matches("^application/json", res.headers["content-type"])
      assert.are.equal(res.json.RequestId, res.headers["x-acs-request-id"])
    end)
  end)

  describe("refuses", function()
    it("an unsigned request: MissingSignature", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      local target = s.target:gsub("&Signature=[^&]*", "")
      local b = gateway_error(assert(caller:send(s, { target = target })), "MissingSignature", 400)
      assert.are.equal("Signature is mandatory for this action.", b.Message)
    end)

    it("a V1 signature made with another secret: SignatureDoesNotMatch with the string to sign", function()
      local res = caller:ok{ scheme = "v1", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB }, access_key_secret = "wrong" }
      local b = gateway_error(res, "SignatureDoesNotMatch", 400)
      assert.are.equal(V1_PREFIX .. res.signed.string_to_sign, b.Message)
      local e = em.requests()[#em.requests()]
      assert.same({ false, "SignatureDoesNotMatch", 400 }, { e.verified, e.code, e.http_status })
    end)

    it("a V3 signature made with another secret: SignatureDoesNotMatch with the string to sign", function()
      local res = caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB },
                             access_key_secret = "wrong" }
      local b = gateway_error(res, "SignatureDoesNotMatch", 400)
      assert.are.equal(replace(codes.lookup("SignatureDoesNotMatch").message, "%s",
                               res.signed.string_to_sign), b.Message)
    end)

    it("a V1 parameter changed after signing", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      local res = assert(caller:send(s, { target = replace(s.target, JOB, "dtsotherjob") }))
      gateway_error(res, "SignatureDoesNotMatch", 400)
    end)

    it("a V3 body that is not what x-acs-content-sha256 says", function()
      local before = em.state()[1].changes
      local s = caller:sign{ action = "ModifyDtsJob", query = { DtsInstanceId = INSTANCE },
                             body = { DbList = '{"a":{"name":"a","all":true}}' } }
      local res = assert(caller:send(s, { body = s.body:gsub("a", "b") }))
      gateway_error(res, "SignatureDoesNotMatch", 400)
      assert.are.equal(before, em.state()[1].changes)
    end)

    it("a V3 signature that leaves a required header unsigned: IncompleteSignature", function()
      for _, name in ipairs({ "host", "x-acs-date", "x-acs-signature-nonce",
                              "x-acs-content-sha256", "x-acs-action", "x-acs-version" }) do
        local s = caller:sign{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB } }
        local auth = s.headers.authorization:gsub(";" .. name:gsub("%-", "%%-") .. "([;,])", "%1")
                                            :gsub("=" .. name:gsub("%-", "%%-") .. ";", "=")
        assert.are_not.equal(s.headers.authorization, auth)
        local b = gateway_error(assert(caller:send(s, { headers = { authorization = auth } })),
                                "IncompleteSignature", 400)
        assert.truthy(b.Message:find(name, 1, true), b.Message)
      end
    end)

    it("an Authorization with another algorithm or without its parts: IncompleteSignature", function()
      local s = caller:sign{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB } }
      gateway_error(assert(caller:send(s, { headers = {
        authorization = s.headers.authorization:gsub("^ACS3%-HMAC%-SHA256", "ACS3-HMAC-SM3") } })),
        "IncompleteSignature", 400)
      gateway_error(assert(caller:send(s, { headers = {
        authorization = "ACS3-HMAC-SHA256 Credential=" .. em.access_key_id } })),
        "IncompleteSignature", 400)
    end)

    it("a malformed timestamp: InvalidTimeStamp.Format", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      local target = s.target:gsub("Timestamp=[^&]*", "Timestamp=2024-05-06%%2007%%3A08%%3A09")
      local b = gateway_error(assert(caller:send(s, { target = target })), "InvalidTimeStamp.Format", 400)
      assert.are.equal("Specified time stamp or date value is not well formatted.", b.Message)
      s = caller:sign{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB } }
      gateway_error(assert(caller:send(s, { headers = { ["x-acs-date"] = "2024-02-30T00:00:00Z" } })),
                    "InvalidTimeStamp.Format", 400)
    end)

    it("a timestamp more than 15 minutes off: InvalidTimeStamp.Expired", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        for _, off in ipairs({ -3600, 1000 }) do
          local res = describe_job{ scheme = scheme, timestamp = core.timestamp(os.time() + off) }
          local b = gateway_error(res, "InvalidTimeStamp.Expired", 400)
          assert.are.equal("Specified time stamp or date value is expired.", b.Message)
        end
      end
      assert.are.equal(200, describe_job{ timestamp = core.timestamp(os.time() - 600) }.status)
    end)

    it("a nonce used before: SignatureNonceUsed", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        local s = caller:sign{ scheme = scheme, action = "DescribeDtsJobDetail",
                               query = { DtsJobId = JOB } }
        assert.are.equal(200, assert(caller:send(s)).status)
        local b = gateway_error(assert(caller:send(s)), "SignatureNonceUsed", 400)
        assert.are.equal("Specified signature nonce was used already.", b.Message)
      end
    end)

    it("a nonce of a request with a bad signature stays usable", function()
      local nonce = core.nonce()
      gateway_error(describe_job{ nonce = nonce, access_key_secret = "wrong" }, "SignatureDoesNotMatch")
      assert.are.equal(200, describe_job{ nonce = nonce }.status)
    end)

    it("an unknown access key: InvalidAccessKeyId.NotFound", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        local b = gateway_error(describe_job{ scheme = scheme, access_key_id = "LTAIsomeoneelse" },
                                "InvalidAccessKeyId.NotFound", 404)
        assert.are.equal("Specified access key is not found.", b.Message)
      end
      assert.are.equal("LTAIsomeoneelse", em.requests()[#em.requests()].access_key_id)
    end)

    it("an STS token the key does not have: InvalidSecurityToken.MismatchWithAccessKey", function()
      gateway_error(describe_job{ security_token = "CAIStoken" },
                    "InvalidSecurityToken.MismatchWithAccessKey", 400)
    end)

    it("a missing Action or Version: Missing<Name>", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      local b = gateway_error(assert(caller:send(s, { target = s.target:gsub("([?&])Action=[^&]*&?", "%1") })),
                              "MissingAction", 400)
      assert.are.equal("Action is mandatory for this action.", b.Message)
      gateway_error(assert(caller:send(s, { target = s.target:gsub("([?&])Version=[^&]*&?", "%1") })),
                    "MissingVersion", 400)
    end)

    it("an action it does not know: InvalidAction.NotFound", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        local res = caller:ok{ scheme = scheme, action = "DescribeDtsJobs", query = {} }
        gateway_error(res, "InvalidAction.NotFound", 404)
      end
    end)

    it("another path or method: InvalidAction.NotFound", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      gateway_error(assert(caller:send(s, { target = s.target:gsub("^/", "/other") })),
                    "InvalidAction.NotFound", 404)
      gateway_error(assert(caller:send(s, { method = "PUT" })), "InvalidAction.NotFound", 404)
    end)

    it("another API version: InvalidVersion", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        gateway_error(describe_job{ scheme = scheme, version = "2016-08-01" }, "InvalidVersion", 400)
      end
    end)

    it("a parameter given twice", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      local b = gateway_error(assert(caller:send(s, { target = s.target .. "&DtsJobId=" .. JOB })),
                              "InvalidParameter", 400)
      assert.truthy(b.Message:find("DtsJobId", 1, true))
    end)
  end)

  describe("checks parameters against the schema", function()
    local function modify(query, body, scheme)
      local q = { DtsInstanceId = INSTANCE }
      for k, v in pairs(query or {}) do
        q[k] = v or nil
      end
      return caller:ok{ scheme = scheme or "v3", action = "ModifyDtsJob", query = q,
        body = body or { DbList = '{"dtstestdata":{"name":"dtstestdata","all":true}}' } }
    end

    local function invalid(res, name)
      local b = gateway_error(res, "InvalidParameter", 400)
      assert.are.equal("Specified parameter " .. name .. " is not valid.",
                       b.Message:sub(1, #("Specified parameter " .. name .. " is not valid.")))
      return b
    end

    it("a missing required parameter: Missing<Name>, with the gateway's message", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        local b = gateway_error(modify({ DtsInstanceId = false }, nil, scheme), "MissingDtsInstanceId", 400)
        assert.are.equal("DtsInstanceId is mandatory for this action.", b.Message)
      end
      gateway_error(modify({}, { Reserved = '{"a":"1"}' }), "MissingDbList", 400)
      gateway_error(modify({}, { ModifyTypeEnum = "UPDATE_RESERVED" }), "MissingReserved", 400)
      gateway_error(caller:ok{ action = "DescribeDtsJobDetail", query = {} }, "MissingDtsJobId", 400)
    end)

    it("booleans other than true/false", function()
      for _, v in ipairs({ "yes", "True", "1" }) do
        invalid(modify({ DataInitialization = v }), "DataInitialization")
      end
      invalid(caller:ok{ action = "DescribeDtsJobDetail",
                         query = { DtsJobId = JOB, SyncSubJobHistory = "no" } }, "SyncSubJobHistory")
    end)

    it("values outside an enum", function()
      invalid(modify({ SynchronizationDirection = "Sideways" }), "SynchronizationDirection")
      invalid(modify({}, { ModifyTypeEnum = "UPDATE_ALL", Reserved = "{}" }), "ModifyTypeEnum")
    end)

    it("a ClientToken over 64 characters or not ASCII", function()
      invalid(modify({ ClientToken = string.rep("t", 65) }), "ClientToken")
      invalid(modify({ ClientToken = "t\195\169" }), "ClientToken")
    end)

    it("a DbList that is not a JSON object of the documented shape", function()
      local before = em.state()[1].changes
      for _, dblist in ipairs({
        "not json",
        '[{"DBName":"dtstestdata","AllTable":true}]', -- the legacy MigrationObject grammar
        '"dtstestdata"',
        "{}",
        '{"db":true}',
        '{"db":{"name":1,"all":true}}',
        '{"db":{"name":"db","all":"true"}}',
        '{"db":{"name":"db","all":false}}',
        '{"db":{"name":"db","all":false,"Table":[]}}',
        '{"db":{"name":"db","all":false,"Table":{"t":{"name":"t","all":"yes"}}}}',
        '{"db":{"name":"db","all":false,"Table":{"t":{"name":"t","all":false,"column":["id"]}}}}',
        '{"db":{"name":"db","all":false,"Table":{"t":{"name":"t","all":true,"filter":1}}}}',
      }) do
        invalid(modify({}, { DbList = dblist }), "DbList")
      end
      assert.are.equal(before, em.state()[1].changes)
    end)

    it("a DbList over 1 MB", function()
      local tables = {}
      local i = 0
      local size = 0
      while size <= 1024 * 1024 do
        i = i + 1
        local entry = ('"table_%06d":{"name":"table_%06d","all":true}'):format(i, i)
        tables[#tables + 1] = entry
        size = size + #entry + 1
      end
      local dblist = '{"db":{"name":"db","all":false,"Table":{' .. table.concat(tables, ",") .. "}}}"
      assert.is_true(#dblist > 1024 * 1024)
      local b = invalid(modify({}, { DbList = dblist }), "DbList")
      assert.truthy(b.Message:find("1048576", 1, true))
    end)

    it("a Reserved that is not a JSON object", function()
      invalid(modify({}, { ModifyTypeEnum = "UPDATE_RESERVED", Reserved = "maxRetryTime=3" }), "Reserved")
      invalid(modify({}, { ModifyTypeEnum = "UPDATE_RESERVED", Reserved = '["a"]' }), "Reserved")
    end)

    it("a parameter that is not UTF-8", function()
      local s = caller:sign{ scheme = "v1", method = "GET", action = "DescribeDtsJobDetail",
                             query = { DtsJobId = JOB } }
      invalid(assert(caller:send(s, { target = s.target .. "&RegionId=cn%FF" })), "RegionId")
    end)
  end)
end)
