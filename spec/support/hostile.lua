-- Starts the hostile server of spec/support/hostile_server.lua: one nginx on
-- 127.0.0.1, HTTPS (or plain http with tls = false), one port per case.
--
--   local hostile = require "support.hostile"
--   local h = assert(hostile.start())
--   h.port.drip_body, h.endpoint("drip_body") ("localhost:PORT"),
--   h.url("drip_body"), h.ca_file, h.hits("redirect"), h.stop()
local nginx = require "dts.nginx"
local server_cases = require "support.hostile_server"

local M = {}

-- The case names, sorted.
function M.names()
  local names = {}
  for name in pairs(server_cases.cases) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- The checkout's spec/ directory, absolute.
local function spec_dir()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$") or ""
  local dir = src:match("^(.*)/support/[^/]*$") or "spec"
  if dir:sub(1, 1) ~= "/" then
    local pipe = io.popen("pwd")
    dir = pipe:read("*l") .. "/" .. dir
    pipe:close()
  end
  return dir
end

-- opts: tls (default true)
function M.start(opts)
  opts = opts or {}
  local names = M.names()
  local ports
  local h, err = nginx.start{
    tls = opts.tls,
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
        listen[#listen + 1] = ("    listen 127.0.0.1:%d%s;"):format(p, opts.tls == false and "" or " ssl")
        map[#map + 1] = ("[%d] = %q"):format(p, name)
      end
      return table.concat(listen, "\n") .. ([[

    location / {
      content_by_lua_block { require("support.hostile_server")({ %s }) }
    }
]]):format(table.concat(map, ", "))
    end,
  }
  if not h then return nil, err end
  h.port = ports
  function h.endpoint(name)
    return "localhost:" .. assert(ports[name], name)
  end
  function h.url(name, path)
    return (opts.tls == false and "http" or "https") .. "://" .. h.endpoint(name) .. (path or "/")
  end
  return h
end

return M
