-- Which transport a client sends with, chosen once at dts.new (design.md):
-- an explicit choice wins, else curl (plain Lua).  A transport is an
-- object with request(req) -> res | nil, err and sleep(seconds, err), where
-- err is the failure being backed off from (a transport may share it).

local errors = require "dts.errors"

local transport = {}

-- opts: dts.new's options; defaults: the client's resolved settings.
function transport.choose(opts, defaults)
  local t = opts.transport
  if type(t) == "table" then
    if type(t.request) ~= "function" or type(t.sleep) ~= "function" then
      return nil, errors.invalid("transport", "a transport object needs request and sleep methods")
    end
    return t
  end
  if t ~= nil and t ~= "curl" then
    return nil, errors.invalid("transport", 'expected "curl" or a transport object')
  end
  return require("dts.transport.curl").new(defaults)
end

return transport
