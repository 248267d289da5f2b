-- Answers in every shape dts-api.md 1.2-1.3 documents, decoded leniently.
local decode = require "dts.decode"
local errors = require "dts.errors"

local function answer(status, body)
  return decode({ status = status, headers = {}, body = body })
end

describe("decode", function()
  it("returns the body of a success", function()
    local body = assert(answer(200, '{"RequestId":"R1","Status":"200","DtsJobId":"j","Success":true}'))
    assert.are.equal("j", body.DtsJobId)
  end)

  it("turns the gateway error object into an api error", function()
    local _, err = answer(403, '{"RequestId":"R2","HostId":"dts.aliyuncs.com",'
      .. '"Code":"DTS.Msg.OperationDenied.JobStatusModifying","Message":"busy",'
      .. '"Recommend":"https://api.aliyun.com/troubleshoot?q=x"}')
    assert.are.equal("api", err.kind)
    assert.are.equal("DTS.Msg.OperationDenied.JobStatusModifying", err.code)
    assert.are.equal("OperationDenied.JobStatusModifying", err.bare_code)
    assert.are.equal("busy", err.message)
    assert.are.equal(403, err.http_status)
    assert.are.equal("R2", err.request_id)
    assert.are.equal("https://api.aliyun.com/troubleshoot?q=x", err.recommend)
    assert.is_false(err.retryable)
    assert.are.equal('dts: api DTS.Msg.OperationDenied.JobStatusModifying (HTTP 403, request R2): busy',
      tostring(err))
  end)

  it("marks throttling and server errors retryable, credentials errors as credentials", function()
    local _, err = answer(400, '{"Code":"Throttling.User","Message":"m","RequestId":"R"}')
    assert.is_true(err.retryable)
    _, err = answer(503, '{"Code":"SomethingNew","Message":"m","RequestId":"R"}')
    assert.is_true(err.retryable)
    _, err = answer(500, '{"Code":"InternalError","Message":"m","RequestId":"R"}')
    assert.is_true(err.retryable)
    _, err = answer(403, '{"Code":"InvalidSecurityToken.Expired","Message":"m","RequestId":"R"}')
    assert.are.equal("credentials", err.kind)
    assert.is_false(err.retryable)
    _, err = answer(400, '{"Code":"SignatureDoesNotMatch","Message":"m","RequestId":"R"}')
    assert.is_false(err.retryable)
  end)

  for _, success in ipairs({ "false", '"false"' }) do
    it("turns HTTP 200 with Success " .. success .. " into an error, filling DynamicMessage", function()
      local _, err = answer(200, '{"RequestId":"R3","Success":' .. success .. ',"ErrCode":"InvalidParameter",'
        .. '"ErrMessage":"The Value of Input Parameter %s is not valid.","DynamicMessage":"DtsJobId",'
        .. '"HttpStatusCode":400}')
      assert.are.equal("api", err.kind)
      assert.are.equal("InvalidParameter", err.code)
      assert.are.equal("The Value of Input Parameter DtsJobId is not valid.", err.message)
      assert.are.equal(200, err.http_status)
      assert.are.equal("R3", err.request_id)
    end)
  end

  it("tolerates ErrMessage given as a boolean (GO-RESP's quirk)", function()
    local _, err = answer(200, '{"Success":false,"ErrCode":"X","ErrMessage":true}')
    assert.are.equal("true", err.message)
  end)

  it("reports a body that is not JSON as a protocol error with the status", function()
    for _, case in ipairs({ { 200, "<html>oops</html>" }, { 502, "" }, { 200, '{"RequestId":"R","Succ' } }) do
      local body, err = answer(case[1], case[2])
      assert.is_nil(body)
      assert.are.equal("protocol", err.kind)
      assert.are.equal(case[1], err.http_status)
      assert.truthy(tostring(err):find("HTTP " .. case[1], 1, true))
      assert.are.equal(case[1] >= 500, err.retryable)
    end
  end)
end)

describe("errors", function()
  it("redacts secrets in plain, encoded and double-encoded form", function()
    local secret = "a+b/c="
    local s = "x a+b/c= y a%2Bb%2Fc%3D z a%252Bb%252Fc%253D"
    assert.are.equal("x <redacted> y <redacted> z <redacted>", errors.redact(s, { secret }))
  end)
end)
