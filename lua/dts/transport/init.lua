--- Which transport a client sends with, and what a transport is.
--
-- Chosen once at `dts.new` (design.md): an explicit choice wins; else
-- inside nginx the cosocket transport (never curl there: a blocking call
-- stalls the whole worker), else curl (plain Lua).  Choosing loads the
-- chosen module only: dts.curl never enters nginx unless asked for by
-- name, and nothing touches the network here.
--
-- **The contract**: `dts.new{ transport = t }` takes any object with
-- these methods (through `__index` too), called with a colon:
--
-- * `t:request(req)` -> `res` | `nil, err`.  `req = { method, url,
--   headers, body, connect_timeout, timeout }`: the method (`"POST"`), the
--   full URL, a table of header name -> value (lower-case names), the exact
--   body bytes, and the seconds this attempt may take (its connection, and
--   all of it: the client computes them from what is left of the call's
--   deadline).  `res = { status = number, headers = table, body = string }`.
--   `err` should be a @{dts.errors} object of kind `network`, `timeout`,
--   `tls`, `protocol` or `invalid_argument`, with `request_sent = false`
--   when the request certainly did not go out (a refused connection):
--   anything else counts as maybe sent.  Any other error value becomes kind
--   `network`; an answer without a numeric status and a string body is
--   kind `protocol`.
-- * `t:sleep(seconds, err)`: the pause before the next attempt; `err` is
--   the failure being backed off from (a transport may share it, as the
--   cosocket one shares a throttling back-off through `shared_dict`).
-- * optional `t:close()` (called by `client:close()`), and
--   `t:interrupted()` -> a signal's name or nil: the workflows stop
--   between two steps when it returns one (the curl transport reports
--   what `dts.curl.trap_signals` caught).
--
-- The built-in ones: `"curl"` (dts.curl, one keep-alive connection per
-- client) and `"cosocket"` (nginx's non-blocking sockets, with a connection
-- pool; TLS trust from `lua_ssl_trusted_certificate`).  Both judge answers
-- alike: `timeout` bounds the whole attempt however slowly a server sends,
-- HTTP/1.1 only, redirects never followed, caps on headers and body.
-- @module dts.transport
-- @usage
-- local t = { request = function(self, req) ... end, sleep = function(self, s) ... end }
-- local client = assert(dts.new{ region_id = "cn-hangzhou", transport = t })

local errors = require "dts.errors"

local transport = {}

--- Whether this runs inside nginx's Lua module (any phase, init included).
-- @treturn boolean
function transport.in_nginx()
  local ngx = rawget(_G, "ngx")
  return type(ngx) == "table" and type(ngx.get_phase) == "function"
    and type(ngx.socket) == "table"
end

--- The transport of a client: `opts.transport` when it is an object
-- (checked to have `request` and `sleep`), else the named one, else
-- `"cosocket"` inside nginx and `"curl"` outside.
-- @tparam table opts dts.new's options
-- @tparam table defaults the client's resolved settings (CA file, proxy,
--   timeouts, user agent, ...)
-- @treturn table the transport
-- @return[2] nil
-- @treturn[2] dts.errors err kind `invalid_argument`
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
