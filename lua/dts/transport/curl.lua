-- The blocking transport for plain Lua: dts.curl, one keep-alive handle per
-- client.  Never loaded inside nginx (see transport/cosocket.lua there).

local curl = require "dts.curl"
local errors = require "dts.errors"

local caught = curl.interrupted

local transport = {}
transport.__index = transport

-- opts: ca_file, ca_path, client_cert, client_key, proxy, no_proxy,
-- connect_timeout, timeout, connect_address, allow_http, user_agent,
-- insecure_host, max_response_size
function transport.new(opts)
  local c, err = curl.new{
    ca_file = opts.ca_file, ca_path = opts.ca_path,
    client_cert = opts.client_cert, client_key = opts.client_key,
    proxy = opts.proxy, no_proxy = opts.no_proxy,
    connect_timeout = opts.connect_timeout, timeout = opts.timeout,
    max_response_size = opts.max_response_size, user_agent = opts.user_agent,
    allow_http = opts.allow_http, insecure_host = opts.insecure_host,
    connect_to = opts.connect_address,
  }
  if not c then
    -- "user_agent: ..." names the option (connect_to is dts.new's
    -- connect_address).
    local param = err.message:match("^([%w_]+):")
    return nil, errors.new("invalid_argument", { message = err.message,
      param = param == "connect_to" and "connect_address" or param })
  end
  return setmetatable({ client = c, name = "curl" }, transport)
end

local SIGNALS = { [2] = "SIGINT", [15] = "SIGTERM" }

-- The signal curl.trap_signals caught (the dts command traps them), by name.
function transport.interrupted()
  local sig = caught()
  return sig and (SIGNALS[sig] or ("signal " .. sig)) or nil
end

-- Once a signal is caught nothing more goes out, and a transfer under way
-- is cut short; request_sent says whether the request had gone out.
local function stopped(sent)
  local sig = transport.interrupted()
  if not sig then return nil end
  return errors.new("interrupted", { signal = sig, request_sent = sent,
    message = sent and ("interrupted by %s during the request, after it went out: "
      .. "its answer is lost"):format(sig)
      or ("interrupted by %s before the request went out"):format(sig) })
end

-- req: { method, url, headers, body, connect_timeout, timeout }
-- -> res | nil, err (err.request_sent: whether the request went out)
function transport:request(req)
  if caught() then return nil, stopped(false) end
  local res, err = self.client:request(req)
  if not res then
    return nil, stopped(err.request_sent)
      or errors.new(err.kind, { message = err.message, request_sent = err.request_sent })
  end
  return res
end

-- Cut short by a trapped signal.
function transport.sleep(_, seconds)
  curl.sleep(seconds)
end

function transport:close()
  self.client:close()
end

return transport
