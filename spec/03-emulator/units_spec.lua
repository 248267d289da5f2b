-- The emulator's pure-Lua parts without nginx: time parsing, parameter
-- checks, fault rules, the jobs model, answer shapes, and one request
-- through the service pipeline.
local cjson = require "cjson"
local core = require "dts.core"
local schema = require "dts.schema"
local faults = require "dts.emulator.faults"
local log = require "dts.emulator.log"
local params = require "dts.emulator.params"
local reply = require "dts.emulator.reply"
local service = require "dts.emulator.service"
local state = require "dts.emulator.state"
local verify = require "dts.emulator.verify"

describe("dts.emulator.verify.parse_time", function()
  it("reads UTC timestamps to epoch seconds", function()
    assert.are.equal(0, verify.parse_time("1970-01-01T00:00:00Z"))
    assert.are.equal(1456231584, verify.parse_time("2016-02-23T12:46:24Z"))
    assert.are.equal(951782400, verify.parse_time("2000-02-29T00:00:00Z"))
    for _, t in ipairs({ 0, 1e9, 1700000000, 2000000000 }) do
      assert.are.equal(t, verify.parse_time(core.timestamp(t)))
    end
  end)

  it("refuses everything else", function()
    for _, s in ipairs({ "2016-02-23 12:46:24", "2016-02-23T12:46:24", "2016-02-23T12:46:24.123Z",
                         "2016-02-30T00:00:00Z", "1900-02-29T00:00:00Z", "2016-13-01T00:00:00Z",
                         "2016-02-23T24:00:00Z", "2016-02-23T12:60:00Z", "", "yesterday" }) do
      assert.is_nil(verify.parse_time(s), s)
    end
    assert.is_nil(verify.parse_time(nil))
  end)
end)

describe("dts.emulator.params", function()
  local modify = schema.ModifyDtsJob

  it("types the values: booleans, JSON", function()
    local v = assert(params.check(modify, {
      DtsInstanceId = "i", DataInitialization = "false", StructureInitialization = "true",
      DbList = '{"db":{"name":"db","all":true}}', Reserved = '{"a":"1"}', Unknown = "kept out",
    }))
    assert.is_false(v.DataInitialization)
    assert.is_true(v.StructureInitialization)
    assert.same({ db = { name = "db", all = true } }, v.DbList)
    assert.same({ a = "1" }, v.Reserved)
    assert.is_nil(v.Unknown)
  end)

  it("names a missing required parameter, treating empty as missing", function()
    local v, code, name = params.check(modify, { DtsInstanceId = "" })
    assert.is_nil(v)
    assert.same({ "MissingDtsInstanceId", "DtsInstanceId" }, { code, name })
  end)

  it("accepts every documented DbList example (dts-api.md 3.4)", function()
    for _, dblist in ipairs({
      '{"dtstest": {"name": "dtstest", "all": true}}',
      '{"dtstestdata": {"name": "dtstestdata", "all": false, "Table": '
        .. '{"customer": {"name": "customer", "all": true}, "orders": {"name": "orders", "all": true}}}}',
      '{"shop": {"name": "shop", "all": false, "Table": {"customer": {"name": "customer", "all": false, '
        .. '"filter": "id>10 and region=\'hz\'", "column": {"id": {"name": "id"}, "addr": {"name": "address"}}}}}}',
      '{"logdb": {"name": "logdb", "all": true, "dml_op": "insert,update", "ddl_op": "CreateTable,AlterTable"}}',
      '{"test_database":{"name":"test_database","all":true,"state":"normal"}}',
      '{"pg":{"name":"pg","all":false,"View":{"v1":{"name":"v1"}}}}',
    }) do
      assert(params.check(modify, { DtsInstanceId = "i", DbList = dblist }), dblist)
    end
  end)

  it("says what is wrong with a DbList", function()
    local _, code, name, reason = params.check(modify, { DtsInstanceId = "i",
      DbList = '{"db":{"name":"db","all":false,"Table":{"t":{"all":1}}}}' })
    assert.same({ "InvalidParameter", "DbList" }, { code, name })
    assert.are.equal("DbList.db.Table.t.all: expected true or false, got number.", reason)
  end)
end)

