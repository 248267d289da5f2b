-- Runbook safety against the emulator (issue 10): a dry run of any
-- workflow sends no change; after a change went out every error says so
-- (submitted, ClientToken, request id, outcome) and the same ClientToken
-- applies nothing twice; accepted-but-unconfirmed has its own kind; the
-- instance and the direction are checked before anything is sent;
-- widening and narrowing only when asked; a batch run stopped by its
-- caller says where it stood and resumes.
local dts = require "dts"
local emulator = require "dts.emulator"
local json = require "dts.json"

local JOBS = {}

local function job(id, over)
  local j = {
    DtsInstanceId = "inst-" .. id, DtsJobId = id, Status = "synchronizing",
    DbObject = { shop = { name = "shop", all = false, Table = { orders = { name = "orders", all = true } } },
                 logs = { name = "logs", all = true } },
    Reserved = { syncArchitecture = "oneway" },
  }
  for k, v in pairs(over or {}) do j[k] = v end
  JOBS[#JOBS + 1] = j
  return id
end

local DRY, AFTER, DROP, RETRY, THROTTLE, SLOW, BUSY, REUSE = job("dry"), job("after"), job("drop"),
  job("retry"), job("throttle"), job("slow", { modifying_seconds = 4 }), job("busy", { modifying_seconds = 4 }),
  job("reuse")
local OWNER, TWO_WAY = job("owner"), job("twoway", { Reserved = { syncArchitecture = "bidirectional" } })
local WIDEN, NARROW, STOP = job("widen"), job("narrow"), job("stop")

describe("runbook safety", function()
  local em, c, strict

  local function client(em_, opts)
    local o = { region_id = "cn-hangzhou", endpoint = em_.endpoint, ca_file = em_.ca_file, proxy = "",
      access_key_id = em_.access_key_id, access_key_secret = em_.access_key_secret,
      retries = { max_attempts = 3, base_delay = 0.01, max_delay = 0.02 } }
    for k, v in pairs(opts or {}) do o[k] = v end
    return assert(dts.new(o))
  end

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.1, state = { jobs = JOBS } })
    c = client(em)
    strict = client(em, { retries = { max_attempts = 1 } })
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults({}))
  end)

  local function with(id, t)
    local o = { DtsJobId = id, DtsInstanceId = "inst-" .. id, interval = 0.05, timeout = 10 }
    for k, v in pairs(t or {}) do o[k] = v end
    return o
  end

  -- The ModifyDtsJob entries of the log for a job.
  local function modifies(id)
    local out = {}
    for _, e in ipairs(em.requests()) do
      if e.action == "ModifyDtsJob" and e.parameters.DtsJobId == id then out[#out + 1] = e end
    end
    return out
  end

  local function applied(id, token)
    local n = 0
    for _, e in ipairs(modifies(id)) do
      if e.applied and (not token or e.client_token == token) then n = n + 1 end
    end
    return n
  end

  local function objects_of(id)
    local j = assert(c:describe_dts_job_detail{ DtsJobId = id })
    return assert(require("dts.dblist").new(j.db_object)):names(), j
  end

  it("a dry run of every workflow sends no change", function()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    local r, err = c:add_objects(with(DRY, { objects = { "shop.items" }, remove = { "logs" }, dry_run = true }))
    assert(r, err and tostring(err))
    assert.is_true(r.dry_run)
    assert.is_true(r.removal.dry_run)
    r, err = c:remove_objects(with(DRY, { objects = { "shop.orders" }, dry_run = true }))
    assert(r, err and tostring(err))
    assert.is_true(r.dry_run)
    local list = {}
    for i = 1, 5 do list[i] = ("shop.t%d"):format(i) end
    r, err = c:add_objects_in_batches(with(DRY, { objects = list, batch_size = 2, initialize = false,
      checkpoint = checkpoint, dry_run = true, ClientToken = "dry-run-token" }))
    assert(r, err and tostring(err))
    assert.is_true(r.dry_run)
    assert.are.equal(3, r.batches)
    assert.are.equal(3, #r.plan)
    assert.are.same({ "shop.t1", "shop.t2" }, r.plan[1].added)
    assert.are.same({ "shop.t5" }, r.plan[3].added)
    assert.are.equal("dry-run-token-b3", r.plan[3].client_token)
    assert.is_false(r.plan[2].initialize)
    -- Cumulative: each batch's DbList holds the previous ones.
    assert.is_true(r.plan[1].bytes < r.plan[2].bytes and r.plan[2].bytes < r.plan[3].bytes)
    assert.truthy(r.plan[3].text:find("DbList: " .. r.plan[3].bytes .. " bytes", 1, true))
    assert.is_nil(io.open(checkpoint), "a dry run wrote the checkpoint")
    assert(c:wait_idle(with(DRY)))
    assert.are.equal(0, #modifies(DRY))
    assert.are.same({ "logs", "shop.orders" }, (objects_of(DRY)))
  end)

  describe("after a change went out", function()
    it("a lost answer (--after-apply) is submitted, outcome unknown; the same ClientToken is not applied twice",
      function()
      -- Twice: libcurl resends a request whose kept-alive connection died.
      em.set_faults{ { kind = "drop", after_apply = true, action = "ModifyDtsJob", times = 2 } }
      local params = { DtsInstanceId = "inst-" .. AFTER, DtsJobId = AFTER, ClientToken = "after-apply-1",
        DbList = { shop = { name = "shop", all = true } } }
      local r, err = strict:modify_dts_job(params)
      assert.is_nil(r)
      assert.are.equal("network", err.kind)
      assert.is_true(err.submitted)
      assert.are.equal("after-apply-1", err.client_token)
      assert.are.equal("unknown", err.outcome)
      assert.truthy(tostring(err):find("submitted with ClientToken after-apply-1 and no answer came back: "
        .. "it may have been applied", 1, true), tostring(err))
      -- Sent again with the same token: answered as the first time, applied once.
      em.set_faults({})
      assert(c:wait_idle(with(AFTER)))
      r, err = strict:modify_dts_job(params)
      assert(r, err and tostring(err))
      assert.are.equal(1, applied(AFTER, "after-apply-1"))
      local entries = modifies(AFTER)
      assert.is_true(entries[#entries].replayed)
    end)

    it("add_objects under --after-apply: submitted, unknown; run again with the ClientToken: nothing twice",
      function()
      em.set_faults{ { kind = "drop", after_apply = true, action = "ModifyDtsJob", times = 2 } }
      local r, err = strict:add_objects(with(AFTER, { objects = { "audit" }, ClientToken = "after-apply-2" }))
      assert.is_nil(r)
      assert.is_true(err.submitted)
      assert.are.equal("unknown", err.outcome)
      assert.are.equal("after-apply-2", err.client_token)
      em.set_faults({})
      r, err = strict:add_objects(with(AFTER, { objects = { "audit" }, ClientToken = "after-apply-2" }))
      assert(r, err and tostring(err))
      assert.is_false(r.applied) -- it was there already
      assert.are.equal(1, applied(AFTER, "after-apply-2"))
    end)

    it("a dropped request (--drop-every) is submitted, unknown; run again with the ClientToken: applied once",
      function()
      em.set_faults{ drop_every = 1, action = "ModifyDtsJob", times = 2 }
      local r, err = strict:add_objects(with(DROP, { objects = { "shop.items" }, ClientToken = "drop-1" }))
      assert.is_nil(r)
      assert.is_true(err.submitted)
      assert.are.equal("unknown", err.outcome)
      assert.are.equal("drop-1", err.client_token)
      assert.are.equal(0, applied(DROP))
      em.set_faults({})
      r, err = strict:add_objects(with(DROP, { objects = { "shop.items" }, ClientToken = "drop-1" }))
      assert(r, err and tostring(err))
      assert.is_true(r.applied)
      assert.are.equal(1, applied(DROP, "drop-1"))
      assert.are.same({ "logs", "shop.items", "shop.orders" }, (objects_of(DROP)))
    end)

    it("retries of one call reuse the token: a lost answer then a replay, applied once", function()
      em.set_faults{ { kind = "drop", after_apply = true, action = "ModifyDtsJob", times = 1 } }
      local r, err = c:add_objects(with(RETRY, { objects = { "shop.items" } }))
      assert(r, err and tostring(err))
      assert.is_true(r.applied)
      assert.are.equal(1, applied(RETRY))
      local sent = modifies(RETRY)
      assert.is_true(#sent >= 2)
      for _, e in ipairs(sent) do assert.are.equal(r.client_token, e.client_token) end
      assert.is_true(sent[#sent].replayed)
    end)

    it("a refusal is submitted with outcome refused; nothing sent is not submitted", function()
      em.set_faults{ throttle_every = 1, action = "ModifyDtsJob", times = 1 }
      local r, err = strict:add_objects(with(THROTTLE, { objects = { "shop.items" } }))
      assert.is_nil(r)
      assert.are.equal("api", err.kind)
      assert.is_true(err.submitted)
      assert.are.equal("refused", err.outcome)
      assert.truthy(err.request_id)
      assert.truthy(tostring(err):find("and refused: nothing was applied", 1, true))
      -- A connection refused sends nothing.
      local nowhere = assert(dts.new{ region_id = "cn-hangzhou", endpoint = "127.0.0.1:9", proxy = "",
        access_key_id = "k", access_key_secret = "s", retries = { max_attempts = 1 } })
      r, err = nowhere:modify_dts_job{ DtsInstanceId = "i", DbList = { a = { name = "a", all = true } } }
      assert.is_nil(r)
      assert.are.equal("network", err.kind)
      assert.is_nil(err.submitted)
      assert.is_nil(err.request_sent)
    end)
  end)

  describe("accepted but not confirmed", function()
    it("still Modifying at the deadline after the change went out: kind unconfirmed, with request and token",
      function()
      local r, err = c:add_objects(with(SLOW, { objects = { "shop.items" }, timeout = 1 }))
      assert.is_nil(r)
      assert.are.equal("unconfirmed", err.kind)
      assert.are.equal("NotConfirmed", err.code)
      assert.is_true(err.submitted)
      assert.are.equal("accepted", err.outcome)
      local sent = modifies(SLOW)
      assert.are.equal(1, #sent)
      assert.are.equal(sent[1].request_id, err.request_id)
      assert.are.equal(sent[1].client_token, err.client_token)
      assert.truthy(err.message:find("still Modifying after 1 s", 1, true), err.message)
    end)

    it("a wait that ends before anything was sent says so, and is a plain timeout", function()
      assert(c:modify_dts_job{ DtsInstanceId = "inst-" .. BUSY, DtsJobId = BUSY,
        DbList = { shop = { name = "shop", all = true } } })
      local r, err = c:add_objects(with(BUSY, { objects = { "audit" }, timeout = 1 }))
      assert.is_nil(r)
      assert.are.equal("timeout", err.kind)
      assert.is_nil(err.submitted)
      assert.truthy(err.message:find("still Modifying after 1 s; nothing was sent", 1, true), err.message)
      assert.are.equal(1, #modifies(BUSY))
    end)

    it("a read-back that differs (a ClientToken reused for another change) is unconfirmed", function()
      assert(c:add_objects(with(REUSE, { objects = { "shop.a" }, ClientToken = "reused" })))
      local r, err = c:add_objects(with(REUSE, { objects = { "shop.b" }, ClientToken = "reused" }))
      assert.is_nil(r)
      assert.are.equal("unconfirmed", err.kind)
      assert.truthy(err.message:find("does not show the new list (missing shop.b)", 1, true), err.message)
      assert.are.equal(1, applied(REUSE))
    end)
  end)

  describe("checks before a change", function()
    it("refuses an instance that does not own the job, and a direction the job lacks; nothing sent", function()
      local r, err = c:add_objects(with(OWNER, { objects = { "shop.items" }, DtsInstanceId = "inst-other" }))
      assert.is_nil(r)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal("DtsInstanceId", err.param)
      assert.truthy(err.message:find("job owner belongs to instance inst-owner, not inst-other", 1, true))
      r, err = c:remove_objects(with(OWNER, { objects = { "shop.orders" }, DtsInstanceId = "inst-other" }))
      assert.is_nil(r)
      assert.are.equal("DtsInstanceId", err.param)
      r, err = c:add_objects(with(OWNER, { objects = { "shop.items" }, SynchronizationDirection = "Reverse" }))
      assert.is_nil(r)
      assert.are.equal("SynchronizationDirection", err.param)
      assert.truthy(err.message:find("is one-way", 1, true))
      r, err = c:add_objects(with(TWO_WAY, { objects = { "shop.items" }, SynchronizationDirection = "Reverse" }))
      assert.is_nil(r)
      assert.are.equal("SynchronizationDirection", err.param)
      assert.truthy(err.message:find("synchronizes Forward, not Reverse", 1, true), err.message)
      assert.are.equal(0, #modifies(OWNER))
      assert.are.equal(0, #modifies(TWO_WAY))
    end)
  end)

  describe("widening and narrowing", function()
    it("a partly synchronized database becomes a whole one only with widen", function()
      local r, err = c:add_objects(with(WIDEN, { objects = { "shop" } }))
      assert.is_nil(r)
      assert.are.equal("widen", err.param)
      assert.truthy(err.message:find("shop (now only shop.orders)", 1, true), err.message)
      assert.are.equal(0, #modifies(WIDEN))
      r, err = c:add_objects(with(WIDEN, { objects = { "shop" }, widen = true, dry_run = true }))
      assert(r, err and tostring(err))
      assert.truthy(r.text:find("widen:  shop (the whole database, instead of shop.orders)", 1, true), r.text)
      assert.truthy(r.text:find("remove: nothing", 1, true), r.text)
      r, err = c:add_objects(with(WIDEN, { objects = { "shop" }, widen = true }))
      assert(r, err and tostring(err))
      assert.is_true(r.applied)
      assert.are.same({ "shop" }, r.plan.widened)
      assert.are.same({ "logs", "shop" }, (objects_of(WIDEN)))
    end)

    it("a whole database becomes the tables given only with narrow", function()
      local r, err = c:add_objects(with(NARROW, { objects = { "logs.events" } }))
      assert(r, err and tostring(err))
      assert.is_false(r.applied)
      assert.are.same({ "logs.events" }, r.plan.covered)
      assert.truthy(r.text:find("covered by a whole database: logs.events", 1, true), r.text)
      r, err = c:add_objects(with(NARROW, { objects = { "logs.events", "logs.audit" }, narrow = true }))
      assert(r, err and tostring(err))
      assert.is_true(r.applied)
      assert.truthy(r.text:find("narrow: logs (only logs.audit, logs.events, instead of the whole database)",
        1, true), r.text)
      assert.are.same({ "logs.audit", "logs.events", "shop.orders" }, (objects_of(NARROW)))
      assert.are.equal(1, applied(NARROW))
    end)
  end)

  it("a batch run stopped by on_progress says where it stood, and resumes with honest counts", function()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    local list = {}
    for i = 1, 7 do list[i] = ("shop.s%d"):format(i) end
    local opts = with(STOP, { objects = list, batch_size = 3, initialize = false, checkpoint = checkpoint,
      ClientToken = "stop-run", on_progress = function(p) return p.batch < 1 end })
    local r, err = c:add_objects_in_batches(opts)
    assert.is_nil(r)
    assert.are.equal("interrupted", err.kind)
    assert.is_nil(err.signal)
    -- Where it stood: batch 1 of 3 applied and confirmed, with its request.
    assert.are.same({ 1, 3, 3, 7 }, { err.batch, err.batches, err.done, err.total })
    assert.truthy(err.message:find("stopped by on_progress after batch 1 of 3 (3 of 7 objects confirmed); "
      .. "batch 2 was not sent", 1, true), err.message)
    local first = modifies(STOP)[1]
    assert.is_true(err.submitted)
    assert.are.equal("confirmed", err.outcome)
    assert.are.equal(first.request_id, err.request_id)
    assert.are.equal("stop-run-b1", err.client_token)
    assert.truthy(tostring(err):find("the change of batch 1 was submitted with ClientToken stop-run-b1 and "
      .. "confirmed", 1, true), tostring(err))
    local f = assert(io.open(checkpoint))
    local cp = json.decode(f:read("*a"))
    f:close()
    assert.are.equal("stop-run", cp.client_token)
    assert.are.equal(3, cp.done)
    -- Resumed: the checkpoint holds the token; this run adds the rest.
    opts.on_progress, opts.ClientToken = nil, nil
    r, err = c:add_objects_in_batches(opts)
    os.remove(checkpoint)
    assert(r, err and tostring(err))
    assert.are.equal(3, r.batches)
    assert.are.equal(2, r.run_batches)
    assert.are.equal(2, r.resumed_at)
    assert.are.equal(4, #r.added)
    local tokens = {}
    for _, e in ipairs(modifies(STOP)) do tokens[#tokens + 1] = e.client_token end
    assert.are.same({ "stop-run-b1", "stop-run-b2", "stop-run-b3" }, tokens)
    assert.are.equal(9, #(objects_of(STOP)))
  end)
end)
