-- Which transport a client sends with, chosen once at dts.new (design.md):
-- an explicit choice wins; else inside nginx the cosocket transport (never
-- curl there: a blocking call stalls the whole worker), else curl (plain
-- Lua).  A transport is an object with request(req) -> res | nil, err and
-- sleep(seconds, err), where err is the failure being backed off from (a
-- transport may share it).
--
-- Choosing loads the chosen module only: dts.curl never enters nginx
-- unless asked for by name, and nothing touches the network here.

local errors = require "dts.errors"

local transport = {}

-- Inside nginx's Lua module (any phase, init included)?
function transport.in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.get_phase) == "function"
    and type(ngx.socket) == "table"
end

-- opts: dts.new's options; defaults: the client's resolved settings.
function transport.choose(opts, defaults)
  local t = opts.transport
  if type(t) == "table" then
    -- A transport object is the caller's own (methods through __index are
    -- fine), but whatever its metatable raises is an error value here.
    local ok, request, sleep = pcall(function() return t.request, t.sleep end)
    if not ok or type(request) ~= "function" or type(sleep) ~= "function" then
      return nil, errors.invalid("transport", "a transport object needs request and sleep methods")
    end
    return t
  end
  if t == nil then
    t = transport.in_nginx() and "cosocket" or "curl"
  end
  if t == "curl" then
    return require("dts.transport.curl").new(defaults)
  elseif t == "cosocket" then
    return require("dts.transport.cosocket").new(defaults)
  end
  return nil, errors.invalid("transport", 'expected "curl", "cosocket" or a transport object')
end

return transport
