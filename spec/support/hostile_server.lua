-- luacheck: std ngx_lua
-- A hostile HTTP(S) server for spec/08-hostile, inside nginx: once nginx
-- has parsed a request, the handler takes the raw connection
-- (ngx.req.socket(true)) and answers with exactly the bytes of one case,
-- chosen by the port the request came to (the client always asks for "/"),
-- over TLS when the server is HTTPS.  Every case ends by LIMIT seconds or as
-- soon as the client is gone, whatever it was doing.
--
--   content_by_lua_block { require("support.hostile_server")({ [port] = "case", ... }) }
--
-- Each request is counted in the lua_shared_dict `hostile_hits` (key: the
-- case), so a spec can tell whether a client came back (a followed redirect).
local M = {}

local STEP = 0.05 -- seconds between the pieces of a drip
local LIMIT = 20 -- seconds every case ends by
local BIG = string.rep("a", 64 * 1024)

-- A DescribeDtsJobDetail answer, as the service gives it.
local OK_BODY = '{"RequestId":"hostile-ok","DtsJobId":"hostilejob0001",'
  .. '"DtsInstanceID":"hostileinst0001","Status":"Synchronizing","Success":true}'

-- The same JSON as OK_BODY's first fields, gzip-compressed (gzip -9n of
-- {"RequestId":"hostile-gzip","Success":true}).
local GZIP_HEX = "1f8b0800000000000203ab560a4a2d2c4d2d2ef14c51b252cac82f2ec9cc49d54dafca2c50"
  .. "d2510a2e4d4e4e2d2e56b22a292a4dad0500d20c80162b000000"
local GZIP_BODY = GZIP_HEX:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)

-- nginx's own error page.
local function html_page(status, reason)
  return ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n"
    .. "<center><h1>%d %s</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
    :format(status, reason, status, reason)
end

