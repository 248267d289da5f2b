-- luacheck: std ngx_lua
-- Runs inside the client nginx of spec/08-hostile/cosocket_spec.lua:
--
--   POST /h/cases { cases = { { name =, options = dts.new options }, ... } }
--
-- makes one DescribeDtsJobDetail per case, all at once (a light thread
-- each, through the cosocket transport), and answers
-- { results = { [name] = { seconds, job_id | err = {...} } },
--   rss_before, rss_after, peak } (the worker's memory, KiB; peak is the
-- highest resident size while the calls ran).
local cjson = require "cjson.safe"
local ffi = require "ffi"

pcall(ffi.cdef, [[
  typedef struct { long tv_sec; long tv_nsec; } dts_hostile_timespec;
  int clock_gettime(int clk_id, dts_hostile_timespec *tp);
]])
local ts = ffi.new("dts_hostile_timespec")

local function clock()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local function memory()
  local f = assert(io.open("/proc/self/status", "rb"))
  local text = f:read("*a")
  f:close()
  return tonumber(text:match("VmRSS:%s*(%d+)")), tonumber(text:match("VmHWM:%s*(%d+)"))
end

local function err_fields(err)
  if type(err) ~= "table" then return { message = tostring(err) } end
  return { kind = err.kind, message = err.message, http_status = err.http_status,
    retryable = err.retryable, attempts = err.attempts, text = tostring(err) }
end

return function()
  ngx.req.read_body()
  local args = cjson.decode(ngx.req.get_body_data() or "") or {}
  collectgarbage("collect")
  local rss_before = memory()
  -- Resets the peak resident size (Linux >= 4.0): VmHWM is then this run's.
  local f = io.open("/proc/self/clear_refs", "w")
  if f then
    f:write("5")
    f:close()
  end
  local results, threads = {}, {}
  for i, case in ipairs(args.cases or {}) do
    threads[i] = ngx.thread.spawn(function()
      local client, err = require("dts").new(case.options)
      local started = clock()
      local job
      if client then job, err = client:describe_dts_job_detail{ DtsJobId = "hostilejob0001" } end
      local r = { seconds = clock() - started }
      if job then r.job_id = job.dts_job_id else r.err = err_fields(err) end
      results[case.name] = r
    end)
  end
  for _, t in ipairs(threads) do ngx.thread.wait(t) end
  local _, peak = memory()
  collectgarbage("collect")
  local rss_after = memory()
  ngx.header["Content-Type"] = "application/json"
  ngx.print(cjson.encode{ results = results, rss_before = rss_before, rss_after = rss_after,
    peak = peak })
end
