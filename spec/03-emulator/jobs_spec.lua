-- The emulator's DTS side: jobs seeded from a state table or file,
-- ModifyDtsJob (DbList replaces, Reserved merges, the Modifying window,
-- status rules), DescribeDtsJobDetail (status sequences, DbObject as JSON
-- text with "state":"normal"), ClientToken replay, the business-error
-- variants, STS.  Waits are on state, never on durations.
local cjson = require "cjson"
local emulator = require "dts.emulator"
local dts_call = require "support.dts_call"

local SHOP = { shop = { name = "shop", all = false,
                        Table = { orders = { name = "orders", all = true } } } }

local function seed()
  return { jobs = {
    { DtsJobId = "job-run", DtsInstanceId = "inst-run", Status = "Synchronizing",
      DbObject = SHOP, Reserved = { targetTableMode = "2", maxRetryTime = "43200" } },
    { DtsJobId = "job-short", DtsInstanceId = "inst-short", modifying_seconds = 0.2, DbObject = SHOP },
    { DtsJobId = "job-reserved", DtsInstanceId = "inst-reserved", Status = "Suspending",
      DbObject = SHOP, Reserved = { targetTableMode = "2", srcSSL = "0" } },
    { DtsJobId = "job-failed", DtsInstanceId = "inst-failed", Status = "Failed" },
    { DtsJobId = "job-suspended", DtsInstanceId = "inst-suspended", Status = "Suspending" },
    { DtsJobId = "job-precheck-failed", DtsInstanceId = "inst-pf", Status = "PrecheckFailed" },
    { DtsJobId = "job-init", DtsInstanceId = "inst-init", Status = "Initializing" },
    { DtsJobId = "job-flap", DtsInstanceId = "inst-flap",
      status_sequence = { "Initializing", "Prechecking", "Initializing", "Synchronizing" } },
    { DtsJobId = "job-fwd", DtsInstanceId = "inst-2way" },
    { DtsJobId = "job-rev", DtsInstanceId = "inst-2way", SynchronizationDirection = "Reverse" },
    { DtsJobId = "job-token", DtsInstanceId = "inst-token" },
    { DtsJobId = "job-token-2", DtsInstanceId = "inst-token-2", modifying_seconds = 0 },
  } }
end

local function job(em, id)
  for _, j in ipairs(em.state()) do
    if j.DtsJobId == id then
      return j
    end
  end
end

local function dblist(t)
  return cjson.encode(t)
end

local NEW_OBJECTS = { crm = { name = "crm", all = true } }

local function modify(caller, query, body, scheme)
  return caller:ok{ scheme = scheme or "v3", action = "ModifyDtsJob", query = query,
                    body = body or { DbList = dblist(NEW_OBJECTS) } }
end

local function detail(caller, query, scheme)
  return caller:ok{ scheme = scheme or "v3", action = "DescribeDtsJobDetail", query = query }
end

local function refused(res, code, status)
  assert.are.equal(status or 403, res.status, res.body)
  assert.are.equal(code, res.json.Code)
  assert.are.equal("dts.aliyuncs.com", res.json.HostId)
  return res.json
end

