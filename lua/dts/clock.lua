-- Seconds from a clock fit for deadlines: inside nginx ngx.now() (after
-- ngx.update_time(): the cached time may be a whole event-loop turn old);
-- elsewhere Linux's /proc/uptime, in 10 ms steps and, unlike os.time(),
-- neither whole seconds nor moved when the wall clock is set; os.time()
-- where neither exists.

local clock = {}

local function uptime()
  local f = io.open("/proc/uptime", "rb")
  if not f then return nil end
  local s = f:read("*n")
  f:close()
  return s
end

function clock.now()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.now) == "function" and type(ngx.update_time) == "function" then
    ngx.update_time()
    return ngx.now()
  end
  return uptime() or os.time()
end

return clock
