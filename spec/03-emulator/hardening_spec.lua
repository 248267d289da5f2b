-- The emulator against values and requests that once broke it (issue 11
-- items 5 and 12): a value it cannot keep is refused before anything
-- changes, a change it cannot save is undone whole, every answer is JSON in
-- the gateway's error shape (nginx's own refusals included), and start
-- options its checks could never match are refused at start.
local cjson = require "cjson.safe"
local core = require "dts.core"
local curl = require "dts.curl"
local dts = require "dts"
local emulator = require "dts.emulator"
local dts_call = require "support.dts_call"
local raw = require "support.raw_http"

local JOB, INSTANCE = "dtsdemojob00001", "dtsdemoinstance01"

-- The gateway's error object, as valid UTF-8 JSON; returns it decoded.
local function gateway_error(body, code, what)
  what = what or ""
  assert.truthy(core.utf8_valid(body), what .. ": not UTF-8: " .. body)
  local j = cjson.decode(body)
  assert.are.equal("table", type(j), what .. ": not JSON: " .. body)
  assert.are.equal("string", type(j.RequestId), what)
  assert.are.equal("dts.aliyuncs.com", j.HostId, what)
  assert.are.equal("string", type(j.Message), what)
  assert.are.equal(code, j.Code, what .. ": " .. body)
  return j
end

describe("dts.emulator and values it cannot keep", function()
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

  local function reserved(text)
    return caller:ok{ action = "ModifyDtsJob", query = { DtsInstanceId = INSTANCE, DtsJobId = JOB },
                      body = { ModifyTypeEnum = "UPDATE_RESERVED", Reserved = text } }
  end

  local function describe_job()
    local res = caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB } }
    assert.are.equal(200, res.status, res.body)
    return res.json
  end

  it("refuses a number out of range, NaN, too deep a value, before applying anything", function()
    local before = describe_job().Reserved
    for _, text in ipairs({
      '{"maxRetryTime":1e999}', '{"maxRetryTime":-1e999}', '{"a":[1,2,{"b":1e400}]}',
      '{"a":NaN}', '{"a":Infinity}', '{"a":0x10}',
      ('{"a":'):rep(200) .. "1" .. ("}"):rep(200),
    }) do
      local res = reserved(text)
      assert.are.equal(400, res.status, text)
      local j = gateway_error(res.body, "InvalidParameter", text)
      assert.truthy(j.Message:find("Reserved", 1, true), j.Message)
    end
    local res = caller:ok{ action = "ModifyDtsJob", query = { DtsInstanceId = INSTANCE },
      body = { DbList = '{"db":{"name":"db","all":true,"shard":1e999}}' } }
    gateway_error(res.body, "InvalidParameter", "DbList")
    assert.are.equal(before, describe_job().Reserved)
  end)

  it("keeps answering every later call for the job", function()
    assert.are.equal(400, reserved('{"maxRetryTime":1e999}').status)
    for i = 1, 3 do
      local res = reserved(('{"maxRetryTime":"%d"}'):format(i))
      assert.are.equal(200, res.status, res.body)
      assert.are.equal(tostring(i), cjson.decode(describe_job().Reserved).maxRetryTime)
    end
    assert.are.equal("3", em.state()[1].Reserved.maxRetryTime)
  end)
end)

describe("dts.emulator when its state cannot be saved", function()
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

  it("answers InternalError, undoes the change whole and forgets its ClientToken", function()
    local function modify(token)
      return caller:ok{ action = "ModifyDtsJob",
        query = { DtsInstanceId = INSTANCE, DtsJobId = JOB, ClientToken = token },
        body = { DbList = '{"crm":{"name":"crm","all":true}}' } }
    end
    local first = caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB } }.json
    local before, before_status = cjson.decode(first.DbObject), first.Status
    -- state.json as a directory: the rename over it fails.
    local state_file = em.prefix .. "/state.json"
    os.remove(state_file)
    assert(os.execute("mkdir " .. state_file))
    local res = modify("token-unsaved")
    assert.are.equal(500, res.status)
    gateway_error(res.body, "InternalError")
    assert(os.execute("rmdir " .. state_file))

    local after = caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = JOB } }
    assert.are.equal(200, after.status, after.body)
    assert.same(before, cjson.decode(after.json.DbObject))
    assert.are.equal(before_status, after.json.Status)

    -- The same ClientToken runs afresh: the failed call left nothing behind.
    res = modify("token-unsaved")
    assert.are.equal(200, res.status, res.body)
    local log = dts_call.entries(em, "ModifyDtsJob")
    assert.are.equal("InternalError", log[1].code)
    assert.is_false(log[1].applied)
    assert.is_true(log[2].applied)
    assert.is_false(log[2].replayed)
    assert.same({ crm = { name = "crm", all = true } }, em.state()[1].DbObject)
    assert.truthy(em.error_log():find("state not saved", 1, true))
  end)
