-- luacheck: std ngx_lua
-- Runs inside the nginx of spec/04-curl (content_by_lua_block), one
-- handler per location:
--   /echo                 the request as JSON: method, target, lower-cased
--                         headers, body, client certificate check, SNI
--   /slow?s=SECONDS       answers after a while
--   /big?n=BYTES[&chunked=1]   n bytes, with Content-Length or chunked
-- Every answer carries X-Connection and X-Connection-Requests.
local cjson = require "cjson"

local handlers = {}

function handlers.echo()
  ngx.req.read_body()
  ngx.header["Content-Type"] = "application/json"
  ngx.header["X-Twice"] = { "one", "two" }
  ngx.print(cjson.encode({
    method = ngx.req.get_method(),
    target = ngx.var.request_uri,
    headers = ngx.req.get_headers(100),
    body = ngx.req.get_body_data() or "",
    client_verify = ngx.var.ssl_client_verify,
    sni = ngx.var.ssl_server_name,
  }))
end

function handlers.slow()
  ngx.sleep(tonumber(ngx.var.arg_s) or 5)
  ngx.print("late")
end

function handlers.big()
  local n = tonumber(ngx.var.arg_n)
  if ngx.var.arg_chunked then
    -- Without a length, HTTP/1.1 goes chunked; several chunks, so the
    -- client sees the size grow while receiving.
    local piece = string.rep("x", 1024)
    for _ = 1, math.floor(n / 1024) do
      ngx.print(piece)
      ngx.flush(true)
    end
    ngx.print(string.rep("x", n % 1024))
  else
    ngx.header["Content-Length"] = n
    ngx.print(string.rep("x", n))
  end
end

return function()
  ngx.header["X-Connection"] = ngx.var.connection
  ngx.header["X-Connection-Requests"] = ngx.var.connection_requests
  local handler = handlers[ngx.var.uri:sub(2)]
  if not handler then
    return ngx.exit(404)
  end
  handler()
end
