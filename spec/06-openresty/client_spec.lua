-- lua-dts inside a real nginx against the local DTS emulator: signed calls
-- from a content handler and from a timer, keep-alive, retries, throttling
-- shared through a lua_shared_dict, and the worker staying free while
-- calls are slow.  Only 127.0.0.1 is contacted: the endpoint is the name
-- "localhost:PORT" (what the certificate names) with connect_address.
local emulator = require "dts.emulator"
local launch = require "support.openresty_launch"

local JOBS = { jobs = {
  { DtsJobId = "job-a", DtsInstanceId = "inst-a" },
  { DtsJobId = "job-b", DtsInstanceId = "inst-b" },
  { DtsJobId = "job-slow", DtsInstanceId = "inst-slow" },
} }

local DBLIST = { shop = { name = "shop", all = false,
  Table = { orders = { name = "orders", all = true } } } }

describe("lua-dts in nginx, against the emulator", function()
  local em, s

  setup(function()
    local err
    em, err = emulator.start{ state = JOBS, modifying_seconds = 0 }
    assert(em, err)
    -- Trusting the emulator's CA and its own (for /t/load, to itself).
    s, err = launch.start{ also_trust = { em.ca_file } }
    assert(s, err)
  end)

  teardown(function()
    if s then s.stop() end
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults{})
    em.clear_log()
  end)

  local function options(extra)
    local o = {
      region_id = "cn-hangzhou", endpoint = em.endpoint, connect_address = "127.0.0.1",
      access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
      retries = { base_delay = 0.05, max_delay = 0.2 },
    }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  local function call(args)
    local status, out = s.post("/t/call", args)
    assert.equal(200, status)
    return out
  end

  local function succeeds(out)
    assert(out.result, out.err and out.err.text or out.new_err and out.new_err.text)
    return out.result
  end

  for _, scheme in ipairs{ "v3", "v1" } do
    for _, in_timer in ipairs{ false, true } do
      local where = in_timer and "a timer" or "a content handler"
      it("sends a signed ModifyDtsJob (" .. scheme .. ") from " .. where, function()
        local out = call{
          options = options{ signature = scheme }, timer = in_timer,
          params = { DtsInstanceId = "inst-a", DbList = DBLIST },
        }
        local result = succeeds(out)
        assert.equal(in_timer and "timer" or "content", out.phase)
        assert.equal("cosocket", out.transport)
        assert.is_true(result.success)
        assert.is_string(result.request_id)
        local log = em.requests()
        assert.equal(1, #log)
        assert.same({ "ModifyDtsJob", scheme, true, true },
          { log[1].action, log[1].scheme, log[1].verified, log[1].applied })
        assert.equal(result.request_id, log[1].request_id)
      end)
    end
  end

  it("uses the cosocket transport when asked by name", function()
    local out = call{ options = options{ transport = "cosocket" }, action = "describe_dts_job_detail",
      params = { DtsInstanceID = "inst-b" } }
    succeeds(out)
    assert.equal("cosocket", out.transport)
  end)

  it("reads a job with DescribeDtsJobDetail", function()
    local job = succeeds(call{ options = options(), action = "describe_dts_job_detail",
      params = { DtsInstanceID = "inst-b" } })
    assert.equal("job-b", job.dts_job_id)
  end)

  it("sends many calls over one kept-alive TLS connection", function()
    local out = call{ options = options(), action = "describe_dts_job_detail", times = 10,
      params = { DtsInstanceID = "inst-b" } }
    succeeds(out)
    -- At most one new connection (an earlier call may have left one in the pool).
    assert.equal(10, out.connections.opened + out.connections.reused)
    assert.is_true(out.connections.opened <= 1)
    assert.equal(10, #em.requests())
  end)

  it("fails with tls naming lua_ssl_trusted_certificate when the CA is not trusted", function()
    -- An nginx trusting its own CA only.
    local other = assert(launch.start{})
    local status, out = other.post("/t/call", { options = options{ retries = { max_attempts = 1 } },
      params = { DtsInstanceId = "inst-a", DbList = DBLIST } })
    other.stop()
    assert.equal(200, status)
    assert.equal("tls", out.err.kind, out.err.text)
    assert.matches("lua_ssl_trusted_certificate", out.err.message, 1, true)
    assert.equal(0, #em.requests())
  end)

  it("times out on a slow answer at timeout, which bounds the whole call", function()
    assert(em.set_faults{ delay = 1 })
    local out = call{ options = options{ timeout = 0.3, retries = { max_attempts = 5, base_delay = 0.01 } },
      params = { DtsInstanceId = "inst-a", DbList = DBLIST } }
    assert.equal("timeout", out.err.kind, out.err.text)
    -- The first attempt had the whole 0.3 s: no time was left for another.
    assert.equal(1, out.err.attempts)
    assert.not_matches(em.access_key_secret, out.err.text, 1, true)
  end)

  it("retries a throttled call with ngx.sleep, sharing the back-off in a lua_shared_dict", function()
    assert(em.set_faults{ throttle_every = 1, times = 2 })
    local out = call{ options = options(), transport = { shared_dict = "dts_throttle",
        connect_address = "127.0.0.1", user_agent = "lua-dts/spec" },
      params = { DtsInstanceId = "inst-a", DbList = DBLIST } }
    succeeds(out)
    local log = em.requests()
    assert.equal(3, #log)
    assert.equal("Throttling.User", log[1].code)
    assert.is_true(log[3].applied)
  end)

  it("never loads dts.curl inside nginx", function()
    local _, out = s.post("/t/loaded")
    assert.is_false(out.curl)
  end)

  describe("with 50 calls in flight, each delayed 500 ms by the emulator", function()
    it("the same worker answers 200 plain requests meanwhile", function()
      assert(em.set_faults{ { kind = "delay", seconds = 0.5, action = "DescribeDtsJobDetail" } })
      local status, started = s.post("/t/slow/start", { options = options(), n = 50,
        params = { DtsInstanceID = "inst-slow" } })
      assert.equal(200, status, started.new_err and started.new_err.text)
      local st
      for _ = 1, 500 do
        _, st = s.post("/t/slow/status")
        if st.inflight == 50 then break end
        launch.sleep(0.01)
      end
      assert.equal(50, st.inflight)
      -- 20 clients inside nginx, 10 requests each, kept alive.
      local _, load = s.post("/t/load", { url = s.at("/t/plain"), n = 200, clients = 20,
        settings = { connect_address = "127.0.0.1" } })
      -- And one from outside nginx.
      local _, outside = s.get("/t/plain")
      local _, stopped = s.post("/t/slow/stop")
      assert.same({}, load.errors)
      assert.equal(200, #load.answers)
      for _, answer in ipairs(load.answers) do
        assert.equal("50", answer)
      end
      assert.equal("50", outside)
      assert.same({}, stopped.failures)
      assert.is_true(stopped.calls >= 50)
      -- The slow calls really went out and were delayed.
      local delayed = 0
      for _, entry in ipairs(em.requests()) do
        if entry.fault == "delay" then delayed = delayed + 1 end
      end
      assert.is_true(delayed >= 50)
    end)
  end)
end)
