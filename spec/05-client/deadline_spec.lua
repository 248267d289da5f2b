-- `timeout` bounds the whole call, retries and back-off included (the
-- emulator's delays and faults make every attempt slow or failing, and the
-- elapsed time must stay within timeout plus a margin: a correctness bound,
-- not a speed goal); `retries` sets the attempts and is checked like every
-- option; `--timeout` and `--retries` do the same for the dts command.
local dts = require "dts"
local clock = require "dts.clock"
local emulator = require "dts.emulator"

local INSTANCE = "dtsdemoinstance01"
-- Scheduling on a loaded machine: a bound, not a benchmark.
local MARGIN = 0.75
local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

local DBLIST = { dtstestdata = { name = "dtstestdata", all = false,
  Table = { customer = { name = "customer", all = true } } } }

describe("a call's deadline", function()
  local em

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults({}))
    em.clear_log()
  end)

  local function client(opts)
    local o = {
      region_id = "cn-hangzhou", endpoint = em.endpoint, ca_file = em.ca_file, proxy = "",
      access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
    }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(dts.new(o))
  end

  local function timed(f)
    local t0 = clock.now()
    local res, err = f()
    return clock.now() - t0, res, err
  end

  it("ends a call whose every answer is late at timeout, however many retries are left", function()
    em.set_faults{ { kind = "delay", seconds = 3 } }
    local c = client{ timeout = 1, retries = { max_attempts = 50, base_delay = 0.01, max_delay = 0.01 } }
    local elapsed, res, err = timed(function()
      return c:describe_dts_job_detail{ DtsJobId = "dtsdemojob00001" }
    end)
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.is_true(elapsed < 1 + MARGIN, "took " .. elapsed .. " s")
  end)

  it("counts back-off into the timeout: failing answers stop at it", function()
    em.set_faults{ { kind = "error" } }
    local c = client{ timeout = 1.5, retries = { max_attempts = 100, base_delay = 0.4, max_delay = 0.4 } }
    local elapsed, res, err = timed(function()
      return c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = DBLIST }
    end)
    assert.is_nil(res)
    assert.are.equal("ServiceUnavailable", err.code)
    assert.is_true(err.attempts > 1, tostring(err))
    assert.is_true(err.attempts < 100)
    assert.is_true(elapsed < 1.5 + MARGIN, "took " .. elapsed .. " s")
  end)

  it("gives each attempt what is left of a per-call timeout", function()
    -- The first answer takes 0.8 s, the second 3 s: a call with 1.5 s in
    -- all must time out at 1.5 s, not at 0.8 + 1.5.
    em.set_faults{ { kind = "delay", seconds = 0.8, times = 1 }, { kind = "delay", seconds = 3 } }
    local c = client{ timeout = 10, retries = { max_attempts = 3, base_delay = 0.01, max_delay = 0.01 } }
    local elapsed, res, err = timed(function()
      return c:describe_dts_job_detail({ DtsJobId = "dtsdemojob00001" }, { timeout = 1.5 })
    end)
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    assert.is_true(elapsed < 1.5 + MARGIN, "took " .. elapsed .. " s")
  end)

  it("makes exactly retries.max_attempts attempts", function()
    em.set_faults{ { kind = "error" } }
    local res, err = client{ retries = { max_attempts = 2, base_delay = 0.01, max_delay = 0.01 } }
      :modify_dts_job{ DtsInstanceId = INSTANCE, DbList = DBLIST }
    assert.is_nil(res)
    assert.are.equal(2, err.attempts)
    assert.are.equal(2, #em.requests())
  end)

  it("waits out Modifying for wait_modifying when that is later than timeout", function()
    -- Each applied change keeps the job Modifying for 1.5 s.
    local busy = assert(emulator.start{ modifying_seconds = 1.5 })
    finally(function() busy.stop() end)
    local b = client{ endpoint = busy.endpoint, ca_file = busy.ca_file, timeout = 0.5,
      retries = { base_delay = 0.1, max_delay = 0.2 } }
    assert(b:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = DBLIST })
    local elapsed, res, err = timed(function()
      return b:modify_dts_job({ DtsInstanceId = INSTANCE, DbList = DBLIST }, { wait_modifying = 5 })
    end)
    assert(res, err and tostring(err))
    assert.is_true(elapsed >= 1, "took " .. elapsed .. " s")
    assert.is_true(elapsed < 5)
    -- And no longer than wait_modifying when that is the shorter one.
    b = client{ endpoint = busy.endpoint, ca_file = busy.ca_file, timeout = 10,
      retries = { base_delay = 0.1, max_delay = 0.1 } }
    elapsed, res, err = timed(function()
      return b:modify_dts_job({ DtsInstanceId = INSTANCE, DbList = DBLIST }, { wait_modifying = 0.3 })
    end)
    assert.is_nil(res)
    assert.are.equal("OperationDenied.JobStatusModifying", err.bare_code)
    assert.is_true(elapsed < 0.3 + MARGIN, "took " .. elapsed .. " s")
  end)
end)

