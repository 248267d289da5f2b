-- Seconds from a clock fit for deadlines: inside nginx ngx.now() (after
-- ngx.update_time(): the cached time may be a whole event-loop turn old);
-- elsewhere CLOCK_MONOTONIC (core.monotonic: a vDSO call, no file read),
-- neither whole seconds nor moved when the wall clock is set.

local core = require "dts.core"

local monotonic = core.monotonic

local clock = {}

function clock.now()
  local ngx = rawget(_G, "ngx")
  if type(ngx) == "table" and type(ngx.now) == "function" and type(ngx.update_time) == "function" then
    ngx.update_time()
    return ngx.now()
  end
  return monotonic()
end

return clock
