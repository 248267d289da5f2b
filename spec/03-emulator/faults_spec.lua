-- Fault injection: each fault before processing (nothing applied) and
-- after_apply (applied, answer lost or broken), set per test through
-- handle.set_faults; the request log proves what was applied, and a retry
-- with the same ClientToken proves a change lands once.
local cjson = require "cjson"
local emulator = require "dts.emulator"
local dts_call = require "support.dts_call"

local INSTANCE = "dtsdemoinstance01"
local DBLIST = '{"dtstestdata":{"name":"dtstestdata","all":true}}'

describe("dts.emulator faults", function()
  local em, caller, token_n = nil, nil, 0

  setup(function()
    -- No change window: every test may modify the demo job again.
    em = assert(emulator.start{ modifying_seconds = 0, faults = { throttle_every = 1 } })
    caller = dts_call.new(em)
  end)

  teardown(function()
    if em then
      em.stop()
    end
  end)

  before_each(function()
    assert(em.set_faults({}))
    em.clear_log()
  end)

  local function changes()
    return em.state()[1].changes
  end

  -- A dropped answer on a kept-alive connection makes libcurl resend the
  -- same bytes on a new one (same nonce: SignatureNonceUsed); requests that
  -- get dropped go through a fresh client, so each is sent once.
  local function modify(token, scheme, fresh)
    local c = fresh and dts_call.new(em) or caller
    return c:call{ scheme = scheme or "v3", action = "ModifyDtsJob",
                        query = { DtsInstanceId = INSTANCE, ClientToken = token },
                        body = { DbList = DBLIST } }
  end

  local function describe_job(fresh)
    local c = fresh and dts_call.new(em) or caller
    return c:call{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" } }
  end

  local function new_token()
    token_n = token_n + 1
    return "fault-token-" .. token_n
  end

  local function last_entry()
    local log = em.requests()
    return log[#log]
  end

  it("start{faults=} sets the first rules (here: throttle everything)", function()
    -- before_each cleared them; set them again as start did.
    assert(em.set_faults({ throttle_every = 1 }))
    local res = assert(describe_job())
    assert.are.equal(400, res.status)
    assert.are.equal("Throttling.User", res.json.Code)
  end)

  describe("before processing", function()
    it("throttles every N-th request: 400 Throttling.User, nothing applied", function()
      assert(em.set_faults({ throttle_every = 2 }))
      local before = changes()
      local statuses = {}
      for i = 1, 4 do
        local res = assert(modify(new_token()))
        statuses[i] = res.status
        if res.status == 400 then
          assert.are.equal("Throttling.User", res.json.Code)
          assert.are.equal("Request was denied due to user flow control.", res.json.Message)
          assert.are.equal("dts.aliyuncs.com", res.json.HostId)
        end
      end
      assert.same({ 200, 400, 200, 400 }, statuses)
      assert.are.equal(before + 2, changes())
      local log = em.requests()
      assert.same({ "throttle", false, false, "Throttling.User", 400 },
                  { log[2].fault, log[2].applied, log[2].verified, log[2].code, log[2].http_status })
      assert.is_nil(log[1].fault)
    end)

    it("fails every N-th request: 500 ServiceUnavailable", function()
      assert(em.set_faults({ error_every = 1 }))
      local before = changes()
      local res = assert(modify(new_token()))
      assert.are.equal(500, res.status)
      assert.are.equal("ServiceUnavailable", res.json.Code)
      assert.are.equal(before, changes())
      assert.same({ "error", false }, { last_entry().fault, last_entry().applied })
    end)

    it("delays, then answers normally", function()
      assert(em.set_faults({ delay = 0.1 }))
      local res = assert(describe_job())
      assert.are.equal(200, res.status)
      assert.same({ "delay", "OK" }, { last_entry().fault, last_entry().code })
    end)

    it("drops the connection without an answer, nothing applied", function()
      assert(em.set_faults({ drop_every = 1 }))
      local before = changes()
      local res, err = modify(new_token(), nil, true)
      assert.is_nil(res)
      assert.is_not_nil(err)
      assert.are.equal(before, changes())
      assert.same({ "drop", false, 444 }, { last_entry().fault, last_entry().applied, last_entry().http_status })
      assert.are.equal(1, #em.requests())
    end)

    it("sends a truncated JSON body, nothing applied", function()
      assert(em.set_faults({ truncate_every = 1 }))
      local before = changes()
      local res = assert(modify(new_token()))
      assert.are.equal(200, res.status)
      assert.is_nil(res.json)
      assert.matches('^{"RequestId"', res.body)
      assert.are.equal(before, changes())
      assert.same({ "truncate", false }, { last_entry().fault, last_entry().applied })
    end)

    it("sends a body that is not JSON at all", function()
      assert(em.set_faults({ garbage_every = 1 }))
      local res = assert(describe_job())
      assert.are.equal(200, res.status)
      assert.is_nil(res.json)
      assert.matches("^text/html", res.headers["content-type"])
      assert.matches("^<html>", res.body)
      assert.are.equal("garbage", last_entry().fault)
    end)
  end)

  describe("after_apply", function()
    -- The change is applied and the answer lost; the retry with the same
    -- ClientToken gets the first answer and applies nothing.
    local function applied_once(kind, check)
      assert(em.set_faults({ { kind = kind, after_apply = true, times = 1, action = "ModifyDtsJob" } }))
      local before = changes()
      local token = new_token()
      local res, err = modify(token, nil, true)
      check(res, err)
      assert.are.equal(before + 1, changes())
      local e = last_entry()
      assert.same({ kind, true, true, false }, { e.fault, e.applied, e.verified, e.replayed })
      local retry = assert(modify(token, "v1"))
      assert.are.equal(200, retry.status, retry.body)
      assert.is_true(retry.json.Success)
      assert.are.equal(before + 1, changes())
      e = last_entry()
      assert.same({ true, false, "OK" }, { e.replayed, e.applied, e.code })
      assert.is_nil(e.fault)
      return retry
    end

    it("throttle: applied, then answered 400", function()
      applied_once("throttle", function(res)
        assert.are.equal(400, res.status)
        assert.are.equal("Throttling.User", res.json.Code)
      end)
    end)

    it("error: applied, then answered 500", function()
      applied_once("error", function(res)
        assert.are.equal(500, res.status)
      end)
    end)

    it("drop: applied, then the connection closed", function()
      applied_once("drop", function(res, err)
        assert.is_nil(res)
        assert.is_not_nil(err)
      end)
      local log = em.requests()
      assert.are.equal(2, #log)
      assert.are.equal(444, log[1].http_status)
      assert.are.equal("OK", log[1].code)
    end)

    it("truncate: applied, then half the success body", function()
      local retry = applied_once("truncate", function(res)
        assert.are.equal(200, res.status)
        assert.is_nil(res.json)
      end)
      -- The half that arrived is the start of the answer the retry gets.
      local first = em.requests()[1]
      assert.are.equal(retry.json.RequestId, first.request_id)
    end)

    it("garbage: applied, then an HTML page", function()
      applied_once("garbage", function(res)
        assert.are.equal(200, res.status)
        assert.matches("^<html>", res.body)
      end)
    end)

    it("delay: applied, then answered late", function()
      assert(em.set_faults({ delay = 0.1, after_apply = true }))
      local before = changes()
      local res = assert(modify(new_token()))
      assert.are.equal(200, res.status)
      assert.are.equal(before + 1, changes())
      assert.same({ "delay", true }, { last_entry().fault, last_entry().applied })
    end)
  end)

  describe("rules", function()
    it("limit a fault to one action", function()
      assert(em.set_faults({ error_every = 1, action = "ModifyDtsJob" }))
      assert.are.equal(200, assert(describe_job()).status)
      assert.are.equal(500, assert(modify(new_token())).status)
    end)

    it("fire at most `times` times", function()
      assert(em.set_faults({ { kind = "throttle", times = 1 } }))
      assert.are.equal(400, assert(describe_job()).status)
      assert.are.equal(200, assert(describe_job()).status)
      assert.are.equal(200, assert(describe_job()).status)
    end)

    it("restart their counters whenever they are set", function()
      assert(em.set_faults({ throttle_every = 2 }))
      assert.are.equal(200, assert(describe_job()).status)
      assert(em.set_faults({ throttle_every = 2 }))
      assert.are.equal(200, assert(describe_job()).status)
      assert.are.equal(400, assert(describe_job()).status)
    end)

    it("combine: a delay and a drop on the same request", function()
      assert(em.set_faults({ delay = 0.05, drop_every = 1 }))
      local res = describe_job(true)
      assert.is_nil(res)
      assert.are.equal("drop,delay", last_entry().fault)
    end)

    it("are refused when malformed", function()
      local ok, err = em.set_faults({ { kind = "drop", every = 0 } })
      assert.is_nil(ok)
      assert.truthy(err:find("every", 1, true))
      ok, err = em.set_faults({ delay_every = 2 })
      assert.is_nil(ok)
      assert.truthy(err:find("delay", 1, true))
    end)
  end)

  it("logs every request with its fields", function()
    assert(em.set_faults({}))
    assert(modify("log-token"))
    local e = last_entry()
    assert.is_number(e.time)
    assert.matches("^%x+%-", e.request_id)
    assert.same({ "ModifyDtsJob", "POST", "v3", true, em.access_key_id, "log-token", "OK", 200, true, false },
      { e.action, e.method, e.scheme, e.verified, e.access_key_id, e.client_token, e.code,
        e.http_status, e.applied, e.replayed })
    assert.same({ DtsInstanceId = INSTANCE, ClientToken = "log-token", DbList = DBLIST }, e.parameters)
    assert.same(cjson.decode(DBLIST), em.state()[1].DbObject)
  end)
end)
