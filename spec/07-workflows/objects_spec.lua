-- add_objects, remove_objects, wait_idle and batches against the emulator:
-- the "naive call drops objects" trap, plans, confirmation, flapping
-- statuses, and a batch run broken mid-way and resumed from its checkpoint.
local dts = require "dts"
local emulator = require "dts.emulator"

-- One emulator for the file, one job per test (no restarts: fast).
local JOBS = {}

local function job(id, over)
  local j = {
    DtsInstanceId = "inst-" .. id, DtsJobId = id, Status = "synchronizing",
    DbObject = { dtstestdata = { name = "dtstestdata", all = false, Table = {
      customer = { name = "customer", all = true }, orders = { name = "orders", all = true } } } },
    Reserved = { syncArchitecture = "oneway" },
  }
  for k, v in pairs(over or {}) do j[k] = v end
  JOBS[#JOBS + 1] = j
  return id
end

local TRAP, ADD, NOTHING, INIT, WAIT, REMOVE, EMPTY = job("trap"), job("add"), job("nothing"),
  job("init"), job("wait"), job("remove"), job("empty")
local SUSPENDED = job("suspended", { Status = "Suspending" })
local TWO_WAY = job("two-way", { Reserved = { syncArchitecture = "bidirectional" } })
local FLAPPING = job("flapping", { status_sequence = { "Initializing", "Prechecking",
  "Initializing", "synchronizing", "Initializing", "Synchronizing" } })
local FAILING = job("failing", { status_sequence = { "Prechecking", "PrecheckFailed" } })
local BATCH, BROKEN, OTHER = job("batch"), job("broken"), job("other")

local function client(em, opts)
  local o = { region_id = "cn-hangzhou", endpoint = em.endpoint, ca_file = em.ca_file, proxy = "",
    access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
    retries = { max_attempts = 3, base_delay = 0.01, max_delay = 0.02 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(dts.new(o))
end

local FAST = { interval = 0.05, timeout = 20 }

local function with(id, t)
  local o = { DtsJobId = id, DtsInstanceId = "inst-" .. id, interval = FAST.interval, timeout = FAST.timeout }
  for k, v in pairs(t or {}) do o[k] = v end
  return o
end

local function tables(c, id)
  local j = assert(c:describe_dts_job_detail{ DtsJobId = id })
  local names = {}
  for name in pairs(j.db_object.dtstestdata.Table or {}) do names[#names + 1] = name end
  table.sort(names)
  return names, j
end

local function modifications(em, id)
  local n = 0
  for _, r in ipairs(em.requests()) do
    if r.action == "ModifyDtsJob" and r.applied and not r.replayed and r.parameters.DtsJobId == id then
      n = n + 1
    end
  end
  return n
end

describe("workflows", function()
  local em, c

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.2, state = { jobs = JOBS } })
    c = client(em)
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults({}))
  end)

  it("shows the trap: a naive DbList with only the new table drops the others", function()
    assert(c:modify_dts_job{ DtsInstanceId = "inst-" .. TRAP, DtsJobId = TRAP,
      DbList = { dtstestdata = { name = "dtstestdata", all = false,
        Table = { invoices = { name = "invoices", all = true } } } } })
    assert(c:wait_idle(with(TRAP)))
    assert.are.same({ "invoices" }, (tables(c, TRAP)))
  end)

  it("add_objects keeps every object, adds the new ones once, and confirms", function()
    local r, err = c:add_objects(with(ADD, { objects = { "dtstestdata.invoices", "dtstestdata.orders", "audit" },
      initialize = true }))
    assert(r, err and tostring(err))
    assert.is_true(r.applied)
    assert.are.same({ "audit", "dtstestdata.invoices" }, r.plan.added)
    assert.are.same({}, r.plan.removed)
    assert.are.same({ "dtstestdata.orders" }, r.plan.present)
    assert.truthy(r.text:find("schema and full-data initialization of new objects: yes", 1, true))
    assert.are.same({ "customer", "invoices", "orders" }, (tables(c, ADD)))
    assert.are.equal(1, modifications(em, ADD))
    local sent
    for _, e in ipairs(em.requests()) do
      if e.action == "ModifyDtsJob" and e.parameters.DtsJobId == ADD then sent = e.parameters end
    end
    assert.are.equal("true", sent.StructureInitialization)
    assert.are.equal("true", sent.DataInitialization)
  end)

  it("add_objects sends nothing when everything is there, or on a dry run", function()
    local r = assert(c:add_objects(with(NOTHING, { objects = { "dtstestdata.orders" }, initialize = false })))
    assert.is_false(r.applied)
    r = assert(c:add_objects(with(NOTHING, { objects = { "dtstestdata.x" }, initialize = false, dry_run = true })))
    assert.is_true(r.dry_run)
    assert.are.same({ "dtstestdata.x" }, r.plan.added)
    assert.truthy(r.request.body:find("DbList=", 1, true))
    assert.are.equal(0, modifications(em, NOTHING))
  end)

  it("add_objects sends no initialization flags unless told, and says so in the plan", function()
    local r, err = c:add_objects(with(INIT, { objects = { "dtstestdata.x" }, initialize = "yes" }))
    assert.is_nil(r)
    assert.are.equal("initialize", err.param)
    r, err = c:add_objects(with(INIT, { objects = { "dtstestdata.x" } }))
    assert(r, err and tostring(err))
    assert.truthy(r.text:find("initialization of new objects: as the job is set up (not sent)", 1, true))
    local sent
    for _, e in ipairs(em.requests()) do
      if e.action == "ModifyDtsJob" and e.parameters.DtsJobId == INIT then sent = e.parameters end
    end
    assert.is_nil(sent.StructureInitialization)
    assert.is_nil(sent.DataInitialization)
  end)

  it("add_objects waits while the job is Modifying", function()
    assert(c:modify_dts_job{ DtsInstanceId = "inst-" .. WAIT, DtsJobId = WAIT,
      DbList = (select(2, tables(c, WAIT))).db_object })
    local r, err = c:add_objects(with(WAIT, { objects = { "dtstestdata.late" }, initialize = false }))
    assert(r, err and tostring(err))
    assert.are.same({ "customer", "late", "orders" }, (tables(c, WAIT)))
  end)

  it("remove_objects removes only what is asked, in its own submission", function()
    local r, err = c:add_objects(with(REMOVE, { objects = { "dtstestdata.invoices" }, initialize = false,
      remove = { "dtstestdata.orders" } }))
    assert(r, err and tostring(err))
    assert.are.same({ "customer", "invoices" }, (tables(c, REMOVE)))
    assert.are.equal(2, modifications(em, REMOVE))
  end)

  it("refuses to leave a job with no objects", function()
    local r, err = c:remove_objects(with(EMPTY, { objects = { "dtstestdata" } }))
    assert.is_nil(r)
    assert.are.equal("invalid_argument", err.kind)
  end)

  describe("job states", function()
    it("refuses a job that is not running, saying why", function()
      local r, err = c:add_objects(with(SUSPENDED, { objects = { "dtstestdata.x" }, initialize = false }))
      assert.is_nil(r)
      assert.truthy(err.message:find("is Suspending; objects can be changed only while it is running", 1, true))
    end)

    it("requires a direction on a two-way job", function()
      local r, err = c:add_objects(with(TWO_WAY, { objects = { "dtstestdata.x" }, initialize = false }))
      assert.is_nil(r)
      assert.are.equal("SynchronizationDirection", err.param)
      r, err = c:add_objects(with(TWO_WAY, { objects = { "dtstestdata.x" }, initialize = false,
        SynchronizationDirection = "Forward" }))
      assert(r, err and tostring(err))
    end)

    it("wait_idle sits out flapping statuses and needs running twice in a row", function()
      local seen = {}
      local j, err = c:wait_idle(with(FLAPPING, { on_status = function(s) seen[#seen + 1] = s end }))
      assert(j, err and tostring(err))
      assert.are.same({ "Initializing", "Prechecking", "Initializing", "synchronizing", "Initializing",
        "synchronizing", "synchronizing" }, seen)
    end)

    it("wait_idle stops at once on a terminal status", function()
      local j, err = c:wait_idle(with(FAILING))
      assert.is_nil(j)
      assert.truthy(err.message:find("is PrecheckFailed", 1, true))
    end)
  end)

  describe("batches", function()
    local checkpoint = os.tmpname()

    after_each(function() os.remove(checkpoint) end)

    local function wanted(n)
      local list = {}
      for i = 1, n do list[i] = ("dtstestdata.t%03d"):format(i) end
      return list
    end

    it("adds objects in cumulative batches, reporting progress", function()
      os.remove(checkpoint)
      local progress = {}
      local r, err = c:add_objects_in_batches(with(BATCH, { objects = wanted(10), batch_size = 4,
        initialize = false, checkpoint = checkpoint,
        on_progress = function(p) progress[#progress + 1] = p.done .. "/" .. p.total end }))
      assert(r, err and tostring(err))
      assert.are.same({ "4/10", "8/10", "10/10" }, progress)
      assert.are.equal(3, modifications(em, BATCH))
      assert.are.equal(12, #(tables(c, BATCH)))
    end)

    it("stops on a failure keeping the checkpoint, and resumes to every object exactly once", function()
      os.remove(checkpoint)
      local strict = client(em, { retries = { max_attempts = 1 } })
      -- The 3rd ModifyDtsJob fails (a 5xx, and no retries allowed here).
      em.set_faults{ { kind = "error", every = 3, times = 1, action = "ModifyDtsJob" } }
      local r, err = strict:add_objects_in_batches(with(BROKEN, { objects = wanted(12), batch_size = 3,
        initialize = false, checkpoint = checkpoint }))
      assert.is_nil(r)
      assert.truthy(err.message:find("^batch 3 of 4 %(6 of 12 objects confirmed before it%): "))
      assert.are.same({ 3, 4, 6, 12 }, { err.batch, err.batches, err.done, err.total })
      local f = assert(io.open(checkpoint))
      assert.truthy(f:read("*a"):find('"done":6', 1, true))
      f:close()
      -- A run that dies right after a confirmed batch (its checkpoint written).
      em.set_faults({})
      local ok = pcall(strict.add_objects_in_batches, strict, with(BROKEN, { objects = wanted(12),
        batch_size = 3, initialize = false, checkpoint = checkpoint,
        on_progress = function() error("killed") end }))
      assert.is_false(ok)
      r, err = strict:add_objects_in_batches(with(BROKEN, { objects = wanted(12), batch_size = 3,
        initialize = false, checkpoint = checkpoint }))
      assert(r, err and tostring(err))
      assert.are.equal(4, r.batches)
      local names = tables(c, BROKEN)
      assert.are.equal(14, #names)
      assert.are.equal(4, modifications(em, BROKEN))
    end)

    it("refuses a checkpoint of another object list", function()
      os.remove(checkpoint)
      assert(c:add_objects_in_batches(with(OTHER, { objects = wanted(2), batch_size = 2, initialize = false,
        checkpoint = checkpoint })))
      local r, err = c:add_objects_in_batches(with(OTHER, { objects = wanted(3), batch_size = 2,
        initialize = false, checkpoint = checkpoint }))
      assert.is_nil(r)
      assert.are.equal("checkpoint", err.param)
    end)
  end)
end)
