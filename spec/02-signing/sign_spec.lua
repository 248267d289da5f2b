-- core.sign's contract beyond the known answers: where each parameter goes,
-- STS, empty and absent values, and that every bad input is refused with a
-- message naming the field (and never the secret).
local core = require "dts.core"
local url = require "support.url"

local SECRET = "s3cr3t+/=Value"
local TOKEN = "CAIS+token/with=padding=="

local function request(scheme, over)
  local r = {
    scheme = scheme, method = "POST", host = "dts.cn-hangzhou.aliyuncs.com", path = "/",
    action = "ModifyDtsJob", version = "2020-01-01",
    access_key_id = "LTAI-test-id", access_key_secret = SECRET,
    timestamp = "2024-05-06T07:08:09Z", nonce = "0123456789abcdef0123456789abcdef",
    query = { RegionId = "cn-hangzhou", DtsInstanceId = "dtsbi6e22ay2435ab" },
    body = { DbList = '{"db":{"name":"db","all":true}}', Reserved = '{"a":"1"}' },
  }
  for k, v in pairs(over or {}) do r[k] = v end
  return r
end

-- What a server does: rebuild the signed set from what was sent and recompute.
local function verify_v1(signed, secret)
  local _, params = url.split_target(signed.target)
  url.parse_form(signed.body, params)
  local sig = params.Signature
  params.Signature = nil
  local r = assert(core.v1_signature{ method = signed.method, params = params,
                                      access_key_secret = secret })
  return r.signature == sig, params
end

local function verify_v3(signed, secret)
  local path, query = url.split_target(signed.target)
  local auth = signed.headers.authorization
  local id, names = auth:match("^ACS3%-HMAC%-SHA256 Credential=([^,]+),SignedHeaders=([^,]+),")
  local headers = {}
  for k, v in pairs(signed.headers) do
    if k ~= "authorization" then headers[k] = v end
  end
  local r = assert(core.v3_signature{
    method = signed.method, path = path, query = query, headers = headers,
    payload_hash = core.sha256_hex(signed.body), access_key_id = id,
    access_key_secret = secret, signed_headers = names,
  })
  return r.authorization == auth
end

