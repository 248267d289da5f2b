-- The dts command's conventions (issue 13, "CLI conventions"), against the
-- emulator: stdout holds the result alone and stderr the progress, waiting
-- and errors; --json writes empty lists as [] and errors as a document of
-- their own shape (recommend, retryable = worth running again); usage
-- errors show the subcommand's usage and exit 2; an error line has one
-- prefix and names flags, not Lua names; --region and --region-id are one
-- flag; --wait is the one spelling of waiting; describe needs a job id;
-- counts read as English; every subcommand's --help is complete.
local emulator = require "dts.emulator"
local json = require "dts.json"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

local ONE = { shop = { name = "shop", all = false, Table = { orders = { name = "orders", all = true } } } }

local function job(id, over)
  local j = { DtsJobId = id, DtsInstanceId = "inst-" .. id, Status = "synchronizing", DbObject = ONE,
    Reserved = { syncArchitecture = "oneway" } }
  for k, v in pairs(over or {}) do j[k] = v end
  return j
end

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  os.remove(path)
  return s
end

describe("dts command conventions", function()
  local em, env

  setup(function()
    em = assert(emulator.start{ modifying_seconds = 0.1, state = { jobs = {
      -- Long enough Modifying that the first poll after the change sees it.
      job("plain", { modifying_seconds = 1 }), job("quiet"), job("lists"),
      job("tty", { modifying_seconds = 1 }), job("busy", { modifying_seconds = 2 }),
      job("late", { modifying_seconds = 4 }), job("one"), job("single"), job("count"),
    } } })
    env = ("ALIBABA_CLOUD_ACCESS_KEY_ID=%s ALIBABA_CLOUD_ACCESS_KEY_SECRET=%s "
      .. "ALIBABA_CLOUD_REGION_ID=cn-hangzhou"):format(quote(em.access_key_id), quote(em.access_key_secret))
  end)

  teardown(function()
    if em then em.stop() end
  end)

  -- `dts <args>` against the emulator: exit code, stdout, stderr.  extra:
  -- environment assignments put after the defaults (so they win).
  local function dts(args, extra)
    local out, errf = os.tmpname(), os.tmpname()
    local cmd = ("unset LD_PRELOAD; %s %s %s bin/dts %s --endpoint %s --ca-file %s >%s 2>%s; echo $?"):format(
      env, extra or "", LUA, args, em.endpoint, quote(em.ca_file), out, errf)
    local p = io.popen(cmd)
    local code = tonumber(p:read("*a"))
    p:close()
    local stdout, stderr = slurp(out), slurp(errf)
    assert.falsy((stdout .. stderr):find(em.access_key_secret, 1, true), "secret printed")
    return code, stdout, stderr
  end

  local function add(id, rest)
    return dts(("add-objects --dts-job-id %s --dts-instance-id inst-%s --no-initialize --poll 0.05 %s")
      :format(id, id, rest))
  end

  local function modifies(id)
    local n = 0
    for _, e in ipairs(em.requests()) do
      if e.action == "ModifyDtsJob" and e.parameters.DtsJobId == id then n = n + 1 end
    end
    return n
  end

  describe("stdout and stderr", function()
    it("add-objects: the plan and outcome on stdout, the waiting on stderr", function()
      local code, out, err = add("plain", "shop.items")
      assert.are.equal(0, code, err)
      assert.truthy(out:find("^Plan for task plain:\nadd:    shop.items\n"), out)
      assert.truthy(out:find("Applied and confirmed (request ", 1, true), out)
      assert.falsy(out:find("waiting", 1, true), out)
      -- Not a terminal: a plain line when the status changes.
      assert.truthy(err:find("waiting for job plain: Modifying (0 s)\n", 1, true), err)
      assert.truthy(err:find("waiting for job plain: synchronizing (", 1, true), err)
      assert.falsy(err:find("\r", 1, true), err)
    end)

    it("--json: stdout is exactly one JSON document, the waiting still on stderr", function()
      local code, out, err = add("plain", "--json shop.more")
      assert.are.equal(0, code, err)
      local doc = assert(json.decode(out))
      assert.is_true(doc.applied)
      assert.are.same({ "shop.more" }, doc.plan.added)
      assert.is_nil(doc.error)
      assert.truthy(err:find("waiting for job plain: ", 1, true), err)
    end)

    it("--quiet: nothing on stderr, nothing in plain words on stdout", function()
      local code, out, err = add("quiet", "--quiet shop.items")
      assert.are.equal(0, code, err)
      assert.are.equal("", out)
      assert.are.equal("", err)
      assert.are.equal(1, modifies("quiet"))
    end)

    it("batch progress goes to stderr, the summary to stdout", function()
      local code, out, err = add("one", "--batch-size 1 shop.b1")
      assert.are.equal(0, code, err)
      assert.are.equal("Added 1 object in 1 batch; every one confirmed.\n", out)
      assert.truthy(err:find("batch 1/1: 1/1 object (1 added)", 1, true), err)
    end)

    it("shows the wait on a terminal as one line that updates, erased before the result", function()
      -- script(1) gives the command a pseudo-terminal, as a user's shell would.
      local typescript = os.tmpname()
      local cmd = ("%s %s bin/dts add-objects --dts-job-id tty --dts-instance-id inst-tty --no-initialize "
        .. "--poll 0.05 shop.items --endpoint %s --ca-file %s"):format(env, LUA, em.endpoint, quote(em.ca_file))
      local p = io.popen(("unset LD_PRELOAD; script -qec %s %s >/dev/null 2>&1; echo $?"):format(
        quote(cmd), typescript))
      local code = tonumber(p:read("*a"))
      p:close()
      local text = slurp(typescript)
      assert.are.equal(0, code, text)
      local CLEAR = "\r\27[K"
      local first = text:find(CLEAR .. "waiting for job tty: Modifying (0 s)", 1, true)
      assert.truthy(first, text)
      -- The line is redrawn in place (no newline between updates) ...
      local _, redraws = text:gsub("\r\27%[Kwaiting for job tty: ", "")
      assert.is_true(redraws > 2, text)
      assert.truthy(text:find("waiting for job tty: synchronizing (", 1, true), text)
      local last = text:match(".*()waiting for job tty: ")
      assert.falsy(text:sub(first, last):find("\n", 1, true), text)
      -- ... and erased before the result is printed.
      assert.truthy(text:find(CLEAR .. "Plan for task tty:", 1, true), text)
    end)
  end)

  describe("--json", function()
    -- Every "name":{} in the text whose name is a list.
    local function empty_objects(text)
      local found = {}
      for name in text:gmatch('"([%w_]+)":{}') do
        if ({ added = 1, removed = 1, changed = 1, present = 1, covered = 1, widened = 1, narrowed = 1,
              objects = 1, plan = 1, sources = 1, SubSyncJob = 1 })[name] then
          found[#found + 1] = name
        end
      end
      return found
    end

    it("writes empty lists as []", function()
      -- Nothing to do: every list of the plan but present is empty.
      local code, out = add("lists", "--json shop.orders")
      assert.are.equal(0, code, out)
      assert.are.same({}, empty_objects(out), out)
      for _, name in ipairs({ "added", "removed", "changed", "covered", "widened", "narrowed" }) do
        assert.truthy(out:find('"' .. name .. '":[]', 1, true), name .. ": " .. out)
      end
      assert.truthy(out:find('"present":["shop.orders"]', 1, true), out)
      -- A batch plan (dry run): each batch's lists.
      code, out = add("lists", "--json --dry-run --batch-size 1 shop.orders shop.x")
      assert.are.equal(0, code, out)
      assert.are.same({}, empty_objects(out), out)
      local doc = assert(json.decode(out))
      assert.are.equal(2, #doc.plan)
      assert.truthy(out:find('"added":[]', 1, true), out)
      -- The service's own lists, decoded and written again.
      code, out = dts("describe --dts-job-id lists --json")
      assert.are.equal(0, code, out)
      assert.truthy(out:find('"SubSyncJob":[]', 1, true), out)
      assert.are.same({}, empty_objects(out), out)
    end)

    it("an error is a document of its own shape on stdout, with recommend and retryable", function()
      -- Refused by the service, for a reason that will not change.
      local code, out, err = dts("describe --dts-job-id no-such-job --json")
      assert.are.equal(3, code)
      local doc = assert(json.decode(out))
      assert.are.same({ "error" }, (function() local k = {} for n in pairs(doc) do k[#k + 1] = n end return k end)())
      assert.are.equal("api", doc.error.kind)
      assert.are.equal("Forbidden.InstanceNotFound", doc.error.code)
      assert.is_false(doc.error.retryable)
      assert.truthy(doc.error.recommend:find("^https://api%.aliyun%.com/troubleshoot%?q=Forbidden%.InstanceNotFound"),
        doc.error.recommend)
      assert.truthy(err:find("dts describe: api Forbidden.InstanceNotFound", 1, true), err)
      -- Bad input: not worth running again; the recommendation names the flag.
      code, out = dts("add-objects --dts-job-id plain --dts-instance-id inst-plain --json --poll=-1 shop.x")
      assert.are.equal(2, code)
      doc = assert(json.decode(out))
      assert.are.equal("invalid_argument", doc.error.kind)
      assert.are.equal("--poll", doc.error.param)
      assert.is_false(doc.error.retryable)
      assert.truthy(doc.error.recommend:find("correct --poll and run again", 1, true), doc.error.recommend)
      -- No answer at all: worth running again.
      local p = io.popen(("unset LD_PRELOAD; %s %s bin/dts describe --dts-job-id x --json --timeout 1 "
        .. "--endpoint 127.0.0.1:9 2>/dev/null; echo \"rc=$?\""):format(env, LUA))
      out = p:read("*a")
      p:close()
      assert.truthy(out:find("rc=4\n$"), out)
      doc = assert(json.decode(out:gsub("rc=4\n$", "")))
      assert.are.equal("network", doc.error.kind)
      assert.is_true(doc.error.retryable)
      assert.truthy(doc.error.recommend:find("run the same command again", 1, true), doc.error.recommend)
    end)

    it("retryable is true after throttling and a change not yet confirmed, false after a usage error",
      function()
      assert(em.set_faults{ { kind = "throttle" } })
      local code, out = dts("describe --dts-job-id plain --json --retries 1")
      assert(em.set_faults{})
      assert.are.equal(3, code, out)
      local doc = assert(json.decode(out))
      assert.are.equal("Throttling.User", doc.error.code)
      assert.is_true(doc.error.retryable)
      -- The wait runs out after the change went out: exit 5, run again to confirm.
      code, out = add("late", "--json --wait 1 shop.late")
      assert.are.equal(5, code, out)
      doc = assert(json.decode(out))
      assert.are.equal("unconfirmed", doc.error.kind)
      assert.is_true(doc.error.retryable)
      assert.truthy(doc.error.recommend:find("^to confirm, run: "), doc.error.recommend)
      assert.truthy(doc.error.recommend:find("--client-token " .. doc.error.client_token, 1, true))
      -- A usage error with --json is a document too.
      code, out = dts("describe --json --bogus")
      assert.are.equal(2, code)
      doc = assert(json.decode(out))
      assert.are.equal("invalid_argument", doc.error.kind)
      assert.is_false(doc.error.retryable)
      assert.truthy(doc.error.message:find("--bogus", 1, true), doc.error.message)
    end)
  end)

  describe("usage errors", function()
    it("show the subcommand's usage and exit 2, sending nothing", function()
      em.clear_log()
      for _, cmd in ipairs({ "describe", "modify", "add-objects", "credentials", "emulator" }) do
        local code, out, err = dts(cmd .. " --bogus")
        assert.are.equal(2, code, cmd .. ": " .. err)
        assert.are.equal("", out)
        assert.truthy(err:find("^Usage: dts " .. cmd:gsub("%-", "%%-") .. " "), err)
        assert.falsy(err:find("Usage: dts [-h] [--version]", 1, true), err)
        assert.truthy(err:find("\ndts " .. cmd .. ": unknown option '--bogus'", 1, true), err)
      end
      -- A value argparse refuses is a usage error of its subcommand too.
      local code, _, err = dts("modify --dts-instance-id i --data-initialization maybe")
      assert.are.equal(2, code)
      assert.truthy(err:find("^Usage: dts modify "), err)
      assert.are.equal(0, #em.requests())
    end)

    it("describe without a job id fails before anything is sent", function()
      em.clear_log()
      local code, out, err = dts("describe")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("^Usage: dts describe %[%-h%] %-%-dts%-job%-id <dts%-job%-id>"), err)
      assert.truthy(err:find("dts describe: missing option '--dts-job-id'", 1, true), err)
      assert.are.equal(0, #em.requests())
    end)
  end)

  describe("error lines", function()
    it("carry one prefix, not two", function()
      local code, _, err = dts("describe --dts-job-id no-such-job")
      assert.are.equal(3, code)
      assert.truthy(err:find("^dts describe: api Forbidden%.InstanceNotFound %(HTTP 404, request "), err)
      assert.falsy(err:find("dts: ", 1, true), err)
      code, _, err = dts("add-objects --dts-job-id plain --dts-instance-id inst-plain --poll=-1 shop.x")
      assert.are.equal(2, code)
      assert.truthy(err:find("^dts add%-objects: invalid_argument: %-%-poll: "), err)
    end)

    it("name the flags, not the library's option and parameter names", function()
      local code, _, err = dts("describe --dts-job-id x", "ALIBABA_CLOUD_REGION_ID=")
      assert.are.equal(2, code)
      assert.are.equal("dts describe: invalid_argument: --region: missing; give --region or set "
        .. "ALIBABA_CLOUD_REGION_ID\n", err)
      local cases = {
        { "modify --dts-instance-id i --db-list '{\"shop\":5}'", "--db-list: shop: " },
        { "modify --dts-instance-id i --region-id BAD", '--region: "BAD" is not a region id' },
        { "modify --dts-instance-id i --retries 0", "--retries: expected a whole number from 1 to 100, got 0" },
        { "modify --dts-instance-id i --wait=-1", "--wait: expected a number of seconds from 0, got -1" },
        { "modify --dts-instance-id i --client-token " .. ("t"):rep(65), "--client-token: 65 characters" },
        { "describe --dts-job-id x --timeout=-1", "--timeout: expected a number of seconds above 0" },
        { "add-objects --dts-job-id plain --dts-instance-id inst-plain --wait=-1 shop.x", "--wait: expected" },
        { "add-objects --dts-job-id plain --dts-instance-id inst-plain --batch-size 0 shop.x",
          "--batch-size: expected a whole number >= 1, got 0" },
        { "add-objects --dts-job-id plain --dts-instance-id other shop.x",
          "--dts-instance-id: job plain belongs to instance inst-plain, not other" },
        { "add-objects --dts-job-id one --dts-instance-id inst-one shop", "pass --widen to do that" },
      }
      for _, c in ipairs(cases) do
        code, _, err = dts(c[1])
        assert.are.equal(2, code, c[1] .. ": " .. err)
        assert.truthy(err:find(c[2], 1, true), c[1] .. ": " .. err)
        for _, lua_name in ipairs({ "region_id", "DbList", "RegionId", "retries.", "wait_modifying",
                                    "ClientToken:", "batch_size", "DtsInstanceId", "widen = true",
                                    "dts.new", "interval", " timeout" }) do
          assert.falsy(err:find(lua_name, 1, true), c[1] .. ": " .. err)
        end
      end
    end)
  end)

  it("no credentials: the message and the document say what the command takes", function()
    -- Only this environment (HOME an empty directory, no instance metadata).
    local mk = io.popen("mktemp -d")
    local home = mk:read("*l")
    mk:close()
    local out, errf = os.tmpname(), os.tmpname()
    local p = io.popen(("unset LD_PRELOAD; env -i PATH=/usr/bin:/bin HOME=%s "
      .. "ALIBABA_CLOUD_ECS_METADATA_DISABLED=true %s bin/dts describe --dts-job-id x --region cn-hangzhou "
      .. "--endpoint %s --json >%s 2>%s; echo $?")
      :format(quote(home), LUA, em.endpoint, out, errf))
    local code = tonumber(p:read("*a"))
    p:close()
    os.remove(home)
    local stdout, stderr = slurp(out), slurp(errf)
    assert.are.equal(2, code, stderr)
    assert.truthy(stderr:find("^dts describe: credentials NoCredentials: no credentials found"), stderr)
    assert.truthy(stderr:find("(give --profile, or configure one of these sources)", 1, true), stderr)
    assert.falsy(stderr:find("dts.new", 1, true), stderr)
    local doc = assert(json.decode(stdout))
    assert.is_false(doc.error.retryable)
    assert.truthy(doc.error.recommend:find("give --profile", 1, true), doc.error.recommend)
    assert.are.equal(6, #doc.error.sources)
  end)

  describe("one meaning per flag", function()
    it("--region-id is --region's other spelling: the RegionId sent, never a second value", function()
      em.clear_log()
      local code, _, err = dts("describe --dts-job-id single --region-id cn-shanghai")
      assert.are.equal(0, code, err)
      assert.are.equal("cn-shanghai", em.requests()[1].parameters.RegionId)
      em.clear_log()
      code, _, err = dts("describe --dts-job-id single --region cn-hangzhou --region-id cn-beijing")
      assert.are.equal(2, code)
      assert.truthy(err:find("^Usage: dts describe "), err)
      assert.truthy(err:find("given more than once", 1, true), err)
      code = dts("modify --dts-instance-id inst-single --region cn-hangzhou --region cn-beijing --dry-run")
      assert.are.equal(2, code)
      assert.are.equal(0, #em.requests())
    end)

    it("modify waits with --wait, as add-objects does; --wait-modifying is the same flag", function()
      local dblist = quote('{"shop":{"name":"shop","all":true}}')
      local base = "modify --dts-job-id busy --dts-instance-id inst-busy --db-list " .. dblist
      local code, _, err = dts(base)
      assert.are.equal(0, code, err)
      -- Modifying now: without waiting the service refuses, worth running again.
      local out
      code, out = dts(base .. " --json")
      assert.are.equal(3, code, out)
      local doc = assert(json.decode(out))
      assert.are.equal("OperationDenied.JobStatusModifying", doc.error.code)
      assert.is_true(doc.error.retryable)
      code, _, err = dts(base .. " --wait-modifying 10")
      assert.are.equal(0, code, err)
      code, _, err = dts(base .. " --wait 10 --wait-modifying 10")
      assert.are.equal(2, code)
      assert.truthy(err:find("given more than once", 1, true), err)
    end)
  end)

  it("counts read as English, and no line says nil", function()
    local code, out = dts("describe --dts-job-id count")
    assert.are.equal(0, code)
    assert.truthy(out:find("\n1 object:\n  shop.orders\n", 1, true), out)
    local err
    code, out, err = dts("modify --dts-instance-id inst-single --db-list "
      .. quote('{"shop":{"name":"shop","all":true}}'))
    assert.are.equal(0, code, err)
    assert.truthy(out:find("^ModifyDtsJob accepted[^\n]* %(request [%x%-]+, ClientToken %x+%)%.\n$"), out)
    assert.falsy(out:find("nil", 1, true), out)
  end)

  it("every subcommand's --help has a description, defaults, examples, output and exit codes", function()
    for _, cmd in ipairs({ "describe", "modify", "add-objects", "credentials", "emulator" }) do
      local code, out = dts(cmd .. " --help")
      assert.are.equal(0, code)
      assert.truthy(out:find("^Usage: dts " .. cmd:gsub("%-", "%%-")), out)
      for _, part in ipairs({ "Examples:\n  dts ", "Output: ", "stdout", "stderr", "Exit status: " }) do
        assert.truthy(out:find(part, 1, true), cmd .. " lacks " .. part)
      end
    end
    local _, out = dts("add-objects --help")
    for _, part in ipairs({ "(default: 5)", "(default: 600)", "(default: 30)", "(default: 4)",
                            "--wait <s>", "--poll <s>" }) do
      assert.truthy(out:find(part, 1, true), part)
    end
    _, out = dts("modify --help")
    assert.truthy(out:find("--wait <s>,", 1, true), out)
    assert.truthy(out:find("--wait-modifying <s>", 1, true), out)
    assert.truthy(out:find("--region <region>,", 1, true), out)
    _, out = dts("--help")
    assert.truthy(out:find('{"error": {...}}', 1, true), out)
  end)
end)
