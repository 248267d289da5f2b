-- For the specs of spec/06-openresty (and bench/): starts the nginx whose
-- Lua calls lua-dts (spec/support/openresty_server.lua), and talks to it
-- from busted with dts.curl.  nginx runs LuaJIT, so it loads dts.core from
-- build/luajit/ whatever Lua busted runs on.
--
--   local launch = require "support.openresty_launch"
--   local s = assert(launch.start{ http = "...", server = "..." })
--   local status, t = s.post("/t/request", { ... })   -- JSON both ways
--   s.stop()
local cjson = require "cjson"
local curl = require "dts.curl"
local nginx = require "dts.nginx"

local sys = require "dts.sys"

local M = {}

-- Runs a shell script; true or false, and its output (dts.sys.run, which
-- keeps a preloaded sanitizer runtime out of the tools).
function M.sh(script)
  local ok, out = sys.run(script)
  return ok == true, out
end

function M.sleep(seconds)
  M.sh("sleep " .. seconds)
end

-- The checkout: from this file's own path, made absolute.
local function root()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$") or ""
  local dir = src:match("^(.*)/spec/support/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    local _, cwd = M.sh("pwd")
    dir = dir == "." and cwd or (cwd .. "/" .. dir)
  end
  return dir
end

M.root = root()

-- The driver and upstream locations every spec nginx has; extra is added.
local SERVER = [[
    client_body_buffer_size 1m;
    ssl_client_certificate ${ca_file};
    ssl_verify_client optional;
    lua_ssl_trusted_certificate ${trusted};
    location ~ ^/(echo|slow|big)$ {
      content_by_lua_block { require("support.echo_server")() }
    }
    location /t/ {
      content_by_lua_block { require("support.openresty_server").content() }
    }
${extra}
]]

local HTTP = [[
  lua_shared_dict dts_results 1m;
  lua_shared_dict dts_throttle 1m;
${extra}
]]

local function fill(template, vars)
  return (template:gsub("%${([%w_]+)}", function(k) return vars[k] or "" end))
end

local function value(v, server)
  if type(v) == "function" then return v(server) end
  return v
end

-- opts: http, server, main (strings or function(server)), env, trusted
-- (lua_ssl_trusted_certificate, default: the server's own CA), also_trust
-- (CA files trusted besides the server's own), bare = true (only the http
-- and server given, without the drivers), and any other option of
-- dts.nginx.start.
function M.start(opts)
  opts = opts or {}
  local core = M.root .. "/build/luajit/dts/core.so"
  local built = io.open(core, "rb")
  if not built then
    return nil, core .. " is missing: run `make build/luajit/dts/core.so` (nginx runs LuaJIT)"
  end
  built:close()
  local o = {}
  for k, v in pairs(opts) do o[k] = v end
  o.lua_package_path = M.root .. "/spec/?.lua;" .. (opts.lua_package_path or "")
  o.lua_package_cpath = M.root .. "/build/luajit/?.so"
  o.http = function(s)
    if opts.bare then return value(opts.http, s) end
    return fill(HTTP, { extra = value(opts.http, s) })
  end
  o.server = function(s)
    if opts.bare then return value(opts.server, s) end
    local trusted = opts.trusted or s.ca_file
    if opts.also_trust then
      -- A bundle of the server's own CA and those.
      trusted = s.prefix .. "/trusted.pem"
      local out = assert(io.open(trusted, "wb"))
      local files = { s.ca_file }
      for _, file in ipairs(opts.also_trust) do files[#files + 1] = file end
      for _, file in ipairs(files) do
        local f = assert(io.open(file, "rb"))
        out:write(f:read("*a"), "\n")
        f:close()
      end
      out:close()
    end
    return fill(SERVER, { ca_file = s.ca_file, trusted = trusted,
      extra = value(opts.server, s) })
  end
  local server, err = nginx.start(o)
  if not server then return nil, err end
  local client = assert(curl.new{ ca_file = server.ca_file, proxy = "", timeout = 60 })

  -- POST a table as JSON (or a string as it is); the status and the
  -- decoded answer.
  function server.post(path, t)
    local res, perr = client:request{
      method = "POST", url = server.url .. path,
      headers = { ["Content-Type"] = "application/json" },
      body = type(t) == "string" and t or cjson.encode(t or {}),
    }
    assert(res, perr and tostring(perr))
    local ok, decoded = pcall(cjson.decode, res.body)
    return res.status, ok and decoded or res.body
  end

  function server.get(path)
    local res, gerr = client:request{ url = server.url .. path }
    assert(res, gerr and tostring(gerr))
    local ok, decoded = pcall(cjson.decode, res.body)
    return res.status, ok and type(decoded) == "table" and decoded or res.body
  end

  -- https://localhost:PORT<path>: the name the certificate holds.
  function server.at(path)
    return "https://localhost:" .. server.port .. (path or "")
  end

  return server
end

return M
