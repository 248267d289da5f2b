-- Whether a workflow should stop between two steps: a signal its
-- transport caught (the dts command traps SIGINT and SIGTERM in dts.curl;
-- other transports never say so).  Checked where stopping loses nothing:
-- before a change goes out, after a poll, after a checkpoint was written.

local errors = require "dts.errors"

-- interrupt(client [, "while waiting for job J"]) -> err | nil
return function(client, doing)
  local t = client.transport
  local sig = type(t) == "table" and type(t.interrupted) == "function" and t:interrupted()
  if not sig then return nil end
  return errors.new("interrupted", { signal = sig,
    message = ("interrupted by %s%s"):format(sig, doing and (" " .. doing) or "") })
end