local function answer(status, reason, headers, body)
  local lines = { ("HTTP/1.1 %d %s"):format(status, reason) }
  for _, h in ipairs(headers) do lines[#lines + 1] = h end
  lines[#lines + 1] = "Content-Length: " .. #body
  lines[#lines + 1] = "Connection: close"
  return table.concat(lines, "\r\n") .. "\r\n\r\n" .. body
end

local OK = answer(200, "OK", { "Content-Type: application/json;charset=utf-8" }, OK_BODY)

local function clock()
  ngx.update_time()
  return ngx.now()
end

-- Sends data; false once the client is gone or the time is up.
local function send(c, data)
  if clock() > c.stop then return false end
  local ok = c.sock:send(data)
  return ok ~= nil
end

-- Sends prefix, then `piece` every `step` seconds (or back to back with
-- step 0) until the client leaves or the time is up.
local function forever(c, prefix, piece, step)
  if not send(c, prefix) then return end
  while send(c, piece) do
    ngx.sleep(step or STEP)
  end
end

local cases = {}

cases.ok = function(c) send(c, OK) end

-- One byte at a time: of the status line's reason phrase, of a header
-- value, of the body.
cases.drip_status = function(c) forever(c, "HTTP/1.1 200 ", "O") end
cases.drip_header = function(c) forever(c, "HTTP/1.1 200 OK\r\nX-Drip: ", "d") end
cases.drip_body = function(c)
  forever(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{",
    " ")
end
-- Header lines, each complete, one byte at a time.
cases.drip_headers = function(c)
  if not send(c, "HTTP/1.1 200 OK\r\n") then return end
  local line = "X-Drip: 1\r\n"
  while true do
    for i = 1, #line do
      if not send(c, line:sub(i, i)) then return end
      ngx.sleep(STEP)
    end
  end
end
-- A chunked body whose chunks come one byte at a time.
cases.drip_chunked = function(c)
  if not send(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n") then return end
  while send(c, "1\r\n") and send(c, " ") and send(c, "\r\n") do
    ngx.sleep(STEP)
  end
end

-- Lines that never end, 64 KiB per write, as fast as the client takes them.
cases.endless_status = function(c) forever(c, "HTTP/1.1 200 ", BIG, 0) end
cases.endless_header = function(c) forever(c, "HTTP/1.1 200 OK\r\nX-Endless: ", BIG, 0) end
cases.endless_chunk_size = function(c)
  forever(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", string.rep("0", 65536), 0)
end
-- Endless bodies: close-delimited and chunked.
cases.endless_body = function(c)
  forever(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{", BIG, 0)
end
cases.endless_chunked = function(c)
  forever(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "10000\r\n" .. BIG .. "\r\n", 0)
end
-- A length far beyond any max_response_size.
cases.huge_length = function(c)
  forever(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n", BIG, 0)
end
-- Many complete header lines: 4 MiB of them.
cases.huge_headers = function(c)
  if not send(c, "HTTP/1.1 200 OK\r\n") then return end
  local line = "X-Huge: " .. string.rep("h", 1000) .. "\r\n"
  local block = string.rep(line, 64)
  for _ = 1, 64 do
    if not send(c, block) then return end
  end
  send(c, "Content-Length: 2\r\n\r\n{}")
end
-- Endless interim answers.
cases.continue_flood = function(c) forever(c, "", "HTTP/1.1 100 Continue\r\n\r\n", 0.01) end

-- Answers that are not HTTP/1.x.
cases.empty = function() end
cases.no_status = function(c)
  send(c, "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
end
cases.http09 = function(c) send(c, OK_BODY) end
cases.http2 = function(c)
  send(c, "HTTP/2 200\r\ncontent-type: application/json\r\ncontent-length: " .. #OK_BODY
    .. "\r\n\r\n" .. OK_BODY)
end
cases.garbage = function(c)
  send(c, "\0\1\2\3\255\254 SSH-2.0-OpenSSH_9.2\r\n\127\200\201garbage\0\0\0\r\n\r\n")
end

-- Half an answer, then the connection closes.
cases.close_mid_body = function(c)
  send(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    .. OK_BODY:sub(1, 40))
end

-- A redirect to another host (this server's `ok` port, given as
-- c.ok_port, on 127.0.0.1): a client that followed it would succeed.
cases.redirect = function(c)
  send(c, answer(302, "Found", {
    "Location: https://127.0.0.1:" .. tostring(c.ok_port) .. "/",
    "Content-Type: text/html",
  }, html_page(302, "Found")))
end

-- A compressed answer nobody asked for.
cases.gzip = function(c)
  send(c, answer(200, "OK", { "Content-Type: application/json", "Content-Encoding: gzip" },
    GZIP_BODY))
end

-- An unasked-for 100 Continue, then the real answer.
cases.continue = function(c)
  send(c, "HTTP/1.1 100 Continue\r\n\r\n" .. OK)
end

-- nginx's HTML error pages, as a gateway in front of the service gives.
cases.html_502 = function(c)
  send(c, answer(502, "Bad Gateway", { "Content-Type: text/html" }, html_page(502, "Bad Gateway")))
end
cases.html_503 = function(c)
  send(c, answer(503, "Service Temporarily Unavailable", { "Content-Type: text/html" },
    html_page(503, "Service Temporarily Unavailable")))
end

-- A kept-alive connection that dies slowly: the first request of a pair
-- gets an answer and the connection stays open; the next one on it waits
-- STALE_WAIT seconds, then the server closes it without a byte (so the
-- client sends the request again on a new connection); the request after
-- that drips.  Not among the ordinary cases: it answers by its count.
M.STALE_WAIT = 1.5
cases.stale = function(c)
  if c.hit % 2 == 0 then return cases.drip_body(c) end
  if not send(c, answer(200, "OK", { "Content-Type: application/json" }, OK_BODY)
    :gsub("Connection: close\r\n", "")) then return end
  c.sock:settimeout(10000)
  local next_request = c.sock:receiveany(65536)
  if next_request then ngx.sleep(M.STALE_WAIT) end
end
M.special = { stale = true }

M.cases = cases

-- What a client must make of each case (dts.new's error kind, nil for an
-- answer), whatever its transport: one place for both transports' specs.
-- The cases of spec/support/hostile_tcp.pl are at the end.
M.expect = {
  ok = false, continue = false,
  drip_status = "timeout", drip_header = "timeout", drip_headers = "timeout",
  drip_body = "timeout", drip_chunked = "timeout",
  endless_status = "protocol", endless_header = "protocol", endless_chunk_size = "protocol",
  endless_body = "protocol", endless_chunked = "protocol", huge_length = "protocol",
  huge_headers = "protocol", continue_flood = "protocol",
  empty = "network", no_status = "protocol", http09 = "protocol", http2 = "protocol",
  garbage = "protocol", close_mid_body = "network",
  redirect = "protocol", gzip = "protocol", html_502 = "protocol", html_503 = "protocol",
  tls_drip = "timeout", reset = "network", tls_trickle = "timeout",
}

-- ports: { [port] = case name }
function M.handle(ports)
  local port = tonumber(ngx.var.server_port)
  local name = ports[port] or "ok"
  local hits = ngx.shared.hostile_hits
  local hit = hits and hits:incr(name, 1, 0) or 1
  ngx.req.read_body()
  local sock, err = ngx.req.socket(true)
  if not sock then
    ngx.log(ngx.ERR, "hostile: no raw socket: ", err)
    return ngx.exit(500)
  end
  sock:settimeout(5000)
  local ok_port
  for p, n in pairs(ports) do
    if n == "ok" then ok_port = p end
  end
  cases[name]({ sock = sock, stop = clock() + LIMIT, ok_port = ok_port, hit = hit })
  -- The raw connection is closed when the handler returns.
end

return setmetatable(M, { __call = function(_, ports) return M.handle(ports) end })
