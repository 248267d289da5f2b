-- The dts command against the emulator: exit codes that tell bad input,
-- API errors and network failures apart, JSON output, dry-run, plain words,
-- and no secret in any output.
local emulator = require "dts.emulator"
local json = require "dts.json"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

describe("dts command", function()
  local em, env

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.2 })
    env = ("ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
      .. "ALIBABA_CLOUD_REGION_ID=cn-hangzhou"):format(quote(em.access_key_id), quote(em.access_key_secret))
  end)

  teardown(function()
    if em then em.stop() end
  end)

  -- Runs `dts <args>` against the emulator; its exit code, stdout, stderr.
  local function dts(args, endpoint)
    local out, errf = os.tmpname(), os.tmpname()
    local cmd = ("unset LD_PRELOAD; %s %s bin/dts %s --endpoint %s --ca-file %s >%s 2>%s; echo $?"):format(
      env, LUA, args, endpoint or em.endpoint, quote(em.ca_file), out, errf)
    local p = io.popen(cmd)
    local code = tonumber(p:read("*a"))
    p:close()
    local function slurp(path)
      local f = io.open(path)
      local s = f:read("*a")
      f:close()
      os.remove(path)
      return s
    end
    local stdout, stderr = slurp(out), slurp(errf)
    assert.falsy((stdout .. stderr):find(em.access_key_secret, 1, true), "secret printed")
    return code, stdout, stderr
  end

  it("describes a task in plain words and as JSON", function()
    local code, out = dts("describe --dts-job-id dtsdemojob00001")
    assert.are.equal(0, code)
    assert.truthy(out:find("Task dtsdemojob00001 (instance dtsdemoinstance01) is synchronizing.", 1, true))
    assert.truthy(out:find("dtstestdata.customer", 1, true))
    code, out = dts("describe --dts-job-id dtsdemojob00001 --json")
    assert.are.equal(0, code)
    local job = assert(json.decode(out))
    assert.are.equal("synchronizing", job.status)
  end)

  it("adds objects, showing the plan, then does nothing the second time", function()
    local code, out, err = dts("add-objects --dts-job-id dtsdemojob00001 --dts-instance-id dtsdemoinstance01 "
      .. "--no-initialize --poll 0.05 dtstestdata.orders dtstestdata.items")
    assert.are.equal(0, code, err)
    assert.truthy(out:find("add:    dtstestdata.items, dtstestdata.orders", 1, true))
    assert.truthy(out:find("remove: nothing", 1, true))
    assert.truthy(out:find("Applied and confirmed", 1, true))
    code, out = dts("add-objects --dts-job-id dtsdemojob00001 --dts-instance-id dtsdemoinstance01 "
      .. "--no-initialize --poll 0.05 dtstestdata.orders")
    assert.are.equal(0, code)
    assert.truthy(out:find("Nothing to do", 1, true))
  end)

  it("adds objects from a file in batches with progress lines on stderr", function()
    local file = os.tmpname()
    local f = io.open(file, "w")
    for i = 1, 5 do f:write(("dtstestdata.batch_%d\n"):format(i)) end
    f:close()
    local code, out, err = dts("add-objects --dts-job-id dtsdemojob00001 --dts-instance-id dtsdemoinstance01 "
      .. "--no-initialize --poll 0.05 --batch-size 2 --file " .. file)
    os.remove(file)
    assert.are.equal(0, code, err)
    assert.truthy(err:find("batch 1/3: 2/5 objects", 1, true), err)
    assert.truthy(err:find("batch 3/3: 5/5 objects", 1, true), err)
    assert.falsy(out:find("batch 1/3: ", 1, true), out)
    assert.truthy(out:find("Added 5 objects in 3 batches; every one confirmed.", 1, true), out)
  end)

  it("draws a progress bar on a terminal", function()
    -- script(1) gives the command a pseudo-terminal, as a user's shell would.
    local out = os.tmpname()
    local cmd = ("%s %s bin/dts add-objects --dts-job-id dtsdemojob00001 --dts-instance-id dtsdemoinstance01 "
      .. "--no-initialize --poll 0.05 --batch-size 1 dtstestdata.tty_1 dtstestdata.tty_2 --endpoint %s "
      .. "--ca-file %s"):format(env, LUA, em.endpoint, quote(em.ca_file))
    local p = io.popen(("unset LD_PRELOAD; script -qec %s %s >/dev/null 2>&1; echo $?"):format(quote(cmd), out))
    local code = tonumber(p:read("*a"))
    p:close()
    local f = io.open(out)
    local text = f:read("*a")
    f:close()
    os.remove(out)
    assert.are.equal(0, code, text)
    assert.truthy(text:find("\r[###############...............] 1/2 objects, batch 1/2", 1, true), text)
    assert.truthy(text:find("] 2/2 objects, batch 2/2", 1, true), text)
    assert.falsy(text:find("batch 1/2: ", 1, true))
  end)

  it("shows a dry run with the signature redacted and sends nothing", function()
    em.clear_log()
    local code, out = dts("modify --dts-instance-id dtsdemoinstance01 --db-list "
      .. quote('{"dtstestdata":{"name":"dtstestdata","all":true}}') .. " --data-initialization true --dry-run")
    assert.are.equal(0, code)
    assert.truthy(out:find("Would send (secrets redacted):", 1, true))
    assert.truthy(out:find("Signature=<redacted>", 1, true))
    assert.are.equal(0, #em.requests())
  end)

  it("exits 2 on bad input, 3 on an API error, 4 on a network failure", function()
    local code, _, err = dts("modify --db-list '{}'")
    assert.are.equal(2, code)
    assert.truthy(err:find("missing option '--dts-instance-id'", 1, true), err)
    code, _, err = dts("modify --dts-instance-id x --data-initialization maybe")
    assert.are.equal(2, code)
    assert.truthy(err:find("data-initialization", 1, true))
    code, _, err = dts("add-objects --dts-job-id j --dts-instance-id i --initialize --no-initialize dtstestdata.t")
    assert.are.equal(2, code)
    assert.truthy(err:find("contradict", 1, true))
    code, _, err = dts("describe --dts-job-id no-such-job")
    assert.are.equal(3, code)
    assert.truthy(err:find("Forbidden.InstanceNotFound", 1, true))
    code, _, err = dts("describe --dts-job-id dtsdemojob00001 --timeout 1", "127.0.0.1:9")
    assert.are.equal(4, code)
    assert.truthy(err:find("network", 1, true))
  end)

  it("prints an API error as JSON with --json", function()
    local code, out = dts("describe --dts-job-id no-such-job --json")
    assert.are.equal(3, code)
    local doc = assert(json.decode(out))
    assert.are.equal("Forbidden.InstanceNotFound", doc.error.code)
    assert.are.equal(404, doc.error.http_status)
  end)
end)
