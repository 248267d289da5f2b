-- The client end to end: real signing, real HTTPS on 127.0.0.1, the local
-- emulator as the service.  Every error kind, every retry case (with the
-- emulator's log proving what was applied), both schemes, STS, dry-run,
-- and no secret in any error.
local dts = require "dts"
local emulator = require "dts.emulator"

local INSTANCE, JOB = "dtsdemoinstance01", "dtsdemojob00001"
local TOKEN = "CAIS+sts/token=="

local function dblist(...)
  local tables = { customer = { name = "customer", all = true } }
  for _, t in ipairs({ ... }) do tables[t] = { name = t, all = true } end
  return { dtstestdata = { name = "dtstestdata", all = false, Table = tables } }
end

describe("client against the emulator", function()
  local em, sts

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0 })
    sts = assert(emulator.start{ modifying_seconds = 0, security_token = TOKEN })
  end)

  teardown(function()
    if em then em.stop() end
    if sts then sts.stop() end
  end)

  before_each(function()
    assert(em.set_faults({}))
    em.clear_log()
  end)

  local function client(opts, server)
    server = server or em
    local o = {
      region_id = "cn-hangzhou", endpoint = server.endpoint, ca_file = server.ca_file, proxy = "",
      access_key_id = server.access_key_id, access_key_secret = server.access_key_secret,
      retries = { max_attempts = 4, base_delay = 0.01, max_delay = 0.05 },
    }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(dts.new(o))
  end

  local function secret_free(err, ...)
    for _, s in ipairs({ em.access_key_secret, TOKEN, ... }) do
      assert.falsy(tostring(err):find(s, 1, true), "secret in: " .. tostring(err))
      assert.falsy((err.message or ""):find(s, 1, true))
    end
  end

  local function applied()
    local n = 0
    for _, r in ipairs(em.requests()) do
      if r.applied and not r.replayed then n = n + 1 end
    end
    return n
  end

  for _, scheme in ipairs({ "v3", "v1" }) do
    describe(scheme, function()
      it("sends every ModifyDtsJob parameter, verified by the service", function()
        local c = client{ signature = scheme }
        local res, err = c:modify_dts_job{
          dts_instance_id = INSTANCE, DtsJobId = JOB, RegionId = "cn-hangzhou",
          SynchronizationDirection = "Forward", ClientToken = "token-" .. scheme,
          DbList = dblist("orders"), Reserved = { targetTableMode = "2" },
          EtlOperatorColumnReference = { configKeyMap = {} },
          FilterTableName = "t", StructureInitialization = true, DataInitialization = false,
          DataSynchronization = true, ZeroEtlJob = false, ResourceGroupId = "rg-test",
        }
        assert(res, err and tostring(err))
        assert.is_true(res.success)
        assert.are.equal(JOB, res.dts_job_id)
        assert.truthy(res.request_id)
        local log = em.requests()
        assert.are.equal(1, #log)
        assert.are.equal(scheme, log[1].scheme)
        assert.is_true(log[1].verified)
        assert.are.equal("OK", log[1].code)
        assert.are.equal("token-" .. scheme, log[1].client_token)
        local p = log[1].parameters
        assert.are.equal("true", p.StructureInitialization)
        assert.are.equal("false", p.DataInitialization)
        assert.are.equal("rg-test", p.ResourceGroupId)
        assert.are.equal('{"targetTableMode":"2"}', p.Reserved)
      end)

      it("reads the job back: status and DbObject decoded", function()
        local c = client{ signature = scheme }
        assert(c:modify_dts_job{ DtsInstanceId = INSTANCE, DtsJobId = JOB, DbList = dblist("orders") })
        local job, err = c:describe_dts_job_detail{ DtsJobId = JOB }
        assert(job, err and tostring(err))
        assert.are.equal("synchronizing", job.status)
        assert.are.equal(INSTANCE, job.dts_instance_id)
        assert.are.equal("string", type(job.db_object_text))
        assert.truthy(job.db_object.dtstestdata.Table.orders)
        assert.are.equal("normal", job.db_object.dtstestdata.state)
      end)

      it("decodes the DbObject only when it is read, and its JSON still holds it", function()
        local c = client{ signature = scheme }
        assert(c:modify_dts_job{ DtsInstanceId = INSTANCE, DtsJobId = JOB, DbList = dblist("orders") })
        local job = assert(c:describe_dts_job_detail{ DtsJobId = JOB })
        assert.is_nil(rawget(job, "db_object"))
        local text = assert(require("dts.json").encode(job))
        assert.truthy(text:find('"db_object":{"dtstestdata"', 1, true))
        assert.truthy(rawget(job, "db_object").dtstestdata.Table.orders)
        job = assert(c:describe_dts_job_detail{ DtsJobId = JOB })
        assert.truthy(job.db_object.dtstestdata.Table.orders)
        assert.are.equal(job.db_object, rawget(job, "db_object")) -- decoded once
        if _VERSION ~= "Lua 5.1" then -- __pairs: what pairs shows holds it
          job = assert(c:describe_dts_job_detail{ DtsJobId = JOB })
          local seen = {}
          for k, v in pairs(job) do seen[k] = v end
          assert.truthy(seen.db_object and seen.db_object.dtstestdata.Table.orders)
        end
        -- A wait polls without decoding it.
        job = assert(c:wait_idle{ DtsJobId = JOB, DtsInstanceId = INSTANCE, interval = 0.01, timeout = 5 })
        assert.is_nil(rawget(job, "db_object"))
        assert.truthy(job.db_object.dtstestdata.Table.orders)
      end)

      it("signs with an STS token", function()
        local c = client({ signature = scheme, security_token = TOKEN }, sts)
        local res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
        assert(res, err and tostring(err))
        local wrong = client({ signature = scheme, security_token = "CAIS+other" }, sts)
        res, err = wrong:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
        assert.is_nil(res)
        assert.are.equal("credentials", err.kind)
        assert.are.equal("InvalidSecurityToken.MismatchWithAccessKey", err.code)
        secret_free(err, "CAIS+other")
      end)
    end)
  end

  it("generates a ClientToken and keeps it for every retry of the call", function()
    em.set_faults{ { kind = "throttle", times = 2 } }
    local res, err = client():modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("a") }
    assert(res, err and tostring(err))
    local log = em.requests()
    assert.are.equal(3, #log)
    assert.truthy(log[1].client_token and #log[1].client_token == 32)
    assert.are.equal(log[1].client_token, log[2].client_token)
    assert.are.equal(log[1].client_token, log[3].client_token)
    assert.are.equal("Throttling.User", log[1].code)
    assert.are.equal(1, applied())
  end)

  it("keeps one connection alive across calls", function()
    local c = client()
    for i = 1, 3 do
      assert(c:describe_dts_job_detail{ DtsJobId = "dtsdemojob00001", SyncSubJobHistory = i > 1 })
    end
    local log = em.requests()
    assert.are.equal(3, #log)
    assert.are.equal(log[1].connection, log[2].connection)
    assert.are.equal(log[1].connection, log[3].connection)
  end)

  it("retries a 5xx, then succeeds", function()
    em.set_faults{ { kind = "error", times = 1 } }
    local res, err = client():modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("b") }
    assert(res, err and tostring(err))
    assert.are.equal("ServiceUnavailable", em.requests()[1].code)
    assert.are.equal(1, applied())
  end)

  it("retries a dropped connection after the change was applied, without applying it twice", function()
    em.set_faults{ { kind = "drop", after_apply = true, times = 1, action = "ModifyDtsJob" } }
    local res, err = client():modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("c") }
    assert(res, err and tostring(err))
    assert.are.equal(1, applied())
    local replayed = 0
    for _, r in ipairs(em.requests()) do
      if r.replayed then replayed = replayed + 1 end
    end
    assert.are.equal(1, replayed)
  end)

  it("retries a timeout after the change was applied, without applying it twice", function()
    em.set_faults{ { kind = "delay", seconds = 1.5, after_apply = true, times = 1, action = "ModifyDtsJob" } }
    -- wait_modifying later than timeout: the call may last 5 s, each attempt 0.5 s.
    local res, err = client{ timeout = 0.5 }:modify_dts_job({ DtsInstanceId = INSTANCE, DbList = dblist("d") },
      { wait_modifying = 5 })
    assert(res, err and tostring(err))
    -- The timed-out request is logged when its delayed answer is written.
    for _ = 1, 100 do
      if #em.requests() >= 2 then break end
      require("dts.curl").sleep(0.05)
    end
    assert.are.equal(1, applied())
    assert.is_true(em.requests()[1].replayed)
  end)

  it("gives up after max_attempts with a retryable error that counts them", function()
    em.set_faults{ { kind = "throttle" } }
    local res, err = client():modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("api", err.kind)
    assert.are.equal("Throttling.User", err.code)
    assert.are.equal(400, err.http_status)
    assert.is_true(err.retryable)
    assert.are.equal(4, err.attempts)
    assert.truthy(err.request_id)
    assert.truthy(tostring(err):find("4 attempts", 1, true))
    assert.are.equal(0, applied())
    secret_free(err)
  end)

  it("reports a broken body as a protocol error", function()
    em.set_faults{ { kind = "garbage" } }
    local res, err = client{ retries = { max_attempts = 1 } }:modify_dts_job{
      DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("protocol", err.kind)
    assert.are.equal(200, err.http_status)
    em.set_faults{ { kind = "truncate" } }
    res, err = client{ retries = { max_attempts = 1 } }:modify_dts_job{
      DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("protocol", err.kind)
    secret_free(err)
  end)

  it("reports timeouts, TLS failures and closed ports by kind", function()
    em.set_faults{ { kind = "delay", seconds = 1 } }
    local res, err = client{ timeout = 0.2, retries = { max_attempts = 1 } }:modify_dts_job{
      DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("timeout", err.kind)
    secret_free(err)
    em.set_faults({})
    res, err = client{ ca_file = "/etc/ssl/certs/ca-certificates.crt", retries = { max_attempts = 1 } }
      :modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("tls", err.kind)
    assert.is_false(err.retryable)
    secret_free(err)
    res, err = client{ endpoint = "127.0.0.1:9", retries = { max_attempts = 2, base_delay = 0.01 } }
      :modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("network", err.kind)
    assert.are.equal(2, err.attempts)
    secret_free(err)
  end)

  it("explains SignatureDoesNotMatch without echoing anything secret", function()
    local c = client{ access_key_secret = "the-wrong-secret" }
    local res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.are.equal("SignatureDoesNotMatch", err.code)
    assert.is_false(err.retryable)
    assert.are.equal(1, err.attempts)
    assert.truthy(err.message:find("access key secret is most likely wrong", 1, true))
    assert.falsy(err.message:find("DbList", 1, true)) -- the echoed string to sign is not shown
    secret_free(err, "the-wrong-secret")
    c = client{ access_key_secret = "the-wrong-secret", debug = true, signature = "v1" }
    res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
    assert.is_nil(res)
    assert.truthy(err.message:find("the strings to sign match, so the secret differs", 1, true))
    secret_free(err, "the-wrong-secret")
  end)

  it("reports an expired STS token as a credentials error", function()
    local expired = assert(emulator.start{ security_token = TOKEN, expired_token = true })
    local c = client({ security_token = TOKEN }, expired)
    local res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist() }
    expired.stop()
    assert.is_nil(res)
    assert.are.equal("credentials", err.kind)
    assert.are.equal("InvalidSecurityToken.Expired", err.code)
    assert.are.equal(403, err.http_status)
    secret_free(err)
  end)

  describe("a job being modified", function()
    local slow
    setup(function() slow = assert(emulator.start{ modifying_seconds = 1 }) end)
    teardown(function() if slow then slow.stop() end end)

    it("is an error by default, and waited out with wait_modifying", function()
      local c = client({}, slow)
      assert(c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("e") })
      local res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("e", "f") }
      assert.is_nil(res)
      assert.are.equal("OperationDenied.JobStatusModifying", err.code)
      assert.are.equal(403, err.http_status)
      assert.is_false(err.retryable)
      res, err = c:modify_dts_job({ DtsInstanceId = INSTANCE, DbList = dblist("e", "f") },
        { wait_modifying = 10 })
      assert(res, err and tostring(err))
      -- The same, asked for among the parameters, and as the client's default.
      res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("e", "g"), wait_modifying = 10 }
      assert(res, err and tostring(err))
      res, err = client({ wait_modifying = 10 }, slow):modify_dts_job{ DtsInstanceId = INSTANCE,
        DbList = dblist("e", "h") }
      assert(res, err and tostring(err))
    end)
  end)

  for _, mode in ipairs({ "success_false", "success_false_string" }) do
    it("understands business errors sent as HTTP 200 with Success " .. mode, function()
      local alt = assert(emulator.start{ modifying_seconds = 1, business_errors = mode })
      local c = client({}, alt)
      assert(c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("g") })
      local res, err = c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist("g", "h") }
      alt.stop()
      assert.is_nil(res)
      assert.are.equal("api", err.kind)
      assert.are.equal("OperationDenied.JobStatusModifying", err.code)
      assert.are.equal(200, err.http_status)
      assert.truthy(err.request_id)
    end)
  end

  it("refuses unknown call options", function()
    local res, err = client():modify_dts_job({ DtsInstanceId = INSTANCE }, { dryrun = true })
    assert.is_nil(res)
    assert.are.equal("dryrun", err.param)
    res, err = client():modify_dts_job({ DtsInstanceId = INSTANCE }, { wait_modifying = "10" })
    assert.is_nil(res)
    assert.are.equal("wait_modifying", err.param)
  end)

  it("sends nothing on a dry run, and shows no secret", function()
    local c = client{ signature = "v1", security_token = TOKEN }
    local req = assert(c:modify_dts_job({ DtsInstanceId = INSTANCE, DbList = dblist() }, { dry_run = true }))
    assert.are.equal(0, #em.requests())
    -- dry_run may also ride among the parameters.
    local again = assert(c:modify_dts_job{ DtsInstanceId = INSTANCE, DbList = dblist(), dry_run = true })
    assert.are.equal(req.body, again.body)
    assert.are.equal(0, #em.requests())
    local text = req.method .. req.url .. req.body
    for k, v in pairs(req.headers) do text = text .. k .. v end
    assert.falsy(text:find(em.access_key_secret, 1, true))
    assert.falsy(text:find("CAIS", 1, true))
    assert.truthy(req.url:find("Signature=<redacted>", 1, true))
    assert.truthy(req.url:find("SecurityToken=<redacted>", 1, true))
  end)

  it("refuses bad input without sending anything", function()
    local res, err = client():modify_dts_job{ DtsInstanceId = INSTANCE, DbList = { db = { all = "x" } } }
    assert.is_nil(res)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal(0, #em.requests())
  end)
end)