describe("the retries and timeout options", function()
  local function refused(opts, param, pattern)
    local ok, c, err = pcall(dts.new, opts)
    assert.is_true(ok, "raised: " .. tostring(c))
    assert.is_nil(c)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal(param, err.param)
    if pattern then assert.truthy(err.message:find(pattern, 1, true), err.message) end
    return err
  end

  local BASE = { region_id = "cn-hangzhou", access_key_id = "id", access_key_secret = "secret" }
  local function with(extra)
    local o = {}
    for k, v in pairs(BASE) do o[k] = v end
    for k, v in pairs(extra) do o[k] = v end
    return o
  end

  it("refuses bad retries with invalid_argument, and typos with a did-you-mean", function()
    refused(with{ retries = { max_attempts = "x" } }, "retries.max_attempts", "a whole number")
    refused(with{ retries = { max_attempts = 0 } }, "retries.max_attempts", "from 1")
    refused(with{ retries = { max_attempts = -3 } }, "retries.max_attempts")
    refused(with{ retries = { max_attempts = 2.5 } }, "retries.max_attempts")
    refused(with{ retries = { max_attempts = 1e9 } }, "retries.max_attempts")
    refused(with{ retries = { base_delay = -1 } }, "retries.base_delay", "seconds")
    refused(with{ retries = { max_delay = 1e300 } }, "retries.max_delay")
    refused(with{ retries = { max_delay = math.huge } }, "retries.max_delay")
    refused(with{ retries = { base_delay = 0 / 0 } }, "retries.base_delay")
    refused(with{ retries = { max_attempt = 3 } }, "retries.max_attempt", "did you mean max_attempts?")
    refused(with{ retries = { basedelay = 1 } }, "retries.basedelay", "did you mean base_delay?")
    refused(with{ retries = { [1] = 3 } }, "retries.[number]")
    refused(with{ retries = 3 }, "retries")
  end)

  it("accepts sound retries", function()
    assert(dts.new(with{ retries = { max_attempts = 1 } }))
    assert(dts.new(with{ retries = { max_attempts = 10, base_delay = 0, max_delay = 60 } }))
  end)

  it("refuses timeouts that are not a positive, finite number of seconds", function()
    refused(with{ timeout = 0 }, "timeout", "above 0")
    refused(with{ timeout = -1 }, "timeout")
    refused(with{ timeout = math.huge }, "timeout")
    refused(with{ timeout = 0 / 0 }, "timeout")
    refused(with{ connect_timeout = 0 }, "connect_timeout")
    refused(with{ wait_modifying = -1 }, "wait_modifying", "from 0")
    local c = assert(dts.new(with{ endpoint = "127.0.0.1:9" }))
    local res, err = c:describe_dts_job_detail({ DtsJobId = "j" }, { timeout = -2 })
    assert.is_nil(res)
    assert.are.equal("timeout", err.param)
    assert.are.equal(0, err.attempts)
  end)
end)

describe("dts --timeout and --retries", function()
  local em

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  local function run(args)
    local cmd = ("unset LD_PRELOAD; ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
      .. "ALIBABA_CLOUD_REGION_ID=cn-hangzhou %s bin/dts describe --dts-job-id dtsdemojob00001 "
      .. "--endpoint %s --ca-file %s %s 2>&1; echo \"exit=$?\""):format(quote(em.access_key_id),
      quote(em.access_key_secret), LUA, em.endpoint, quote(em.ca_file), args)
    local t0 = clock.now()
    local p = io.popen(cmd)
    local out = p:read("*a")
    p:close()
    return tonumber(out:match("exit=(%d+)%s*$")), out, clock.now() - t0
  end

  it("--timeout is the whole command's deadline, retries included", function()
    assert(em.set_faults{ { kind = "delay", seconds = 5 } })
    local code, out, elapsed = run("--timeout 1.5 --retries 10")
    assert.are.equal(4, code, out)
    assert.truthy(out:find("timeout", 1, true), out)
    -- The interpreter's start-up is in the time too.
    assert.is_true(elapsed < 1.5 + MARGIN + 0.5, "took " .. elapsed .. " s")
  end)

  it("--retries sets the attempts, and refuses nonsense as bad input", function()
    assert(em.set_faults{ { kind = "error" } })
    local code, out = run("--retries 2 --json")
    assert.are.equal(3, code, out)
    assert.truthy(out:find('"attempts":2', 1, true), out)
    code, out = run("--retries 0")
    assert.are.equal(2, code, out)
    assert.truthy(out:find("--retries: expected a whole number from 1 to 100, got 0", 1, true), out)
  end)
end)

describe("a method called with a dot", function()
  it("returns an error naming the method to call with a colon", function()
    local c = assert(dts.new{ region_id = "cn-hangzhou", access_key_id = "id", access_key_secret = "s" })
    for method in pairs({ modify_dts_job = true, describe_dts_job_detail = true }) do
      local ok, res, err = pcall(c[method], { DtsInstanceId = "i", DtsJobId = "j" })
      assert.is_true(ok, tostring(res))
      assert.is_nil(res)
      assert.are.equal("invalid_argument", err.kind)
      assert.truthy(err.message:find("client:" .. method .. "{...}", 1, true), err.message)
    end
  end)
end)
