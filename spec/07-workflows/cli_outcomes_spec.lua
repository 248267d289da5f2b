-- dts add-objects and its outcomes (issue 10): a dry run with batches sends
-- no change; flags that cannot work together are refused before anything
-- is sent; a --wait that runs out after the change was submitted (exit 5,
-- request id, ClientToken, the command that confirms) reads differently
-- from one that runs out before (exit 4, nothing sent); --json carries the
-- same; --widen.
local emulator = require "dts.emulator"
local json = require "dts.json"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

local OBJECTS = { shop = { name = "shop", all = false, Table = { orders = { name = "orders", all = true } } } }

local function job(id, over)
  local j = { DtsJobId = id, DtsInstanceId = "inst-" .. id, Status = "synchronizing", DbObject = OBJECTS,
    Reserved = { syncArchitecture = "oneway" } }
  for k, v in pairs(over or {}) do j[k] = v end
  return j
end

describe("dts add-objects outcomes", function()
  local em, env

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.1, state = { jobs = {
      job("dry"), job("flags"), job("slow", { modifying_seconds = 4 }), job("busy", { modifying_seconds = 4 }),
      job("widen"), job("lost"),
    } } })
    env = ("ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
      .. "ALIBABA_CLOUD_REGION_ID=cn-hangzhou"):format(quote(em.access_key_id), quote(em.access_key_secret))
  end)

  teardown(function()
    if em then em.stop() end
  end)

  local function slurp(path)
    local f = io.open(path)
    local s = f:read("*a")
    f:close()
    os.remove(path)
    return s
  end

  local function dts(args)
    local out, errf = os.tmpname(), os.tmpname()
    local cmd = ("unset LD_PRELOAD; %s %s bin/dts %s --endpoint %s --ca-file %s >%s 2>%s; echo $?"):format(
      env, LUA, args, em.endpoint, quote(em.ca_file), out, errf)
    local p = io.popen(cmd)
    local code = tonumber(p:read("*a"))
    p:close()
    local stdout, stderr = slurp(out), slurp(errf)
    assert.falsy((stdout .. stderr):find(em.access_key_secret, 1, true), "secret printed")
    return code, stdout, stderr
  end

  local function modifies(id)
    local out = {}
    for _, e in ipairs(em.requests()) do
      if e.action == "ModifyDtsJob" and e.parameters.DtsJobId == id then out[#out + 1] = e end
    end
    return out
  end

  local function add(id, rest)
    return dts(("add-objects --dts-job-id %s --dts-instance-id inst-%s --no-initialize --poll 0.05 %s"):format(
      id, id, rest))
  end

  it("--dry-run with --batch-size plans every batch and sends no change", function()
    local checkpoint = os.tmpname()
    os.remove(checkpoint)
    local code, out, err = add("dry", "--batch-size 2 --dry-run --client-token plan-token "
      .. "--checkpoint " .. checkpoint .. " shop.a shop.b shop.c")
    assert.are.equal(0, code, err)
    assert.truthy(out:find("Plan for task dry: 3 objects in 2 batches (dry run: nothing sent).", 1, true), out)
    assert.truthy(out:find("batch 1/2 (ClientToken plan-token-b1):\n  add:    shop.a, shop.b", 1, true), out)
    assert.truthy(out:find("batch 2/2 (ClientToken plan-token-b2):\n  add:    shop.c", 1, true), out)
    assert.truthy(out:find("DbList: %d+ bytes"), out)
    assert.is_nil(io.open(checkpoint), "a dry run wrote the checkpoint")
    code, out = add("dry", "--batch-size 2 --dry-run --json shop.a shop.b shop.c")
    assert.are.equal(0, code)
    local doc = assert(json.decode(out))
    assert.is_true(doc.dry_run)
    assert.are.equal(2, #doc.plan)
    assert.are.equal(0, #modifies("dry"))
  end)

  it("refuses --checkpoint without --batch-size, and --file together with arguments; nothing sent", function()
    em.clear_log()
    local code, _, err = add("flags", "--checkpoint /tmp/never.json shop.a")
    assert.are.equal(2, code)
    assert.truthy(err:find("--checkpoint records batches: give --batch-size too", 1, true), err)
    local file = os.tmpname()
    local f = io.open(file, "w")
    f:write("shop.b\n")
    f:close()
    code, _, err = add("flags", "--file " .. file .. " shop.a")
    os.remove(file)
    assert.are.equal(2, code)
    assert.truthy(err:find("objects given both as arguments and with --file", 1, true), err)
    code, _, err = dts("add-objects --dts-job-id flags --dts-instance-id inst-other --poll 0.05 shop.a")
    assert.are.equal(2, code)
    assert.truthy(err:find("belongs to instance inst-flags, not inst-other; nothing was sent", 1, true), err)
    assert.are.equal(1, #em.requests()) -- the one read of the job
    assert.are.equal(0, #modifies("flags"))
  end)

  it("--wait that runs out after submitting: exit 5 with request id, ClientToken and the command", function()
    local code, _, err = add("slow", "--wait 1 shop.a")
    assert.are.equal(5, code, err)
    local sent = modifies("slow")[1]
    assert.truthy(err:find("unconfirmed NotConfirmed (request " .. sent.request_id .. ")", 1, true), err)
    assert.truthy(err:find("submitted with ClientToken " .. sent.client_token .. " and accepted", 1, true), err)
    assert.truthy(err:find("; to confirm, run: bin/dts add%-objects .* %-%-client%-token " .. sent.client_token),
      err)
    local out
    code, out = add("slow", "--wait 1 --json shop.b")
    assert.are.equal(4, code)
    local doc = assert(json.decode(out)).error
    assert.are.equal("timeout", doc.kind)
    assert.is_nil(doc.submitted)
    assert.truthy(doc.message:find("nothing was sent", 1, true))
    assert.are.equal(1, #modifies("slow"))
  end)

  it("--json carries submitted, client_token, outcome and the command", function()
    local code, out = add("busy", "--wait 1 --json --client-token busy-token shop.a")
    assert.are.equal(5, code)
    local doc = assert(json.decode(out)).error
    assert.are.equal("unconfirmed", doc.kind)
    assert.is_true(doc.submitted)
    assert.are.equal("busy-token", doc.client_token)
    assert.are.equal("accepted", doc.outcome)
    assert.are.equal(modifies("busy")[1].request_id, doc.request_id)
    assert.truthy(doc.resume:find("--client-token busy-token", 1, true), doc.resume)
  end)

  it("every answer lost after apply: exit 4, submitted, outcome unknown; the printed command applies nothing twice",
    function()
    -- Every attempt (and libcurl's own resends) of ModifyDtsJob loses its answer.
    assert(em.set_faults{ { kind = "drop", after_apply = true, action = "ModifyDtsJob" } })
    local code, _, err = add("lost", "shop.a")
    assert(em.set_faults({}))
    assert.are.equal(4, code, err)
    local token = modifies("lost")[1].client_token
    assert.truthy(err:find("submitted with ClientToken " .. token .. " and no answer came back: it may have "
      .. "been applied", 1, true), err)
    local again = assert(err:match("; to finish safely, run: ([^\n]*)\n$"), err)
    assert.truthy(again:find("--client-token " .. token, 1, true), again)
    assert.truthy(again:find("^bin/dts add%-objects "), again)
    local out
    code, out, err = dts(again:gsub("^bin/dts ", ""):gsub(" %-%-endpoint %S+ %-%-ca%-file %S+", ""))
    assert.are.equal(0, code, err)
    assert.truthy(out:find("Nothing to do", 1, true), out)
    local applied = 0
    for _, e in ipairs(modifies("lost")) do
      assert.are.equal(token, e.client_token)
      if e.applied then applied = applied + 1 end
    end
    assert.are.equal(1, applied)
  end)

  it("--widen makes a partly synchronized database whole; without it, exit 2 and nothing sent", function()
    local code, _, err = add("widen", "shop")
    assert.are.equal(2, code)
    assert.truthy(err:find("would replace the tables listed for it: pass --widen to do that", 1, true), err)
    assert.are.equal(0, #modifies("widen"))
    local out
    code, out, err = add("widen", "--widen shop")
    assert.are.equal(0, code, err)
    assert.truthy(out:find("widen:  shop (the whole database, instead of shop.orders)", 1, true), out)
    assert.are.equal(1, #modifies("widen"))
  end)
end)
