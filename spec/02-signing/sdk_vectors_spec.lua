-- Known answers computed by the official SDK packages (see sdk/generate.js):
-- every signing.md section 5 example plus our own cases, stage by stage.
local core = require "dts.core"
local vectors = require "02-signing.sdk_vectors"

describe("signing matches the official SDKs", function()
  for _, case in ipairs(vectors.sign) do
    it("core.sign: " .. case.name, function()
      local signed = assert(core.sign(case.input))
      local want = case.expect
      assert.are.equal(want.string_to_sign, signed.string_to_sign)
      if want.canonical_request then
        assert.are.equal(want.canonical_request, signed.canonical_request)
      end
      assert.are.equal(want.signature, signed.signature)
      assert.are.equal(want.body, signed.body)
      if want.authorization then
        assert.are.equal(want.authorization, signed.headers.authorization)
      end
      if want.content_sha256 then
        assert.are.equal(want.content_sha256, signed.headers["x-acs-content-sha256"])
      end
    end)
  end

  for _, case in ipairs(vectors.v1_primitive) do
    it("core.v1_signature: " .. case.name, function()
      local r = assert(core.v1_signature{
        method = case.method, params = case.params,
        access_key_secret = case.access_key_secret,
      })
      assert.are.equal(case.string_to_sign, r.string_to_sign)
      assert.are.equal(case.signature, r.signature)
    end)
  end

  for _, case in ipairs(vectors.v3_primitive) do
    it("core.v3_signature: " .. case.name, function()
      local r = assert(core.v3_signature{
        method = case.method, path = case.path, query = case.query,
        headers = case.headers, payload_hash = case.payload_hash,
        access_key_id = case.access_key_id, access_key_secret = case.access_key_secret,
      })
      assert.are.equal(case.canonical_request, r.canonical_request)
      assert.are.equal(case.string_to_sign, r.string_to_sign)
      assert.are.equal(case.signed_headers, r.signed_headers)
      assert.are.equal(case.signature, r.signature)
      assert.are.equal(case.authorization, r.authorization)
    end)
  end
end)
