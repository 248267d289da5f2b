-- The shipped examples run as users run them, against the emulator.
local emulator = require "dts.emulator"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))
local CPATH = "build/" .. (jit and "luajit" or _VERSION:match("%d+%.%d+")) .. "/?.so;;"

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

describe("examples", function()
  local em

  setup(function() em = assert(emulator.start{ modifying_seconds = 0.2 }) end)
  teardown(function() if em then em.stop() end end)

  -- The examples read the library's own variables (ALIBABA_CLOUD_ENDPOINT,
  -- DTS_CA_FILE), as `eval "$(dts emulator --print-env)"` sets them.
  local function run(script, args, extra)
    local env = {
      LUA_PATH = "lua/?.lua;lua/?/init.lua;;", LUA_CPATH = CPATH,
      ALIBABA_CLOUD_ACCESS_KEY_ID = em.access_key_id,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET = em.access_key_secret,
      ALIBABA_CLOUD_REGION_ID = "cn-hangzhou",
      ALIBABA_CLOUD_ENDPOINT = em.endpoint, DTS_CA_FILE = em.ca_file,
      DTS_JOB_ID = "dtsdemojob00001", DTS_INSTANCE_ID = "dtsdemoinstance01",
      DTS_POLL_SECONDS = "0.05", DTS_BATCH_SIZE = "3",
    }
    for k, v in pairs(extra or {}) do env[k] = v end
    local cmd = { "unset LD_PRELOAD LUA_PATH_5_2 LUA_PATH_5_3 LUA_PATH_5_4",
                  "LUA_CPATH_5_2 LUA_CPATH_5_3 LUA_CPATH_5_4 DTS_INITIALIZE ALIBABA_CLOUD_SECURITY_TOKEN;" }
    for k, v in pairs(env) do cmd[#cmd + 1] = k .. "=" .. quote(v) end
    cmd[#cmd + 1] = LUA .. " " .. script .. " " .. args .. " 2>&1; echo \"exit=$?\""
    local p = io.popen(table.concat(cmd, " "))
    local out = p:read("*a")
    p:close()
    assert.falsy(out:find(em.access_key_secret, 1, true))
    return out, tonumber(out:match("exit=(%d+)%s*$"))
  end

  it("modify_dts_job.lua adds two tables and shows them", function()
    local out, code = run("examples/modify_dts_job.lua", "orders invoices")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("ModifyDtsJob accepted the change", 1, true))
    assert.truthy(out:find("  - customer\n  - invoices\n  - orders", 1, true), out)
  end)

  -- The initialization flags each applied ModifyDtsJob carried.
  local function init_flags()
    local seen = {}
    for _, r in ipairs(em.requests()) do
      if r.action == "ModifyDtsJob" and r.applied then
        seen[#seen + 1] = tostring(r.parameters.StructureInitialization) .. "/"
          .. tostring(r.parameters.DataInitialization)
      end
    end
    return table.concat(seen, " ")
  end

  it("add_objects.lua adds tables the safe way and shows the plan", function()
    em.clear_log()
    local out, code = run("examples/add_objects.lua", "dtstestdata.ao_1 dtstestdata.ao_2")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("add:    dtstestdata.ao_1, dtstestdata.ao_2", 1, true), out)
    assert.truthy(out:find("Applied and confirmed", 1, true), out)
    -- Left to the job: neither initialization flag is sent.
    assert.are.equal("nil/nil", init_flags())
    out, code = run("examples/add_objects.lua", "dtstestdata.ao_1")
    assert.are.equal(0, code, out)
    assert.truthy(out:find("Nothing to do", 1, true), out)
  end)

  it("runbook_add_tables.lua leaves initialization to the job unless DTS_INITIALIZE says", function()
    local list = os.tmpname()
    local f = io.open(list, "w")
    f:write("dtstestdata.init_a\n")
    f:close()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    em.clear_log()
    local out, code = run("examples/runbook_add_tables.lua", list .. " " .. checkpoint)
    assert.are.equal(0, code, out)
    assert.truthy(out:find("initialization: the job's own setting", 1, true), out)
    assert.are.equal("nil/nil", init_flags())
    f = io.open(list, "w")
    f:write("dtstestdata.init_b\n")
    f:close()
    em.clear_log()
    out, code = run("examples/runbook_add_tables.lua", list .. " " .. checkpoint, { DTS_INITIALIZE = "true" })
    assert.are.equal(0, code, out)
    assert.are.equal("true/true", init_flags())
    out, code = run("examples/runbook_add_tables.lua", list .. " " .. checkpoint, { DTS_INITIALIZE = "yes" })
    assert.are.equal(2, code, out)
    os.remove(list)
  end)

  it("runbook_add_tables.lua adds a list in batches and resumes from its checkpoint", function()
    local list = os.tmpname()
    local f = io.open(list, "w")
    for i = 1, 7 do f:write(("dtstestdata.rb_%d\n"):format(i)) end
    f:close()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    -- The second ModifyDtsJob gets a broken answer (not retryable): the run stops.
    em.set_faults{ { kind = "garbage", every = 2, action = "ModifyDtsJob", times = 1 } }
    local out, code = run("examples/runbook_add_tables.lua", list .. " " .. checkpoint)
    assert.are.equal(1, code, out)
    assert.truthy(out:find("batch 1/3 confirmed: 3/7", 1, true), out)
    assert.truthy(out:find("Run again to resume", 1, true))
    em.set_faults({})
    out, code = run("examples/runbook_add_tables.lua", list .. " " .. checkpoint)
    os.remove(list)
    assert.are.equal(0, code, out)
    assert.falsy(out:find("batch 1/3", 1, true))
    assert.truthy(out:find("Done: 7 tables in 3 batches", 1, true), out)
  end)

  it("make demo runs examples/add_objects.lua against its own emulator", function()
    local p = io.popen("unset LD_PRELOAD; LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH=" .. quote(CPATH)
      .. " " .. LUA .. " examples/demo.lua 2>&1; echo \"exit=$?\"")
    local out = p:read("*a")
    p:close()
    assert.truthy(out:find("exit=0", 1, true), out)
    assert.truthy(out:find("$ lua examples/add_objects.lua", 1, true), out)
    assert.truthy(out:find("Applied and confirmed", 1, true), out)
    assert.truthy(out:find("applied 1 change", 1, true), out)
    assert.falsy(out:find(em.access_key_secret, 1, true))
  end)
end)