describe("dts.emulator.faults", function()
  it("turns the flags' short form into rules", function()
    local rules = assert(faults.normalize{ throttle_every = 3, delay = 0.5, delay_every = 2,
                                           after_apply = true, action = "ModifyDtsJob" })
    table.sort(rules, function(a, b) return a.kind < b.kind end)
    assert.same({
      { kind = "delay", every = 2, seconds = 0.5, after_apply = true, action = "ModifyDtsJob" },
      { kind = "throttle", every = 3, after_apply = true, action = "ModifyDtsJob" },
    }, rules)
  end)

  it("fires every N-th matching request, at most `times` times", function()
    local t = faults.new(assert(faults.normalize{
      { kind = "error", every = 2 },
      { kind = "drop", action = "ModifyDtsJob", times = 1, after_apply = true },
    }))
    local fired = {}
    for i, action in ipairs({ "DescribeDtsJobDetail", "ModifyDtsJob", "DescribeDtsJobDetail", "ModifyDtsJob" }) do
      local before, after = t:plan(action)
      fired[i] = (before[1] and before[1].kind or "-") .. "/" .. (after[1] and after[1].kind or "-")
    end
    assert.same({ "-/-", "error/drop", "-/-", "error/-" }, fired)
  end)

  it("builds the answers of throttle, error, truncate and garbage", function()
    local id = "0-0-0-0-0"
    assert.are.equal(400, faults.answer({ kind = "throttle" }, nil, id).status)
    assert.are.equal(500, faults.answer({ kind = "error" }, nil, id).status)
    local cut = faults.answer({ kind = "truncate" }, { status = 200, code = "OK", body = '{"a":"bcdef"}' }, id)
    assert.same({ 200, "OK", '{"a":"' }, { cut.status, cut.code, cut.body })
    assert.has_error(function() cjson.decode(cut.body) end)
    assert.are.equal("text/html", faults.answer({ kind = "garbage" }, nil, id).content_type)
    assert.is_nil(faults.answer({ kind = "drop" }, nil, id))
  end)
end)

describe("dts.emulator.state", function()
  it("seeds the demo job by default", function()
    local m = assert(state.new())
    local job = m:find("dtsdemojob00001")
    assert.are.equal("dtsdemoinstance01", job.DtsInstanceId)
    assert.are.equal("synchronizing", job.Status)
    assert.are.equal(job, m:find(nil, "dtsdemoinstance01"))
  end)

  it("keeps a job Modifying for its window, refusing changes meanwhile", function()
    local m = assert(state.new{ jobs = { { DtsJobId = "j", DtsInstanceId = "i" } } })
    local job = m:find("j")
    assert.is_nil(state.refusal(job, 100, false))
    state.changed(job, 100, 5)
    assert.are.equal("Modifying", state.status(job, 104.9))
    assert.are.equal("OperationDenied.JobStatusModifying", state.refusal(job, 104.9, false))
    assert.are.equal("synchronizing", state.status(job, 105))
    assert.is_nil(state.refusal(job, 105, true))
  end)

  it("seeds a job as Modifying (any case): running, inside a change window from now", function()
    for _, spelling in ipairs({ "Modifying", "modifying", "MODIFYING" }) do
      local m = assert(state.new({ jobs = { { DtsJobId = "j", DtsInstanceId = "i", Status = spelling } } },
        { now = 100, modifying_seconds = 5 }))
      local job = m:find("j")
      assert.are.equal("Modifying", state.status(job, 104.9))
      assert.are.equal("OperationDenied.JobStatusModifying", state.refusal(job, 104.9, false))
      assert.are.equal("synchronizing", state.status(job, 105))
    end
    -- The job's own window wins.
    local m = assert(state.new({ jobs = { { DtsJobId = "j", DtsInstanceId = "i", Status = "Modifying",
      modifying_seconds = 1 } } }, { now = 100, modifying_seconds = 5 }))
    assert.are.equal("synchronizing", state.status(m:find("j"), 101))
    local _, err = state.new({ jobs = { { DtsJobId = "j", DtsInstanceId = "i", Status = "Modifyng" } } })
    assert.truthy(err:find("unknown status Modifyng", 1, true), err)
  end)

  it("round-trips through its snapshot", function()
    local m = assert(state.new{ jobs = { { DtsJobId = "j", DtsInstanceId = "i",
      status_sequence = { "Prechecking", "Synchronizing" } } } })
    assert.are.equal("Prechecking", state.describe(m:find("j"), 0))
    local again = assert(state.new(cjson.encode(m:snapshot())))
    assert.are.equal("synchronizing", state.describe(again:find("j"), 0))
  end)
end)

