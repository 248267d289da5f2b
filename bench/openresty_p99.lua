-- How long plain requests wait on an nginx worker that also has lua-dts
-- calls in flight (cosocket transport): 200 requests to a plain location,
-- from 20 clients inside nginx, first alone, then while 50 DTS calls each
-- delayed 500 ms by the emulator are pending on the same single worker.
-- Figures only; the spec (spec/06-openresty/client_spec.lua) asserts that
-- the requests are answered at all.
--
--   lua5.4 bench/openresty_p99.lua        (from the checkout, after make)
local function script_dir()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$") or ""
  return src:match("^(.*)/bench/[^/]*$") or "."
end

local root = script_dir()
local build = jit and "luajit" or _VERSION:match("%d+%.%d+")
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;%s/spec/?.lua;"):format(root, root, root) .. package.path
package.cpath = ("%s/build/%s/?.so;"):format(root, build) .. package.cpath

local emulator = require "dts.emulator"
local launch = require "support.openresty_launch"

local ROUNDS = tonumber(os.getenv("BENCH_ROUNDS") or "") or 3

local function percentile(sorted, p)
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

local function summary(latencies)
  table.sort(latencies)
  return ("p50 %6.2f ms   p99 %6.2f ms   max %6.2f ms"):format(
    percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000,
    latencies[#latencies] * 1000)
end

local function main()
  local em = assert(emulator.start{ modifying_seconds = 0, state = { jobs = {
    { DtsJobId = "job-bench", DtsInstanceId = "inst-bench" } } } })
  local s, err = launch.start{ also_trust = { em.ca_file } }
  if not s then
    em.stop()
    error(err)
  end
  local ok, failure = pcall(function()
    local function load()
      local _, out = s.post("/t/load", { url = s.at("/t/plain"), n = 200, clients = 20,
        settings = { connect_address = "127.0.0.1" } })
      assert(#out.errors == 0, "plain requests failed")
      return out.latencies
    end
    load() -- warm-up: connections in the pool
    print("lua-dts in nginx: 200 plain requests, 20 clients, one worker")
    for round = 1, ROUNDS do
      print(("  alone                          round %d: %s"):format(round, summary(load())))
    end
    assert(em.set_faults{ { kind = "delay", seconds = 0.5, action = "DescribeDtsJobDetail" } })
    local _, started = s.post("/t/slow/start", {
      n = 50, params = { DtsInstanceID = "inst-bench" },
      options = {
        region_id = "cn-hangzhou", endpoint = em.endpoint, connect_address = "127.0.0.1",
        access_key_id = em.access_key_id, access_key_secret = em.access_key_secret,
      },
    })
    assert(started.started, "slow calls did not start")
    local st
    for _ = 1, 500 do
      _, st = s.post("/t/slow/status")
      if st.inflight == 50 then break end
      launch.sleep(0.01)
    end
    -- Round 1 shares the worker with the slow calls' 50 TLS handshakes.
    for round = 1, ROUNDS do
      print(("  with %2d DTS calls in flight   round %d: %s"):format(st.inflight, round, summary(load())))
    end
    print("  (round 1 with calls in flight overlaps their TLS handshakes to the emulator)")
    local _, stopped = s.post("/t/slow/stop")
    print(("  (%d delayed DTS calls completed, %d failed)"):format(stopped.calls, #stopped.failures))
  end)
  s.stop()
  em.stop()
  if not ok then error(failure, 0) end
end

main()
