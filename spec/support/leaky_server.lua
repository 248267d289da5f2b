-- luacheck: std ngx_lua
-- A server that echoes everything it received, in every form a careless
-- gateway or a debug page might, into every field of its answer: the raw
-- request (line, headers, body) plain, percent-encoded, encoded twice,
-- base64 at each alignment, JSON-escaped; also a "known" secret written to
-- <prefix>/known (a server that has the key, as one echoing a string to
-- sign would).  What it answers is <prefix>/mode, re-read on every request:
--   api          400 gateway object, every field echoing
--   credentials  404 InvalidAccessKeyId.NotFound, echoing
--   business     200 Success:false, ErrCode/ErrMessage/DynamicMessage echoing
--   signature    400 SignatureDoesNotMatch, "server string to sign is:" echo
--   html         502 with an HTML page echoing (not JSON: a protocol error)
--   slow         answers after 3 s (the caller times out first)
--   drop         closes the connection without an answer
-- For spec/09-secrets; only 127.0.0.1 listens.
local cjson = require "cjson"

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return (s:gsub("%s+$", ""))
end

local function echo()
  ngx.req.read_body()
  local text = ngx.var.request .. "\r\n" .. (ngx.req.raw_header(true) or "") .. "\r\n"
    .. (ngx.req.get_body_data() or "") .. "\n" .. read(ngx.config.prefix() .. "known")
  local encoded = ngx.escape_uri(text)
  local json = cjson.encode(text)
  local parts = {
    text, encoded, (encoded:gsub("%%", "%%25")), json:sub(2, -2),
    (text:gsub("[^%w]", function(c) return ("\\u%04x"):format(c:byte()) end)),
    ngx.encode_base64(text), ngx.encode_base64("x" .. text), ngx.encode_base64("xy" .. text),
  }
  return table.concat(parts, " | ")
end

return function()
  local mode = read(ngx.config.prefix() .. "mode")
  local e = echo()
  ngx.header["Content-Type"] = "application/json"
  if mode == "slow" then
    ngx.sleep(3)
  elseif mode == "drop" then
    return ngx.exit(444)
  elseif mode == "html" then
    ngx.status = 502
    ngx.header["Content-Type"] = "text/html"
    return ngx.print("<html><body>" .. e .. "</body></html>")
  elseif mode == "business" then
    return ngx.print(cjson.encode({ RequestId = e, Success = false, ErrCode = e,
      ErrMessage = "failed: %s", DynamicMessage = e, DynamicCode = e, Extra = { e } }))
  end
  local code = ({ credentials = "InvalidAccessKeyId.NotFound",
                  signature = "SignatureDoesNotMatch" })[mode] or "InvalidParameter." .. e
  ngx.status = mode == "credentials" and 404 or 400
  local message = mode == "signature"
    and "Specified signature is not matched with our calculation. server string to sign is:" .. e
    or e
  ngx.print(cjson.encode({ RequestId = e, HostId = e, Code = code, Message = message,
                           Recommend = "https://example.invalid/?q=" .. e, Extra = e }))
end