describe("dts.emulator.reply", function()
  it("writes empty arrays and slashes as the service does", function()
    local text = reply.encode({ a = reply.EMPTY_ARRAY, b = "x/y", c = { reply.EMPTY_ARRAY } })
    assert.truthy(text:find('"a":[]', 1, true), text)
    assert.truthy(text:find('"b":"x/y"', 1, true), text)
    assert.truthy(text:find('"c":[[]]', 1, true), text)
    -- A backslash before a slash survives.
    assert.are.equal("a\\/b", cjson.decode(reply.encode("a\\/b")))
  end)

  it("fills a message without reading the detail as a pattern", function()
    local a = reply.error("SignatureDoesNotMatch", "GET&%2F&A%3D1", "X")
    assert.truthy(cjson.decode(a.body).Message:find("server string to sign is:GET&%2F&A%3D1", 1, true))
  end)

  it("shapes a request id like the service's", function()
    assert.are.equal("0123ABCD-EF01-2345-6789-ABCDEF012345",
                     reply.request_id("0123abcdef0123456789abcdef012345"))
  end)
end)

describe("dts.emulator.log.redact", function()
  it("drops signatures and tokens and masks the secret anywhere", function()
    assert.same({ A = "1", B = "<redacted>", C = "a <redacted> in JSON" }, log.redact(
      { A = "1", B = "s3cret", C = 'a s3cret in JSON', Signature = "x", SecurityToken = "t" },
      { "s3cret" }))
  end)
end)

describe("dts.emulator.service without nginx", function()
  local cfg = { access_key_id = "id", access_key_secret = "secret", time_window = 900,
                modifying_seconds = 2, business_errors = "http" }

  it("runs a signed request through the whole pipeline", function()
    local svc = service.new(cfg, assert(state.new()))
    local now = os.time()
    local s = assert(core.sign{ scheme = "v3", method = "POST", host = "localhost:1",
      action = "ModifyDtsJob", version = "2020-01-01", access_key_id = "id",
      access_key_secret = "secret", timestamp = core.timestamp(now), nonce = core.nonce(),
      query = { DtsInstanceId = "dtsdemoinstance01", ClientToken = "t" },
      body = { DbList = '{"db":{"name":"db","all":true}}' } })
    local raw = { method = "POST", path = "/", args = s.target:match("%?(.*)$"),
                  headers = s.headers, body = s.body }
    local answer, entry = svc:handle(service.parse(raw), now, "R-1")
    assert.are.equal(200, answer.status, answer.body)
    assert.is_true(entry.applied)
    -- The same bytes again: the nonce is spent.
    answer = svc:handle(service.parse(raw), now, "R-2")
    assert.are.equal("SignatureNonceUsed", cjson.decode(answer.body).Code)
  end)

  it("decodes forms the way the gateway does", function()
    local t, twice = service.parse_form("a=1+2&b=%7E%2B&c&d=")
    assert.same({ a = "1 2", b = "~+", c = "", d = "" }, t)
    assert.is_nil(twice)
    local _, dup = service.parse_form("a=1&a=2")
    assert.are.equal("a", dup)
  end)
end)
