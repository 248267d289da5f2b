-- SIGINT and SIGTERM to the dts command (issue 10): no traceback, exit
-- 130 / 143, one line saying what was already submitted and the exact
-- command that resumes; the resume, run as printed, finishes with nothing
-- lost and nothing applied twice (from the emulator's log).
local emulator = require "dts.emulator"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

local function slurp(path)
  local f = io.open(path)
  local s = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(path)
  return s
end

local OBJECTS = { shop = { name = "shop", all = false, Table = { orders = { name = "orders", all = true } } } }

describe("signals", function()
  local em, env

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.1, state = { jobs = {
      { DtsJobId = "sigint", DtsInstanceId = "inst-sigint", Status = "synchronizing", DbObject = OBJECTS,
        Reserved = { syncArchitecture = "oneway" }, modifying_seconds = 1 },
      { DtsJobId = "sigterm", DtsInstanceId = "inst-sigterm", Status = "synchronizing", DbObject = OBJECTS,
        Reserved = { syncArchitecture = "oneway" } },
      { DtsJobId = "sigkill", DtsInstanceId = "inst-sigkill", Status = "synchronizing", DbObject = OBJECTS,
        Reserved = { syncArchitecture = "oneway" }, modifying_seconds = 1 },
    } } })
    env = ("export ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
      .. "ALIBABA_CLOUD_REGION_ID=cn-hangzhou;"):format(quote(em.access_key_id), quote(em.access_key_secret))
  end)

  teardown(function()
    if em then em.stop() end
  end)

  before_each(function()
    assert(em.set_faults({}))
  end)

  local function tail(args)
    return args .. " --endpoint " .. em.endpoint .. " --ca-file " .. quote(em.ca_file)
  end

  -- Starts `dts <args>` in the background (its own process group, as a
  -- shell with job control runs it, so SIGINT is not ignored); the handle
  -- has pid, and finish() -> exit code, stdout, stderr.
  local function start(args)
    local out, errf = os.tmpname(), os.tmpname()
    local script = ("unset LD_PRELOAD; set -m; %s %s bin/dts %s >%s 2>%s & echo $!; wait $!; echo $?")
      :format(env, LUA, tail(args), out, errf)
    -- bash's own job notices go nowhere.
    local pipe = io.popen("bash -c " .. quote(script) .. " 2>/dev/null")
    local pid = assert(tonumber(pipe:read("*l")))
    return { pid = pid, finish = function()
      local code = tonumber(pipe:read("*a"))
      pipe:close()
      local stdout, stderr = slurp(out), slurp(errf)
      assert.falsy((stdout .. stderr):find(em.access_key_secret, 1, true), "secret printed")
      return code, stdout, stderr
    end }
  end

  -- Runs a command line as printed by dts ("bin/dts ...") to its end.
  local function run_printed(line)
    assert.truthy(line:find("^bin/dts "), line)
    local out, errf = os.tmpname(), os.tmpname()
    local p = io.popen(("unset LD_PRELOAD; %s %s %s >%s 2>%s; echo $?"):format(env, LUA, line, out, errf))
    local status = p:read("*a")
    p:close()
    return tonumber(status), slurp(out), slurp(errf)
  end

  local function modifies(id)
    local out = {}
    for _, e in ipairs(em.requests()) do
      if e.action == "ModifyDtsJob" and e.parameters.DtsJobId == id then out[#out + 1] = e end
    end
    return out
  end

  local function until_(what, ok)
    for _ = 1, 200 do
      if ok() then return end
      os.execute("sleep 0.05")
    end
    error("timed out waiting for " .. what)
  end

  -- Each batch's token applied exactly once, and every object there.
  local function check_once(id, batches, names)
    local applied = {}
    for _, e in ipairs(modifies(id)) do
      if e.applied then
        assert.is_nil(applied[e.client_token], "applied twice: " .. tostring(e.client_token))
        applied[e.client_token] = true
      end
    end
    local n = 0
    for _ in pairs(applied) do n = n + 1 end
    assert.are.equal(batches, n)
    local job
    for _, j in ipairs(em.state()) do
      if j.DtsJobId == id then job = j end
    end
    for _, name in ipairs(names) do
      local db, t = name:match("^(.-)%.(.*)$")
      assert.truthy(job.DbObject[db] and job.DbObject[db].Table[t], name .. " lost")
    end
  end

  it("SIGINT mid-batch: exit 130, what was submitted, the resume line; the resume finishes", function()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    local list = "shop.a shop.b shop.c shop.d shop.e shop.f"
    local h = start("add-objects --dts-job-id sigint --dts-instance-id inst-sigint --no-initialize "
      .. "--poll 0.05 --batch-size 2 --checkpoint " .. checkpoint .. " " .. list)
    -- Batch 1 went out; the job is Modifying for a second: the command waits.
    until_("batch 1", function() return #modifies("sigint") >= 1 end)
    os.execute("kill -INT " .. h.pid)
    local code, _, err = h.finish()
    assert.are.equal(130, code, err)
    assert.falsy(err:find("traceback", 1, true), err)
    local lines = {}
    for line in err:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(1, #lines, err)
    local sent = modifies("sigint")[1]
    assert.truthy(err:find("interrupted by SIGINT", 1, true), err)
    assert.truthy(err:find("batch 1 of 3", 1, true), err)
    assert.truthy(err:find("request " .. sent.request_id, 1, true), err)
    assert.truthy(err:find("submitted with ClientToken " .. sent.client_token, 1, true), err)
    local resume = assert(err:match("; resume with: ([^\n]*)\n$"), err)
    assert.truthy(resume:find("--checkpoint " .. checkpoint, 1, true), resume)
    assert.truthy(resume:find("--client-token " .. sent.client_token:gsub("%-b1$", ""), 1, true), resume)
    local out
    code, out, err = run_printed(resume)
    os.remove(checkpoint)
    assert.are.equal(0, code, err)
    -- Batch 1 was not confirmed when it stopped: it is checked again (found
    -- there, not sent again), and the counts say so.
    assert.truthy(out:find("Added 4 objects in 3 batches; every one confirmed.\n2 of them were already there.",
      1, true), out)
    check_once("sigint", 3, { "shop.a", "shop.b", "shop.c", "shop.d", "shop.e", "shop.f", "shop.orders" })
  end)

  it("SIGKILL mid-batch (nothing printed): the same command again resumes from the checkpoint", function()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    local args = "add-objects --dts-job-id sigkill --dts-instance-id inst-sigkill --no-initialize "
      .. "--poll 0.05 --batch-size 2 --checkpoint " .. checkpoint .. " shop.k1 shop.k2 shop.k3 shop.k4 shop.k5"
    local h = start(args)
    until_("batch 1", function() return #modifies("sigkill") >= 1 end)
    os.execute("kill -KILL " .. h.pid)
    assert.are.equal(137, (h.finish()))
    local code, out, err = run_printed("bin/dts " .. tail(args))
    os.remove(checkpoint)
    assert.are.equal(0, code, err)
    assert.truthy(out:find("every one confirmed", 1, true), out)
    -- Batch 1 went out again under its own ClientToken (from the
    -- checkpoint): found there, or replayed, never applied twice.
    check_once("sigkill", 3, { "shop.k1", "shop.k2", "shop.k3", "shop.k4", "shop.k5", "shop.orders" })
  end)

  it("SIGTERM while a ModifyDtsJob is in flight: exit 143, outcome unknown; the resume applies it once",
    function()
    em.set_faults{ { kind = "delay", seconds = 2, action = "ModifyDtsJob", times = 1 } }
    local h = start("add-objects --dts-job-id sigterm --dts-instance-id inst-sigterm --no-initialize "
      .. "--poll 0.05 --batch-size 2 shop.x shop.y shop.z")
    until_("the job read", function()
      for _, e in ipairs(em.requests()) do
        if e.action == "DescribeDtsJobDetail" and e.parameters.DtsJobId == "sigterm" then return true end
      end
    end)
    os.execute("sleep 0.8")
    os.execute("kill -TERM " .. h.pid)
    local code, _, err = h.finish()
    assert.are.equal(143, code, err)
    assert.falsy(err:find("traceback", 1, true), err)
    assert.truthy(err:find("batch 1 of 2", 1, true), err)
    assert.truthy(err:find("interrupted by SIGTERM during the request, after it went out", 1, true), err)
    assert.truthy(err:find("may have been applied", 1, true), err)
    local token = assert(err:match("submitted with ClientToken (%S+)%-b1 "), err)
    local resume = assert(err:match("; resume with: ([^\n]*)\n$"), err)
    assert.truthy(resume:find("--client-token " .. token, 1, true), resume)
    em.set_faults({})
    local out
    code, out, err = run_printed(resume)
    assert.are.equal(0, code, err)
    assert.truthy(out:find("every one confirmed", 1, true), out)
    -- The delayed first copy ends too: answered as a replay, not applied.
    until_("the delayed request", function()
      local n = 0
      for _, e in ipairs(modifies("sigterm")) do
        if e.client_token == token .. "-b1" then n = n + 1 end
      end
      return n >= 2
    end)
    check_once("sigterm", 2, { "shop.x", "shop.y", "shop.z", "shop.orders" })
  end)

  it("SIGINT during describe: exit 130 at once, and the command to run again", function()
    em.set_faults{ { kind = "delay", seconds = 3, action = "DescribeDtsJobDetail", times = 1 } }
    em.clear_log()
    local h = start("describe --dts-job-id sigint")
    os.execute("sleep 0.5")
    os.execute("kill -INT " .. h.pid)
    local code, out, err = h.finish()
    assert.are.equal(130, code, err)
    assert.are.equal("", out)
    assert.falsy(err:find("traceback", 1, true), err)
    assert.truthy(err:find("interrupted by SIGINT", 1, true), err)
    assert.truthy(err:find("; run again: bin/dts describe --dts-job-id sigint --endpoint", 1, true), err)
  end)
end)
