-- `dts emulator` (bin/dts) as a user runs it: in the foreground, printing
-- its URL, CA file and test credentials; SIGINT to its process group (what
-- Ctrl-C sends) stops it and removes its files.  Run with the interpreter
-- that runs this spec.
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
                            "--no-permission-every", "--failure-code-every", "--expired-token-every" }) do
      assert.truthy(out:find(flag, 1, true), flag)
    end
    out, status = sh(LUA .. " bin/dts --help")
    assert.are.equal(0, status)
    assert.truthy(out:find("emulator", 1, true))
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
    nginx_pid = read(prefix .. "/nginx.pid"):match("%d+")

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
    assert.is_nil(io.open(prefix .. "/nginx.pid"))
    pid, nginx_pid, prefix = nil, nil, nil
  end)
end)
