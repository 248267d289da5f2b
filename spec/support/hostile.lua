-- Starts the hostile servers of spec/08-hostile on 127.0.0.1: one nginx
-- (spec/support/hostile_server.lua, HTTPS, one port per case) and the perl
-- server of the TCP-level cases (spec/support/hostile_tcp.pl).
--
--   local hostile = require "support.hostile"
--   local h = assert(hostile.start())
--   h.endpoint("drip_body") -> "localhost:PORT"; h.case_url("drip_body");
--   h.ports[case]; h.ca_file; h.hits() -> { case = requests served }; h.stop()
--   h.endpoint("reset"), h.case_url("tls_drip"): the perl server's cases (plain
--   TCP: "http://" URLs; tls_drip is meant for https://)
local curl = require "dts.curl"
local nginx = require "dts.nginx"
local sys = require "dts.sys"
local server_cases = require "support.hostile_server"

local M = {}

M.TCP_CASES = { "tls_drip", "reset", "tls_trickle" } -- in hostile_tcp.pl's order

-- The nginx cases' names, sorted (special: those that answer by their
-- count, for one spec each).
function M.names(special)
  local names = {}
  for name in pairs(server_cases.cases) do
    if special or not server_cases.special[name] then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

M.STALE_WAIT = server_cases.STALE_WAIT

-- Every ordinary case, the perl server's too.
function M.all_names()
  local names = M.names()
  for _, name in ipairs(M.TCP_CASES) do names[#names + 1] = name end
  return names
end

M.expect = server_cases.expect

-- The checkout's spec/ directory, absolute.
local function spec_dir()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$") or ""
  local dir = src:match("^(.*)/support/[^/]*$") or "spec"
  if dir:sub(1, 1) ~= "/" then
    local _, cwd = sys.run("pwd")
    dir = cwd .. "/" .. dir
  end
  return dir
end

-- Seconds since boot, for elapsed times (10 ms resolution, no fork).
function M.clock()
  local f = assert(io.open("/proc/uptime", "rb"))
  local t = f:read("*n")
  f:close()
  return t
end

-- This process's resident memory and its peak so far, in KiB.
function M.memory(pid)
  local text = sys.read_file("/proc/" .. (pid or "self") .. "/status") or ""
  return tonumber(text:match("VmRSS:%s*(%d+)")), tonumber(text:match("VmHWM:%s*(%d+)"))
end

-- upstream: the port tls_trickle relays to.
local function start_tcp(dir, upstream)
  local state = dir .. "/hostile_tcp.state"
  sys.run(("perl %s %s %d >/dev/null 2>&1 &"):format(
    sys.quote(spec_dir() .. "/support/hostile_tcp.pl"), sys.quote(state), upstream))
  for _ = 1, 200 do
    local text = sys.read_file(state)
    if text then
      local fields = {}
      for n in text:gmatch("%d+") do fields[#fields + 1] = tonumber(n) end
      local ports = {}
      for i, name in ipairs(M.TCP_CASES) do ports[name] = fields[i + 1] end
      return fields[1], ports
    end
    sys.run("sleep 0.02")
  end
  return nil, "the perl hostile server did not start"
end

function M.start()
  local names = M.names(true)
  local ports
  local h, err = nginx.start{
    lua_package_path = spec_dir() .. "/?.lua",
    http = "  lua_shared_dict hostile_hits 1m;\n",
    -- Called again for every port nginx.start tries: fresh ports each time.
    server = function(s)
      ports = {}
      local used, listen, map = { [s.port] = true }, {}, {}
      for _, name in ipairs(names) do
        local p
        repeat p = nginx.random_port() until not used[p]
        used[p] = true
        ports[name] = p
        listen[#listen + 1] = ("    listen 127.0.0.1:%d ssl;"):format(p)
        map[#map + 1] = ("[%d] = %q"):format(p, name)
      end
      return table.concat(listen, "\n") .. ([[

    location = /hits {
      content_by_lua_block {
        local hits = ngx.shared.hostile_hits
        for _, k in ipairs(hits:get_keys(0)) do ngx.say(k, " ", hits:get(k)) end
      }
    }
    location / {
      content_by_lua_block { require("support.hostile_server")({ %s }) }
    }
]]):format(table.concat(map, ", "))
    end,
  }
  if not h then return nil, err end
  local pid, tcp_ports = start_tcp(h.prefix, ports.ok)
  if not pid then
    h.stop()
    return nil, tcp_ports
  end
  for name, p in pairs(tcp_ports) do ports[name] = p end
  local stop = h.stop
  function h.stop()
    sys.run("kill " .. pid .. " 2>/dev/null")
    stop()
  end
  h.ports = ports
  function h.endpoint(name)
    return "localhost:" .. assert(ports[name], name)
  end
  function h.case_url(name, path)
    local scheme = name == "reset" and "http" or "https"
    return scheme .. "://" .. h.endpoint(name) .. (path or "/")
  end
  -- Requests served per case, asked on the main port (which no case has).
  local control = assert(curl.new{ ca_file = h.ca_file, proxy = "", timeout = 10 })
  function h.hits()
    local res = assert(control:request{ url = h.url .. "/hits" })
    local hits = {}
    for name, n in res.body:gmatch("(%S+) (%d+)") do hits[name] = tonumber(n) end
    return hits
  end
  return h
end

return M
