-- `dts emulator` (bin/dts) as a user runs it: in the foreground, printing
-- its URL, CA file and test credentials; SIGINT to its process group (what
-- Ctrl-C sends) stops it and removes its files, and so does any way
-- `timeout` or a shell may end it (SIGTERM to it or to its group, SIGHUP);
-- in the background with --print-env, for `eval`.  Run with the
-- interpreter that runs this spec.
local dts_call = require "support.dts_call"
local nginx = require "dts.nginx"

local LUA = jit and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")

local function sh(cmd)
  local pipe = io.popen("(" .. cmd .. ") 2>&1; echo \"exit=$?\"")
  local out = pipe:read("*a")
  pipe:close()
  local text, status = out:match("^(.-)exit=(%d+)%s*$")
  return text, tonumber(status)
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then
    return ""
  end
  local data = f:read("*a")
  f:close()
  return data
end

local function alive(pid)
  local _, status = sh("kill -0 " .. pid .. " && ! grep -q '^State:.*Z' /proc/" .. pid .. "/status")
  return status == 0
end


-- SIGINT to a whole process group, as Ctrl-C does (dash's kill builtin
-- takes no negative ids).
local function interrupt(pgid)
  return sh("/bin/kill -s INT -- -" .. pgid)
end

describe("dts emulator (the command)", function()
  -- os.tmpname, not the mktemp command: the ASan suite preloads its runtime
  -- into every child, and mktemp then aborts at exit.
  local out_file, pid_file = os.tmpname(), os.tmpname()
  local pid, nginx_pid, prefix

  -- After a failure: stop what is left of the run, without leaving nginx.
  teardown(function()
    if pid and alive(pid) then
      interrupt(pid)
      dts_call.wait_until(function() return not alive(pid) end, 3)
      if alive(pid) then
        sh("/bin/kill -s KILL -- -" .. pid)
      end
    end
    if nginx_pid and alive(nginx_pid) then
      sh("kill -TERM " .. nginx_pid)
    end
    if prefix then
      sh("rm -rf '" .. prefix .. "'")
    end
    os.remove(out_file)
    os.remove(pid_file)
  end)

  it("prints its help", function()
    local out, status = sh(LUA .. " bin/dts emulator --help")
    assert.are.equal(0, status)
    for _, flag in ipairs({ "--port", "--http", "--access-key-id", "--access-key-secret",
                            "--security-token", "--state", "--modifying-seconds",
                            "--business-errors", "--throttle-every", "--error-every", "--delay",
                            "--drop-every", "--truncate-every", "--garbage-every", "--after-apply",
                            "--lifetime", "--first-lifetime", "--metadata-mode", "--role-name",
                            "--no-permission-every", "--failure-code-every", "--expired-token-every",
                            "--print-env", "--stop" }) do
      assert.truthy(out:find(flag, 1, true), flag)
    end
    out, status = sh(LUA .. " bin/dts --help")
    assert.are.equal(0, status)
    assert.truthy(out:find("emulator", 1, true))
  end)

  it("starts from a --state file, a job seeded as Modifying included", function()
    local state = os.tmpname()
    local f = assert(io.open(state, "wb"))
    f:write('{"jobs": [{"DtsJobId": "busyjob", "DtsInstanceId": "busyinst", "Status": "Modifying"}]}')
    f:close()
    local out, status = sh("timeout 20 " .. LUA .. " bin/dts emulator --print-env --state " .. state
      .. " --modifying-seconds 30")
    os.remove(state)
    assert.are.equal(0, status, out)
    local em = {
      url = "https://" .. out:match("ALIBABA_CLOUD_ENDPOINT='([^']+)'"),
      endpoint = out:match("ALIBABA_CLOUD_ENDPOINT='([^']+)'"),
      ca_file = out:match("DTS_CA_FILE='([^']+)'"),
      access_key_id = out:match("ALIBABA_CLOUD_ACCESS_KEY_ID='([^']+)'"),
      access_key_secret = out:match("ALIBABA_CLOUD_ACCESS_KEY_SECRET='([^']+)'"),
    }
    local watchdog = out:match("DTS_EMULATOR_PID=(%d+)")
    finally(function() sh("DTS_EMULATOR_PID=" .. watchdog .. " " .. LUA .. " bin/dts emulator --stop") end)
    local res = dts_call.new(em):ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = "busyjob" } }
    assert.are.equal("Modifying", res.json.Status)
    res = dts_call.new(em):call{ action = "ModifyDtsJob", query = { DtsInstanceId = "busyinst" },
      body = { DbList = '{"d":{"name":"d","all":true}}' } }
    assert.are.equal("OperationDenied.JobStatusModifying", res.json.Code)
  end)

  it("refuses bad flags and states with a non-zero status", function()
    local _, status = sh(LUA .. " bin/dts emulator --port nope")
    assert.are_not.equal(0, status)
    local out
    out, status = sh(LUA .. " bin/dts emulator --state /nonexistent/state.json")
    assert.are.equal(1, status)
    assert.truthy(out:find("state file", 1, true), out)
  end)

  it("runs in the foreground, answers, and stops cleanly on SIGINT", function()
    local out
    for _ = 1, 3 do
      -- setsid: a process group of its own, like a terminal's foreground job.
      os.execute(("setsid sh -c 'echo $$ > %s; exec %s bin/dts emulator --port %d "
        .. "--modifying-seconds 0 --throttle-every 2 --fault-action DescribeDtsJobDetail' "
        .. "> %s 2>&1 < /dev/null &"):format(pid_file, LUA, nginx.random_port(), out_file))
      out = dts_call.wait_until(function()
        local text = read(out_file)
        if text:find("Press Ctrl-C", 1, true) or text:find("dts emulator:", 1, true) then
          return text
        end
      end)
      pid = read(pid_file):match("%d+")
      if out and out:find("Press Ctrl-C", 1, true) then
        break
      end
      -- The port was taken: try another.
      dts_call.wait_until(function() return not alive(pid) end)
    end
    assert.truthy(out and out:find("Press Ctrl-C", 1, true), out)

    local em = {
      url = out:match("url:%s+(%S+)"),
      ca_file = out:match("CA file:%s+(%S+)"),
      access_key_id = out:match("access key id:%s+(%S+)"),
      access_key_secret = out:match("access key secret:%s+(%S+)"),
    }
    em.endpoint = em.url:match("^https://(.*)$")
    assert.are.equal("LTAIemulatorTestKey", em.access_key_id)
    assert.are.equal("emulator-test-secret-not-real", em.access_key_secret)
    assert.truthy(out:find("dtsdemojob00001", 1, true))
    local log_file = out:match("request log:%s+(%S+)")
    prefix = em.ca_file:match("^(.*)/[^/]+$")
    nginx_pid = read(prefix .. "/run/nginx.pid"):match("%d+")

    local caller = dts_call.new(em)
    local function detail()
      return caller:ok{ action = "DescribeDtsJobDetail", query = { DtsJobId = "dtsdemojob00001" } }
    end
    assert.are.equal(200, detail().status)
    assert.are.equal(400, detail().status) -- --throttle-every 2, DescribeDtsJobDetail only
    local res = caller:ok{ scheme = "v1", action = "ModifyDtsJob",
      query = { DtsInstanceId = "dtsdemoinstance01" },
      body = { DbList = '{"dtstestdata":{"name":"dtstestdata","all":true}}' } }
    assert.are.equal(200, res.status, res.body)
    assert.are.equal(200, caller:ok{ scheme = "v1", action = "ModifyDtsJob",
      query = { DtsInstanceId = "dtsdemoinstance01" },
      body = { DbList = '{"dtstestdata":{"name":"dtstestdata","all":true}}' } }.status)
    local _, lines = read(log_file):gsub("\n", "")
    assert.are.equal(4, lines)

    -- It prints the variables that point each credential source at it.
    assert.truthy(out:find("ALIBABA_CLOUD_STS_ENDPOINT=" .. em.endpoint, 1, true), out)
    for _, name in ipairs({ "ALIBABA_CLOUD_CREDENTIALS_URI=http://127.0.0.1:", "ALIBABA_CLOUD_ROLE_ARN=",
                            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN=", "ALIBABA_CLOUD_OIDC_TOKEN_FILE=" }) do
      assert.truthy(out:find(name, 1, true), name)
    end
    local metadata = out:match("DTS_METADATA_ENDPOINT=(http://127%.0%.0%.1:%d+)")
    local http = assert(require("dts.curl").new{ proxy = "", allow_http = true })
    local role = assert(http:request{ url = metadata .. "/latest/meta-data/ram/security-credentials/" })
    assert.are.same({ 200, "EmulatorEcsRole" }, { role.status, role.body })

    interrupt(pid)
    assert.truthy(dts_call.wait_until(function() return not alive(pid) end))
    assert.truthy(read(out_file):find("dts emulator: stopped", 1, true), read(out_file))
    assert.is_false(alive(nginx_pid))
    assert.is_nil(io.open(prefix .. "/run/nginx.pid"))
    assert.is_nil(io.open(prefix .. "/ca.pem"))
    pid, nginx_pid, prefix = nil, nil, nil
  end)
end)

-- Starts `dts emulator` in a process group of its own (a terminal's
-- foreground job), through `wrap` (e.g. "timeout 60"); what it printed,
-- the pid of the group leader, and where it lives.
local function start(wrap, flags)
  local out_file, pid_file = os.tmpname(), os.tmpname()
  local out, run
  for _ = 1, 3 do
    local port = nginx.random_port()
    os.execute(("setsid sh -c 'echo $$ > %s; exec %s %s bin/dts emulator --port %d %s' "
      .. "> %s 2>&1 < /dev/null &"):format(pid_file, wrap or "", LUA, port, flags or "", out_file))
    out = dts_call.wait_until(function()
      local text = read(out_file)
      if text:find("Press Ctrl-C", 1, true) or text:find("dts emulator:", 1, true) then
        return text
      end
    end)
    run = { pid = read(pid_file):match("%d+"), port = port, out = out }
    if out and out:find("Press Ctrl-C", 1, true) then break end
    dts_call.wait_until(function() return not alive(run.pid) end)
  end
  os.remove(out_file)
  os.remove(pid_file)
  assert.truthy(out and out:find("Press Ctrl-C", 1, true), out)
  run.ca_file = out:match("CA file:%s+(%S+)")
  run.root = run.ca_file:match("^(.*)/[^/]+$")
  run.nginx_pid = read(run.root .. "/run/nginx.pid"):match("%d+")
  assert.truthy(alive(run.nginx_pid))
  return run
end

-- Nothing of it left: no nginx, nothing listening on its port, no files.
local function gone(run)
  local function clean()
    local _, listening = sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/" .. run.port .. "' 2>/dev/null")
    return not alive(run.nginx_pid) and listening ~= 0 and not io.open(run.root .. "/ca.pem")
      and select(2, sh("test -e '" .. run.root .. "'")) ~= 0
  end
  return dts_call.wait_until(clean, 5) or false
end

describe("dts emulator cleans up however it ends", function()
  local runs = {}

  teardown(function()
    for _, run in ipairs(runs) do
      sh("/bin/kill -s KILL -- -" .. run.pid)
      sh("kill -TERM " .. run.nginx_pid .. "; rm -rf '" .. run.root .. "'")
    end
  end)

  local function case(name, signal, to_group, wrap)
    it(name, function()
      local run = start(wrap)
      runs[#runs + 1] = run
      sh(("/bin/kill -s %s -- %s%s"):format(signal, to_group and "-" or "", run.pid))
      assert.is_true(gone(run))
      assert.truthy(dts_call.wait_until(function() return not alive(run.pid) end))
    end)
  end

  case("SIGTERM to the process (timeout --foreground)", "TERM", false)
  case("SIGTERM to its process group (timeout)", "TERM", true)
  case("SIGINT to its process group (Ctrl-C)", "INT", true)
  case("SIGHUP to the process (its terminal closed)", "HUP", false)
  case("SIGKILL to the process", "KILL", false)

  it("when `timeout` ends it", function()
    local run = start("timeout 2")
    runs[#runs + 1] = run
    assert.truthy(dts_call.wait_until(function() return not alive(run.pid) end, 5))
    assert.is_true(gone(run))
  end)

  it("keeps the CA key private and lets every user read the CA certificate", function()
    local run = start()
    runs[#runs + 1] = run
    local uid = sh("id -u")
    if uid:match("^0") then
      -- What an nginx whose workers run as nobody does with
      -- lua_ssl_trusted_certificate, and what it must not.
      -- (No sanitizer runtime preloaded into su's children.)
      local _, status = sh("unset LD_PRELOAD; su nobody -s /bin/sh -c 'cat " .. run.ca_file .. "' >/dev/null")
      assert.are.equal(0, status)
      for _, f in ipairs({ "run/ca.key", "run/server.key", "run/emulator.json", "run/error.log" }) do
        _, status = sh("unset LD_PRELOAD; su nobody -s /bin/sh -c 'cat " .. run.root .. "/" .. f .. "' >/dev/null")
        assert.are_not.equal(0, status, f)
      end
      _, status = sh("unset LD_PRELOAD; su nobody -s /bin/sh -c 'ls " .. run.root .. "' >/dev/null")
      assert.are_not.equal(0, status)
    end
    local mode = sh("stat -c %a " .. run.ca_file .. " " .. run.root .. " " .. run.root .. "/run")
    assert.are.same({ "644", "711", "700" }, { mode:match("(%d+)%s+(%d+)%s+(%d+)") })
    sh("/bin/kill -s INT -- -" .. run.pid)
    assert.is_true(gone(run))
  end)
end)

-- The README's promise: `eval "$(dts emulator --print-env)"` puts an
-- unchanged script (the README's own first example) and the dts command
-- (without --ca-file) on the emulator; `eval "$(dts emulator --stop)"`
-- stops it and unsets what it set.  Once, on Lua 5.4 without ASan: the
-- example waits out the job like a real one (5 s).
describe("dts emulator --print-env", function()
  local run_here = _VERSION == "Lua 5.4" and not jit
    and not (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true)

  local function readme_example()
    local readme = read("README.md")
    local section = readme:match("\n## A first example\n(.-)\n## ")
    local code = section and section:match("```lua\n(.-)```")
    assert(code, "no example in README.md")
    return code
  end

  it("points the README's example and the dts command at it, and stops", function()
    local lines = sh(LUA .. " bin/dts emulator --print-env --http")
    assert.truthy(lines:find("needs HTTPS", 1, true), lines)
    if not run_here then return end
    local example = os.tmpname()
    local f = assert(io.open(example, "wb"))
    f:write(readme_example())
    f:close()
    local out, status = sh(([[
unset LD_PRELOAD ALIBABA_CLOUD_SECURITY_TOKEN SSL_CERT_FILE CURL_CA_BUNDLE
eval "$(%s bin/dts emulator --print-env --modifying-seconds 0)" || exit 9
echo "pid=$DTS_EMULATOR_PID ca=$DTS_CA_FILE"
LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/5.4/?.so;;' %s %s; echo "example=$?"
%s bin/dts describe --dts-job-id dtsdemojob00001; echo "describe=$?"
root=$(dirname "$DTS_CA_FILE")
eval "$(%s bin/dts emulator --stop)"; echo "stop=$?"
echo "after: ${ALIBABA_CLOUD_ENDPOINT-unset} ${DTS_CA_FILE-unset} ${DTS_EMULATOR_PID-unset}"
test -e "$root"; echo "root=$?"
]]):format(LUA, LUA, example, LUA, LUA))
    os.remove(example)
    assert.are.equal(0, status, out)
    assert.truthy(out:find("example=0", 1, true), out)
    assert.truthy(out:find("add:%s+dtstestdata.orders"), out)
    assert.truthy(out:find("describe=0", 1, true), out)
    assert.truthy(out:find("  dtstestdata.orders", 1, true), out)
    assert.truthy(out:find("stop=0", 1, true), out)
    assert.truthy(out:find("after: unset unset unset", 1, true), out)
    assert.truthy(out:find("root=1", 1, true), out)
    local pid = out:match("pid=(%d+)")
    assert.is_false(alive(pid))
  end)

  it("refuses --stop without DTS_EMULATOR_PID, and a pid that is not an emulator's", function()
    local out, status = sh("unset DTS_EMULATOR_PID; " .. LUA .. " bin/dts emulator --stop")
    assert.are.equal(2, status, out)
    out, status = sh("DTS_EMULATOR_PID=$$ " .. LUA .. " bin/dts emulator --stop")
    assert.are.equal(1, status, out)
    assert.truthy(out:find("no emulator runs as pid", 1, true), out)
  end)
end)

describe("dts emulator --print-env with credentials of one's own", function()
  it("never prints a secret or token it was given", function()
    local secret, token = "my-own-Secret-7f3a9", "my-own-STS-token-1c2d"
    local out, status = sh(LUA .. " bin/dts emulator --print-env --access-key-id LTAImine "
      .. "--access-key-secret " .. secret .. " --security-token " .. token)
    assert.are.equal(0, status, out)
    local pid = out:match("DTS_EMULATOR_PID=(%d+)")
    sh("DTS_EMULATOR_PID=" .. tostring(pid) .. " " .. LUA .. " bin/dts emulator --stop")
    assert.falsy(out:find(secret, 1, true), out)
    assert.falsy(out:find(token, 1, true), out)
    assert.truthy(out:find("export ALIBABA_CLOUD_ACCESS_KEY_ID='LTAImine'", 1, true), out)
    assert.truthy(out:find("# ALIBABA_CLOUD_ACCESS_KEY_SECRET: set it to the secret given", 1, true), out)
  end)
end)
