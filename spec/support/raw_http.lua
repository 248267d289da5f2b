-- Bytes to 127.0.0.1:port exactly as given, over plain TCP (bash's
-- /dev/tcp), for requests no HTTP client would send: a bad request line, an
-- unknown HTTP version, a method nginx refuses.  Only loopback is contacted.
--
--   local raw = require "support.raw_http"
--   local res = raw.send(port, "GARBAGE\r\n\r\n")  -- { status, headers, body }
local sys = require "dts.sys"

local raw = {}

local function dechunk(body)
  local out, pos = {}, 1
  while true do
    local size, after = body:match("^(%x+)[^\r\n]*\r\n()", pos)
    if not size then
      return nil
    end
    size = tonumber(size, 16)
    if size == 0 then
      return table.concat(out)
    end
    out[#out + 1] = body:sub(after, after + size - 1)
    pos = after + size + 2
  end
end

-- The answer split up, or nil and the raw text when it is not HTTP.
function raw.parse(text)
  local head, body = text:match("^(.-)\r\n\r\n(.*)$")
  if not head then
    return nil, text
  end
  local status = tonumber(head:match("^HTTP/1%.[01] (%d%d%d)"))
  if not status then
    return nil, text
  end
  local headers = {}
  for name, value in head:gmatch("\r\n([^:\r\n]+):%s*([^\r\n]*)") do
    headers[name:lower()] = value
  end
  if (headers["transfer-encoding"] or ""):lower() == "chunked" then
    body = dechunk(body)
    if not body then
      return nil, text
    end
  end
  return { status = status, headers = headers, body = body }
end

-- Sends bytes, reads until the server closes (at most `seconds`, default
-- 5), and returns the parsed answer (or nil and the raw text).
function raw.send(port, bytes, seconds)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  local _, out = sys.run(("exec 3<>/dev/tcp/127.0.0.1/%d || exit 1; cat %s >&3; "
    .. "timeout %d cat <&3; exit 0"):format(port, sys.quote(path), seconds or 5))
  os.remove(path)
  return raw.parse(out .. "\r\n")
end

return raw