describe("dts.emulator jobs", function()
  local em, caller

  setup(function()
    em = assert(emulator.start{ state = seed(), modifying_seconds = 60 })
    caller = dts_call.new(em)
  end)

  teardown(function()
    if em then
      em.stop()
    end
  end)

  describe("DescribeDtsJobDetail", function()
    it("answers as the service does, DbObject and Reserved as JSON text", function()
      local res = detail(caller, { DtsJobId = "job-run", RegionId = "cn-hangzhou" })
      assert.are.equal(200, res.status, res.body)
      local b = res.json
      assert.is_true(b.Success)
      assert.are.equal(200, b.HttpStatusCode)
      assert.are.equal("job-run", b.DtsJobId)
      assert.are.equal("inst-run", b.DtsInstanceID)
      assert.are.equal("synchronizing", b.Status) -- seeded "Synchronizing"
      assert.are.equal("sync", b.JobType)
      assert.truthy(res.body:find('"SubSyncJob":[]', 1, true))
      assert.same({ StructureInitialization = true, DataInitialization = true,
                    DataSynchronization = true }, b.MigrationMode)
      assert.is_string(b.DbObject)
      assert.same({ shop = { name = "shop", all = false, state = "normal",
        Table = { orders = { name = "orders", all = true, state = "normal" } } } },
        cjson.decode(b.DbObject))
      assert.is_string(b.Reserved)
      assert.same({ targetTableMode = "2", maxRetryTime = "43200" }, cjson.decode(b.Reserved))
    end)

    it("finds a job by DtsInstanceID (capital ID) and direction", function()
      assert.are.equal("job-run", detail(caller, { DtsInstanceID = "inst-run" }).json.DtsJobId)
      assert.are.equal("job-fwd", detail(caller, { DtsInstanceID = "inst-2way" }).json.DtsJobId)
      assert.are.equal("job-rev", detail(caller, { DtsInstanceID = "inst-2way",
        SynchronizationDirection = "Reverse" }).json.DtsJobId)
    end)

    it("answers Forbidden.InstanceNotFound (404) for a job it does not have", function()
      refused(detail(caller, { DtsJobId = "job-nowhere" }), "Forbidden.InstanceNotFound", 404)
      refused(detail(caller, { DtsInstanceID = "inst-nowhere" }, "v1"), "Forbidden.InstanceNotFound", 404)
    end)

    it("shows a status sequence one step per call, then stays on its last", function()
      -- Still initializing: object changes are refused, with the init flags
      -- differently.
      refused(modify(caller, { DtsInstanceId = "inst-flap" }), "ModifyDenied.JobStatusNotRunning")
      refused(modify(caller, { DtsInstanceId = "inst-flap", DataInitialization = "true" }),
              "CheckStatus.InvalidInitStatus")
      local seen = {}
      for i = 1, 6 do
        seen[i] = detail(caller, { DtsJobId = "job-flap" }).json.Status
      end
      assert.same({ "Initializing", "Prechecking", "Initializing", "synchronizing",
                    "synchronizing", "synchronizing" }, seen)
      assert.are.equal(200, modify(caller, { DtsInstanceId = "inst-flap" }).status)
    end)
  end)

  describe("ModifyDtsJob", function()
    it("replaces the objects with DbList, then keeps the job Modifying", function()
      local res = modify(caller, { DtsInstanceId = "inst-run", RegionId = "cn-hangzhou" },
                         { DbList = dblist(NEW_OBJECTS) })
      assert.are.equal(200, res.status, res.body)
      local b = res.json
      assert.same({ RequestId = b.RequestId, Status = "200", DtsJobId = "job-run", Success = true }, b)
      local d = detail(caller, { DtsJobId = "job-run" }).json
      assert.are.equal("Modifying", d.Status)
      assert.same({ crm = { name = "crm", all = true, state = "normal" } }, cjson.decode(d.DbObject))
      local j = job(em, "job-run")
      assert.same(NEW_OBJECTS, j.DbObject)
      assert.are.equal(1, j.changes)
      assert.is_number(j.modifying_until)
    end)

    it("refuses a second change while Modifying: 403 OperationDenied.JobStatusModifying", function()
      local b = refused(modify(caller, { DtsInstanceId = "inst-run" }), "OperationDenied.JobStatusModifying")
      assert.is_string(b.Message)
      refused(modify(caller, { DtsInstanceId = "inst-run" },
                     { ModifyTypeEnum = "UPDATE_RESERVED", Reserved = '{"a":"1"}' }, "v1"),
              "OperationDenied.JobStatusModifying")
      assert.are.equal(1, job(em, "job-run").changes)
    end)

    it("accepts changes again once the window is over", function()
      assert.are.equal(200, modify(caller, { DtsJobId = "job-short", DtsInstanceId = "inst-short" }).status)
      local status = dts_call.wait_until(function()
        local s = detail(caller, { DtsJobId = "job-short" }).json.Status
        return s ~= "Modifying" and s
      end)
      assert.are.equal("synchronizing", status)
      assert.are.equal(200, modify(caller, { DtsInstanceId = "inst-short" },
        { DbList = dblist(SHOP) }).status)
      assert.are.equal(2, job(em, "job-short").changes)
    end)

    it("merges Reserved with ModifyTypeEnum=UPDATE_RESERVED, objects untouched", function()
      local res = modify(caller, { DtsInstanceId = "inst-reserved" },
        { ModifyTypeEnum = "UPDATE_RESERVED", Reserved = '{"srcSSL":"1","autoStartModulesAfterConfig":"none"}',
          DbList = dblist(NEW_OBJECTS) })
      assert.are.equal(200, res.status, res.body)
      local d = detail(caller, { DtsJobId = "job-reserved" }).json
      assert.same({ targetTableMode = "2", srcSSL = "1", autoStartModulesAfterConfig = "none" },
                  cjson.decode(d.Reserved))
      assert.same({ shop = { name = "shop", all = false, state = "normal",
        Table = { orders = { name = "orders", all = true, state = "normal" } } } },
        cjson.decode(d.DbObject))
    end)

    it("changes a Failed job (failed in the incremental stage)", function()
      assert.are.equal(200, modify(caller, { DtsInstanceId = "inst-failed" }).status)
    end)

    it("refuses object changes outside the incremental stage: ModifyDenied.JobStatusNotRunning", function()
      for id, status in pairs({ ["inst-suspended"] = "Suspending", ["inst-pf"] = "PrecheckFailed",
                                ["inst-init"] = "Initializing" }) do
        local b = refused(modify(caller, { DtsInstanceId = id }), "ModifyDenied.JobStatusNotRunning")
        assert.truthy(b.Message:find(status, 1, true), b.Message)
      end
    end)

    it("refuses init-stage flags on a job still initializing: CheckStatus.InvalidInitStatus", function()
      for _, flag in ipairs({ "StructureInitialization", "DataInitialization" }) do
        local b = refused(modify(caller, { DtsInstanceId = "inst-init", [flag] = "true" }),
                          "CheckStatus.InvalidInitStatus")
        assert.truthy(b.Message:find("Initializing", 1, true), b.Message)
      end
      assert.are.equal(0, job(em, "job-init").changes)
    end)

    it("finds the job by DtsJobId first, else by instance and direction", function()
      assert.are.equal(200, modify(caller, { DtsInstanceId = "inst-2way" }).status)
      assert.are.equal(1, job(em, "job-fwd").changes)
      assert.are.equal(0, job(em, "job-rev").changes)
      assert.are.equal("job-rev", modify(caller, { DtsInstanceId = "inst-2way",
        SynchronizationDirection = "Reverse" }).json.DtsJobId)
      assert.are.equal(1, job(em, "job-rev").changes)
      refused(modify(caller, { DtsInstanceId = "inst-2way", DtsJobId = "job-nowhere" }),
              "Forbidden.InstanceNotFound", 404)
      refused(modify(caller, { DtsInstanceId = "inst-nowhere" }, nil, "v1"),
              "Forbidden.InstanceNotFound", 404)
    end)
  end)

  describe("ClientToken", function()
    it("answers an applied call's token with the first answer, changing nothing", function()
      local first = modify(caller, { DtsInstanceId = "inst-token", ClientToken = "token-applied-1" })
      assert.are.equal(200, first.status, first.body)
      for _, scheme in ipairs({ "v3", "v1" }) do
        local again = modify(caller, { DtsInstanceId = "inst-token", ClientToken = "token-applied-1" },
                             nil, scheme)
        assert.are.equal(200, again.status)
        assert.are.equal(first.body, again.body)
      end
      assert.are.equal(1, job(em, "job-token").changes)
      local log = dts_call.entries(em, "ModifyDtsJob")
      local last = log[#log]
      assert.same({ "token-applied-1", true, false, "OK", 200 },
                  { last.client_token, last.replayed, last.applied, last.code, last.http_status })
      assert.same({ true, false }, { log[#log - 2].applied, log[#log - 2].replayed })
      -- A new token is a new call: refused, the job is Modifying.
      refused(modify(caller, { DtsInstanceId = "inst-token", ClientToken = "token-applied-2" }),
              "OperationDenied.JobStatusModifying")
    end)

    it("does not remember refused calls: their retry runs afresh", function()
      local bad = modify(caller, { DtsInstanceId = "inst-token-2", ClientToken = "token-refused" },
                         { DbList = "[]" })
      assert.are.equal(400, bad.status)
      local good = modify(caller, { DtsInstanceId = "inst-token-2", ClientToken = "token-refused" })
      assert.are.equal(200, good.status, good.body)
      assert.are.equal(1, job(em, "job-token-2").changes)
      local busy = modify(caller, { DtsInstanceId = "inst-token", ClientToken = "token-busy" })
      local busy_again = modify(caller, { DtsInstanceId = "inst-token", ClientToken = "token-busy" })
      refused(busy, "OperationDenied.JobStatusModifying")
      refused(busy_again, "OperationDenied.JobStatusModifying")
      assert.are_not.equal(busy.json.RequestId, busy_again.json.RequestId)
      local log = dts_call.entries(em, "ModifyDtsJob")
      assert.is_false(log[#log].replayed)
    end)
  end)
end)

describe("dts.emulator business errors as Success:false", function()
  for _, mode in ipairs({ "success_false", "success_false_string" }) do
    describe(mode, function()
      local em, caller
      local prefix = mode == "success_false_string" and "DTS.Msg." or ""

      setup(function()
        em = assert(emulator.start{ state = seed(), business_errors = mode,
                                    dts_msg_prefix = prefix ~= "" })
        caller = dts_call.new(em)
      end)

      teardown(function()
        if em then
          em.stop()
        end
      end)

      local function failed(res, code, status, dynamic)
        assert.are.equal(200, res.status, res.body)
        local b = res.json
        if mode == "success_false" then
          assert.is_false(b.Success)
        else
          assert.are.equal("false", b.Success)
        end
        assert.are.equal(prefix .. code, b.ErrCode)
        assert.is_string(b.ErrMessage)
        assert.are.equal(dynamic or "", b.DynamicMessage)
        assert.are.equal(tostring(status), b.DynamicCode)
        assert.are.equal(status, b.HttpStatusCode)
        assert.matches("^%x+%-", b.RequestId)
        assert.is_nil(b.Code)
        return b
      end

      it("for each DTS business error", function()
        assert.are.equal(200, modify(caller, { DtsInstanceId = "inst-run" }).status)
        failed(modify(caller, { DtsInstanceId = "inst-run" }), "OperationDenied.JobStatusModifying",
               403, "job-run")
        local b = failed(modify(caller, { DtsInstanceId = "inst-suspended" }),
                         "ModifyDenied.JobStatusNotRunning", 403, "Suspending")
        assert.truthy(b.ErrMessage:find("%s", 1, true), b.ErrMessage)
        failed(modify(caller, { DtsInstanceId = "inst-init", DataInitialization = "true" }),
               "CheckStatus.InvalidInitStatus", 403, "Initializing")
        failed(detail(caller, { DtsJobId = "job-nowhere" }), "Forbidden.InstanceNotFound", 404)
        local log = dts_call.entries(em, "ModifyDtsJob")
        assert.are.equal(prefix .. "ModifyDenied.JobStatusNotRunning", log[3].code)
      end)

      it("but gateway errors keep their HTTP status and shape", function()
        local res = caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = "job-run" },
                               access_key_secret = "wrong" }
        refused(res, "SignatureDoesNotMatch", 400)
        refused(modify(caller, { DtsInstanceId = "inst-run", DataSynchronization = "maybe" }),
                "InvalidParameter", 400)
      end)
    end)
  end
end)

describe("dts.emulator with STS credentials over plain HTTP", function()
  local TOKEN = "CAIS+sts/token==with/Base64+chars"
  local em, caller

  setup(function()
    em = assert(emulator.start{ http = true, security_token = TOKEN,
                                access_key_id = "STS.NUemulator", access_key_secret = "sts-secret" })
    caller = dts_call.new(em)
  end)

  teardown(function()
    if em then
      em.stop()
    end
  end)

  it("listens on plain HTTP when asked", function()
    assert.matches("^http://localhost:%d+$", em.url)
    assert.is_nil(em.ca_file)
  end)

  it("accepts the token in both schemes", function()
    for _, scheme in ipairs({ "v1", "v3" }) do
      local res = detail(caller, { DtsJobId = "dtsdemojob00001" }, scheme)
      assert.are.equal(200, res.status, res.body)
    end
    assert.are.equal(200, modify(caller, { DtsInstanceId = "dtsdemoinstance01" }, nil, "v1").status)
  end)

  it("refuses a missing or different token: InvalidSecurityToken.MismatchWithAccessKey", function()
    for _, scheme in ipairs({ "v1", "v3" }) do
      for _, token in ipairs({ false, "CAISanother+token==" }) do
        local res = caller:ok{ scheme = scheme, action = "DescribeDtsJobDetail",
                               query = { DtsJobId = "dtsdemojob00001" }, security_token = token }
        refused(res, "InvalidSecurityToken.MismatchWithAccessKey", 400)
      end
    end
  end)

  it("refuses a malformed token: InvalidSecurityToken.Malformed", function()
    local res = caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" },
                           security_token = "not a token!" }
    refused(res, "InvalidSecurityToken.Malformed", 400)
  end)

  it("refuses a V3 token header left out of the signature: IncompleteSignature", function()
    local s = caller:sign{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" } }
    local auth = s.headers.authorization:gsub("x%-acs%-security%-token;", "")
    assert.are_not.equal(s.headers.authorization, auth)
    refused(assert(caller:send(s, { headers = { authorization = auth } })), "IncompleteSignature", 400)
  end)

  it("never writes the secret, the token or a signature to its log", function()
    local f = assert(io.open(em.log_file, "rb"))
    local text = f:read("*a")
    f:close()
    assert.truthy(text:find("STS.NUemulator", 1, true))
    for _, secret in ipairs({ TOKEN, "sts-secret", '"Signature"', "CAISanother" }) do
      assert.falsy(text:find(secret, 1, true), secret)
    end
    for _, e in ipairs(em.requests()) do
      assert.is_nil(e.parameters.SecurityToken)
      assert.is_nil(e.parameters.Signature)
    end
  end)
end)

describe("dts.emulator with an expired STS token", function()
  it("answers 403 InvalidSecurityToken.Expired", function()
    local em = assert(emulator.start{ security_token = "CAISexpired", expired_token = true })
    local ok, err = pcall(function()
      local caller = dts_call.new(em)
      for _, scheme in ipairs({ "v1", "v3" }) do
        local b = refused(detail(caller, { DtsJobId = "dtsdemojob00001" }, scheme),
                          "InvalidSecurityToken.Expired", 403)
        assert.are.equal("Specified SecurityToken is expired.", b.Message)
      end
    end)
    em.stop()
    assert(ok, err)
  end)
end)

describe("dts.emulator.start", function()
  it("seeds jobs from a state file", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(cjson.encode({ jobs = { { DtsJobId = "job-file", DtsInstanceId = "inst-file",
      DbObject = '{"db":{"name":"db","all":true}}', status_sequence = { "Prechecking", "synchronizing" } } } }))
    f:close()
    local em, err = emulator.start{ state = path, http = true }
    os.remove(path)
    assert(em, err)
    local ok, perr = pcall(function()
      local caller = dts_call.new(em)
      assert.same({ "Prechecking", "synchronizing", "synchronizing" }, {
        detail(caller, { DtsJobId = "job-file" }).json.Status,
        detail(caller, { DtsJobId = "job-file" }).json.Status,
        detail(caller, { DtsInstanceID = "inst-file" }).json.Status,
      })
      assert.same({ db = { name = "db", all = true } }, em.state()[1].DbObject)
    end)
    em.stop()
    assert(ok, perr)
  end)

  it("refuses bad options and states before starting anything", function()
    for _, case in ipairs({
      { { prot = 1 }, "unknown option prot" },
      { { metadata_prot = 1 }, "unknown option metadata_prot; did you mean metadata_port?" },
      { { port = 20000, metadata_port = 20000 }, "option metadata_port: must differ from port" },
      { { business_errors = "xml" }, "business_errors" },
      { { access_key_id = "id" }, "together" },
      { { state = "/nonexistent/state.json" }, "state file" },
      { { state = { jobs = { { DtsJobId = "j" } } } }, "state.jobs[1].DtsInstanceId" },
      { { state = { jobs = { { DtsJobId = "j", DtsInstanceId = "i", Status = "Running" } } } }, "Status" },
      { { state = { jobs = { { DtsJobId = "j", DtsInstanceId = "i", DbObject = "[1]" } } } }, "DbObject" },
      { { faults = { { kind = "explode" } } }, "faults[1].kind" },
      { { faults = { throttle_every = 0 } }, "throttle_every" },
    }) do
      local em, err = emulator.start(case[1])
      assert.is_nil(em)
      assert.truthy(err:find(case[2], 1, true), err)
    end
  end)

  it("never puts the metadata server on the main port (a random draw may give it twice)", function()
    local nginx = require "dts.nginx"
    local real = nginx.random_port
    local port = real()
    local drawn = 0
    nginx.random_port = function()
      drawn = drawn + 1
      if drawn == 1 then return port end -- the main port, drawn again
      return real()
    end
    local ok, em, err = pcall(emulator.start, { port = port })
    nginx.random_port = real
    assert(ok, em)
    assert(em, err)
    em.stop()
    assert.truthy(drawn >= 2, drawn)
    assert.are_not.equal("http://127.0.0.1:" .. port, em.metadata_endpoint)
  end)
end)