end)

describe("dts.emulator answer shapes", function()
  local em, http

  setup(function()
    em = assert(emulator.start{ http = true })
    http = assert(curl.new{ allow_http = true, proxy = "", timeout = 20 })
  end)

  teardown(function()
    if em then
      em.stop()
    end
  end)

  local function request(r)
    local res = assert(http:request{ method = r.method or "GET", url = em.url .. (r.target or "/"),
                                     headers = r.headers, body = r.body })
    assert.truthy((res.headers["content-type"] or ""):find("^application/json"), res.body)
    return res
  end

  it("echoes a parameter name that is not UTF-8 as valid JSON", function()
    for _, target in ipairs({ "/?%FF%FE=1", "/?a%C3=1&b=2", "/?%ED%A0%80=x" }) do
      local res = request{ target = target }
      assert.are.equal(400, res.status)
      gateway_error(res.body, "InvalidParameter", target)
    end
  end)

  it("answers a body over 8 MB: 413 RequestEntityTooLarge", function()
    local res = request{ method = "POST", body = ("x"):rep(8 * 1024 * 1024 + 1),
                         headers = { ["content-type"] = "application/x-www-form-urlencoded" } }
    assert.are.equal(413, res.status)
    gateway_error(res.body, "RequestEntityTooLarge")
  end)

  it("answers a header line or a URI too long: 400 RequestHeaderTooLarge, 414", function()
    local res = request{ headers = { ["x-long"] = ("h"):rep(17 * 1024) } }
    assert.are.equal(400, res.status)
    gateway_error(res.body, "RequestHeaderTooLarge")
    res = request{ target = "/?a=" .. ("u"):rep(20 * 1024) }
    assert.are.equal(414, res.status)
    gateway_error(res.body, "RequestURITooLong")
  end)

  it("answers requests nginx refuses by itself in the gateway's shape", function()
    for _, case in ipairs({
      { "GARBAGE\r\n\r\n", 400, "BadRequest" },
      { "GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505, "HTTPVersionNotSupported" },
      { "TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405, "MethodNotAllowed" },
      { "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501, "NotImplemented" },
      { "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400, "BadRequest" },
      { "GET /.dts-refused/413 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404,
        "InvalidAction.NotFound" },
    }) do
      local res, text = raw.send(em.port, case[1])
      assert(res, "not HTTP: " .. tostring(text))
      assert.are.equal(case[2], res.status, case[1])
      assert.truthy((res.headers["content-type"] or ""):find("^application/json"), case[1])
      gateway_error(res.body, case[3], case[1])
    end
  end)
end)

describe("dts.emulator start options", function()
  it("refuses a security token or key id its checks could never match", function()
    for _, case in ipairs({
      { { security_token = "abc~" }, "security_token" },
      { { security_token = "two words" }, "security_token" },
      { { access_key_id = "key id", access_key_secret = "s" }, "access_key_id" },
      { { access_key_id = "id", access_key_secret = "" }, "access_key_secret" },
    }) do
      local em, err = emulator.start(case[1])
      if em then em.stop() end
      assert.is_nil(em)
      assert.truthy(err:find(case[2], 1, true), err)
    end
  end)

  it("matches a token made of every character it accepts, in both schemes", function()
    local token = "CAIS+abc/xyz=0-9._AZ=="
    local em = assert(emulator.start{ http = true, security_token = token, modifying_seconds = 0 })
    local ok, err = pcall(function()
      for _, scheme in ipairs({ "v3", "v1" }) do
        local c = assert(dts.new{ region_id = "cn-hangzhou", endpoint = em.endpoint, protocol = "http",
          proxy = "", access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
          security_token = token, signature = scheme })
        local job, jerr = c:describe_dts_job_detail{ DtsJobId = JOB }
        assert(job, jerr and tostring(jerr))
      end
    end)
    em.stop()
    assert(ok, err)
  end)
end)