describe("core.sign", function()
  describe("v1 (RPC HMAC-SHA1)", function()
    it("puts common and query parameters in the URL, form parameters in the body", function()
      local s = assert(core.sign(request("v1")))
      local path, q = url.split_target(s.target)
      assert.are.equal("/", path)
      assert.are.same({
        AccessKeyId = "LTAI-test-id", Action = "ModifyDtsJob", Format = "JSON",
        SignatureMethod = "HMAC-SHA1", SignatureVersion = "1.0",
        SignatureNonce = "0123456789abcdef0123456789abcdef",
        Timestamp = "2024-05-06T07:08:09Z", Version = "2020-01-01",
        RegionId = "cn-hangzhou", DtsInstanceId = "dtsbi6e22ay2435ab",
        Signature = s.signature,
      }, q)
      assert.truthy(s.target:match("&Signature=[^&]+$"))
      assert.are.same({ DbList = '{"db":{"name":"db","all":true}}', Reserved = '{"a":"1"}' },
        url.parse_form(s.body))
      assert.are.equal("application/x-www-form-urlencoded", s.headers["content-type"])
      assert.are.equal("dts.cn-hangzhou.aliyuncs.com", s.headers.host)
      assert.are.equal("ModifyDtsJob", s.headers["x-acs-action"])
      assert.is_nil(s.headers.authorization)
      assert.is_nil(s.canonical_request)
      assert.are.equal(28, #s.signature)
      assert.is_true((verify_v1(s, SECRET)))
      assert.is_false((verify_v1(s, SECRET .. "x")))
    end)

    it("signs body and query parameters together", function()
      local a = assert(core.sign(request("v1")))
      local b = assert(core.sign(request("v1", { body = { DbList = "{}", Reserved = '{"a":"1"}' } })))
      assert.are_not.equal(a.signature, b.signature)
      assert.truthy(a.string_to_sign:find("DbList%3D", 1, true))
    end)

    it("adds an STS token as SecurityToken, double-encoded in the string to sign", function()
      local s = assert(core.sign(request("v1", { security_token = TOKEN })))
      local _, q = url.split_target(s.target)
      assert.are.equal(TOKEN, q.SecurityToken)
      assert.truthy(s.target:find("SecurityToken=CAIS%2Btoken%2Fwith%3Dpadding%3D%3D", 1, true))
      assert.truthy(s.string_to_sign:find("SecurityToken%3DCAIS%252Btoken%252Fwith%253Dpadding%253D%253D", 1, true))
      assert.is_true((verify_v1(s, SECRET)))
    end)

    it("puts everything in the URL for GET and sends no body", function()
      local s = assert(core.sign(request("v1", { method = "GET", body = {} })))
      assert.are.equal("", s.body)
      assert.is_nil(s.headers["content-type"])
      assert.is_true((verify_v1(s, SECRET)))
    end)

    it("sends caller headers unsigned", function()
      local a = assert(core.sign(request("v1")))
      local b = assert(core.sign(request("v1", { headers = { ["User-Agent"] = "x", ["x-acs-extra"] = "y" } })))
      assert.are.equal(a.signature, b.signature)
      assert.are.equal("x", b.headers["user-agent"])
      assert.are.equal("y", b.headers["x-acs-extra"])
    end)
  end)

  describe("v3 (ACS3-HMAC-SHA256)", function()
    it("signs query in the canonical request and the body through its hash", function()
      local s = assert(core.sign(request("v3")))
      assert.are.equal("/?DtsInstanceId=dtsbi6e22ay2435ab&RegionId=cn-hangzhou", s.target)
      assert.are.equal(core.sha256_hex(s.body), s.headers["x-acs-content-sha256"])
      assert.truthy(s.canonical_request:find("\nDtsInstanceId=dtsbi6e22ay2435ab&RegionId=cn-hangzhou\n", 1, true))
      assert.truthy(s.canonical_request:find("\ncontent-type:application/x-www-form-urlencoded\n", 1, true))
      assert.truthy(s.canonical_request:match("\n\n[%w%-;]+\n%x+$"))
      assert.are.equal("ACS3-HMAC-SHA256\n" .. core.sha256_hex(s.canonical_request), s.string_to_sign)
      assert.are.equal(core.hmac_sha256_hex(SECRET, s.string_to_sign), s.signature)
      assert.are.equal("ACS3-HMAC-SHA256 Credential=LTAI-test-id,SignedHeaders="
        .. "content-type;host;x-acs-action;x-acs-content-sha256;x-acs-date;"
        .. "x-acs-signature-nonce;x-acs-version,Signature=" .. s.signature, s.headers.authorization)
      for _, name in ipairs({ "x-acs-date", "x-acs-signature-nonce", "x-acs-version", "x-acs-action" }) do
        assert.truthy(s.headers[name])
      end
      assert.is_true(verify_v3(s, SECRET))
      assert.is_false(verify_v3(s, "wrong"))
    end)

    it("leaves out string_to_sign and canonical_request with debug_strings = false, and signs the same", function()
      for _, scheme in ipairs({ "v1", "v3" }) do
        local full = assert(core.sign(request(scheme)))
        local r = request(scheme)
        r.debug_strings = false
        local lean = assert(core.sign(r))
        assert.is_nil(lean.string_to_sign)
        assert.is_nil(lean.canonical_request)
        assert.are.equal(full.signature, lean.signature)
        assert.are.equal(full.target, lean.target)
        assert.are.equal(full.body, lean.body)
        assert.are.same(full.headers, lean.headers)
        r.debug_strings = true
        assert.are.equal(full.string_to_sign, assert(core.sign(r)).string_to_sign)
        r.debug_strings = "no"
        local s, err = core.sign(r)
        assert.is_nil(s)
        assert.are.equal("debug_strings: expected a boolean, got string", err)
      end
    end)

    it("changes the signature when a single body byte changes", function()
      local a = assert(core.sign(request("v3")))
      local b = assert(core.sign(request("v3", { body = { DbList = '{"db":{"name":"db","all":false}}',
                                                          Reserved = '{"a":"1"}' } })))
      assert.are_not.equal(a.signature, b.signature)
    end)

    it("adds x-acs-security-token and x-acs-accesskey-id under STS", function()
      local s = assert(core.sign(request("v3", { security_token = TOKEN })))
      assert.are.equal(TOKEN, s.headers["x-acs-security-token"])
      assert.are.equal("LTAI-test-id", s.headers["x-acs-accesskey-id"])
      assert.truthy(s.canonical_request:find("\nx-acs-security-token:" .. TOKEN .. "\n", 1, true))
      assert.truthy(s.headers.authorization:find("x-acs-accesskey-id;", 1, true))
      assert.is_true(verify_v3(s, SECRET))
    end)

    it("uses the empty-body hash and no content-type when there is no body", function()
      local s = assert(core.sign(request("v3", { body = {} })))
      assert.are.equal("", s.body)
      assert.is_nil(s.headers["content-type"])
      assert.are.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        s.headers["x-acs-content-sha256"])
    end)

    it("signs extra x-acs-* headers, trimmed, and sends other headers unsigned", function()
      local s = assert(core.sign(request("v3", { headers = {
        ["X-Acs-Trace"] = "  trace 42  ", ["User-Agent"] = "lua-dts" } })))
      assert.are.equal("trace 42", s.headers["x-acs-trace"])
      assert.are.equal("lua-dts", s.headers["user-agent"])
      assert.truthy(s.canonical_request:find("\nx-acs-trace:trace 42\n", 1, true))
      assert.falsy(s.canonical_request:find("user-agent", 1, true))
      assert.is_true(verify_v3(s, SECRET))
    end)

    it("has no common parameters in the query", function()
      local s = assert(core.sign(request("v3")))
      for _, name in ipairs({ "Action", "Version", "Timestamp", "SignatureNonce", "Signature" }) do
        assert.falsy(s.target:find(name .. "=", 1, true))
      end
    end)
  end)

  for _, scheme in ipairs({ "v1", "v3" }) do
    describe(scheme .. " values", function()
      it("signs and sends empty strings, and leaves absent ones out", function()
        local s = assert(core.sign(request(scheme, {
          query = { RegionId = "cn-hangzhou", DtsInstanceId = "i", DtsJobId = "" },
          body = { Reserved = "" },
        })))
        assert.truthy(s.target:find("DtsJobId=&", 1, true) or s.target:find("DtsJobId=$"))
        assert.are.equal("Reserved=", s.body)
        assert.falsy(s.target:find("ResourceGroupId", 1, true))
        if scheme == "v1" then
          assert.truthy(s.string_to_sign:find("%26DtsJobId%3D%26", 1, true))
          assert.is_true((verify_v1(s, SECRET)))
        else
          assert.truthy(s.canonical_request:find("\nDtsInstanceId=i&DtsJobId=&RegionId=cn-hangzhou\n", 1, true))
          assert.is_true(verify_v3(s, SECRET))
        end
      end)

      it("carries DbList JSON with quotes, backslashes and CJK names byte for byte", function()
        local dblist = '{"\229\186\147":{"name":"\229\186\147_new","all":false,"Table":'
          .. '{"\229\174\162\230\136\183":{"name":"c","all":true,"filter":"note = \'a\\"b\' & x > 1"}}}}'
        local s = assert(core.sign(request(scheme, { body = { DbList = dblist } })))
        assert.are.equal(dblist, url.parse_form(s.body).DbList)
        assert.truthy(s.body:find("DbList=%7B%22%E5%BA%93%22", 1, true))
        if scheme == "v1" then
          assert.is_true((verify_v1(s, SECRET)))
        else
          assert.is_true(verify_v3(s, SECRET))
        end
      end)

      it("encodes every reserved character in a value", function()
        local all = {}
        for b = 32, 126 do all[#all + 1] = string.char(b) end
        local value = table.concat(all) .. "\t\n"
        local s = assert(core.sign(request(scheme, { query = { RegionId = value, DtsInstanceId = "i" } })))
        local _, q = url.split_target(s.target)
        assert.are.equal(value, q.RegionId)
        assert.truthy(s.target:find(core.percent_encode(value), 1, true))
      end)

      it("signs each attempt afresh: new nonce and time, new signature", function()
        local a = assert(core.sign(request(scheme)))
        local b = assert(core.sign(request(scheme, { nonce = core.nonce(), timestamp = core.timestamp() })))
        assert.are_not.equal(a.signature, b.signature)
      end)
    end)
  end

  describe("bad input", function()
    local function refused(over, pattern, schemes)
      for _, scheme in ipairs(schemes or { "v1", "v3" }) do
        local r = request(scheme, over)
        for k, v in pairs(over) do
          if v == false then r[k] = nil end
        end
        local s, err = core.sign(r)
        assert.is_nil(s)
        assert.is_string(err)
        assert.truthy(err:find(pattern, 1, true), "want " .. pattern .. ", got " .. err)
        assert.falsy(err:find(SECRET, 1, true))
        assert.falsy(err:find(TOKEN, 1, true))
      end
    end

    it("names each missing field", function()
      for _, f in ipairs({ "method", "host", "action", "version", "access_key_id",
                           "access_key_secret", "timestamp", "nonce" }) do
        refused({ [f] = false }, f .. ": missing")
      end
      refused({ scheme = false }, "scheme: missing")
    end)

    it("names each field of the wrong type", function()
      refused({ host = 1 }, "host: expected a string, got number")
      refused({ access_key_secret = {} }, "access_key_secret: expected a string, got table")
      refused({ query = "RegionId=x" }, "query: expected a table, got string")
      refused({ body = { DbList = { a = 1 } } }, "body.DbList: expected a string, got table")
      refused({ body = { DataInitialization = true } }, "body.DataInitialization: expected a string, got boolean")
      refused({ query = { "positional" } }, "query: names must be strings, got a number key")
      refused({ headers = { ["x-acs-a"] = 1 } }, "headers.x-acs-a: expected a string, got number")
    end)

    it("refuses non-UTF-8 text, naming the parameter", function()
      refused({ query = { RegionId = "cn\255" } }, "query.RegionId: not valid UTF-8 (byte 0xFF at offset 2)")
      refused({ body = { DbList = "{\"\237\160\128\"}" } }, "body.DbList: not valid UTF-8")
      refused({ body = { ["Db\192\175"] = "x" } }, "body: a parameter name is not valid UTF-8")
      refused({ nonce = "\128" }, "nonce: not valid UTF-8")
      refused({ security_token = "tok\255" }, "security_token: not valid UTF-8")
      refused({ headers = { ["x-acs-a"] = "\255" } }, "headers.x-acs-a: not valid UTF-8")
    end)

    it("refuses a GET with body parameters", function()
      refused({ method = "GET" }, "body: a GET request cannot carry body parameters")
    end)

    it("refuses malformed fields", function()
      refused({ scheme = "v2" }, 'scheme: expected "v1" or "v3"')
      refused({ method = "PUT" }, 'method: expected "GET" or "POST"')
      refused({ timestamp = "2024-05-06 07:08:09" }, "timestamp: expected UTC")
      refused({ timestamp = "2024-05-06T07:08:09.123Z" }, "timestamp: expected UTC")
      refused({ host = "https://dts.aliyuncs.com" }, "host: invalid character")
      refused({ host = "" }, "host: must not be empty")
      refused({ path = "relative" }, 'path: must start with "/"')
      refused({ acces_key_id = "typo" }, 'unknown field "acces_key_id"')
      refused({ headers = { ["bad name"] = "x" } }, 'headers: invalid header name "bad name"')
      refused({ headers = { ["x-acs-a"] = "a\r\nInjected: 1" } }, "headers.x-acs-a: control character 0x0D")
      refused({ headers = { ["X-ACS-DATE"] = "x" } }, "headers.X-ACS-DATE: set by the signer", { "v3" })
      refused({ headers = { Authorization = "x" } }, "headers.authorization: set by the signer")
      refused({ headers = { host = "x" } }, "headers.host: set by the signer")
    end)

    it("refuses V1 common parameters among the caller's", function()
      local s, err = core.sign(request("v1", { query = { Timestamp = "x", RegionId = "r" } }))
      assert.is_nil(s)
      assert.are.equal("query.Timestamp: a common parameter that the signer sets itself", err)
      s, err = core.sign(request("v1", { body = { Signature = "x" } }))
      assert.is_nil(s)
      assert.are.equal("body.Signature: a common parameter that the signer sets itself", err)
    end)

    it("refuses one parameter in both query and body", function()
      local s, err = core.sign(request("v1", { body = { RegionId = "x" } }))
      assert.is_nil(s)
      assert.are.equal("parameter RegionId is given in both query and body", err)
    end)

    it("refuses a non-table argument", function()
      local s, err = core.sign("v3")
      assert.is_nil(s)
      assert.are.equal("expected a table argument, got string", err)
    end)
  end)
end)
