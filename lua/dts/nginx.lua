-- Starts a throw-away nginx with the Lua module on 127.0.0.1, for the
-- emulator and the tests.
--
--   local server, err = require("dts.nginx").start{
--     server = "location / { content_by_lua_block { ngx.say('hi') } }",
--   }
--   ...
--   server.stop()
--
-- server: url ("https://localhost:PORT", or http://), port, host
-- ("localhost"), address ("127.0.0.1"), root (the temporary directory),
-- prefix (nginx's prefix inside it), ca_file, cert_file, key_file (and
-- client_cert_file, client_key_file), stop() (idempotent), error_log() (its
-- text, also after stop).
--
-- The temporary directory holds the CA certificate, readable by everyone
-- (root 0711, ca.pem 0644: other users' nginx may trust it with
-- lua_ssl_trusted_certificate), and nginx's prefix, private (0700: the
-- keys, the configuration, the logs).
--
-- A watchdog shell (server.watchdog_pid) stops nginx and removes the
-- directory when the Lua process that started it dies without stop()
-- (killed by `timeout`, Ctrl-C, an error), or on SIGTERM or SIGHUP.
-- detach = true: the server outlives this process; the watchdog runs in a
-- session of its own until signalled (kill -TERM server.watchdog_pid) or
-- until nginx exits.
--
-- Options (all optional):
--   server, http, main   directives inside server{}, inside http{} before the
--                        server, and in the main context; each a string or a
--                        function(server) returning one
--   tls = true           HTTPS with certificates from dts.certs
--   client_cert = false  also make a client certificate
--   port                 default: a random free one
--   lua_package_path, lua_package_cpath   searched after the project's lua/
--   env = { "NAME", ... }                 environment variables for Lua
--   log_level = "notice"
--   workers = 1          worker processes
--   detach = false                        outlive this process (see above)
-- The nginx binary is $DTS_NGINX or /usr/sbin/nginx.

local certs = require "dts.certs"
local sys = require "dts.sys"

local quote, run, read_file, write_file = sys.quote, sys.run, sys.read_file, sys.write_file

local _M = {}

local MODULES = "/usr/lib/nginx/modules"
local ATTEMPTS = 10

local CONFIG = [[
${user}daemon on;
master_process on;
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log ${log_level};
load_module ${modules}/ndk_http_module.so;
load_module ${modules}/ngx_http_lua_module.so;
${env}
${main}
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  lua_package_path ${lua_path};
  lua_package_cpath ${lua_cpath};
${http}
  server {
    listen 127.0.0.1:${port}${ssl};
    server_name localhost;
${tls}
${server}
  }
}
]]

local TLS = [[
    ssl_certificate ${cert_file};
    ssl_certificate_key ${key_file};
]]

-- Ready once the pid file exists and a worker answers; "GET x" is a bad
-- request line, so nginx answers 400 itself without running any location
-- (on an HTTPS port too: plain HTTP there gets a plain 400).
local PROBE = [[
for i in $(seq 200); do
  if [ -s ${pid_file} ] && (exec 3<>/dev/tcp/127.0.0.1/${port} &&
      printf 'GET x HTTP/1.0\r\n\r\n' >&3 && IFS= read -r -t 2 line <&3 &&
      [ "${line#HTTP/}" != "$line" ]) 2>/dev/null; then
    exit 0
  fi
  sleep 0.05
done
exit 1
]]

-- TERM, then KILL, each waited for (bounded); a zombie counts as gone, as
-- nobody may be reaping it.  Not QUIT: a graceful stop waits for requests
-- still running (a test's slow answer that the client gave up on over TLS
-- looks alive to nginx).  Only a pid that is an nginx counts: a stale pid
-- file must not kill whatever took its number.  The directory is removed
-- apart, once the log has been read.
local STOP = [[
pid=$(cat ${pid_file} 2>/dev/null)
alive() {
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null &&
    ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null &&
    grep -q nginx "/proc/$pid/cmdline" 2>/dev/null
}
for sig in TERM KILL; do
  alive || break
  kill -"$sig" "$pid" 2>/dev/null
  for i in $(seq 60); do alive || break; sleep 0.05; done
done
]]

-- A private directory for nginx's prefix inside one others may enter
-- but not list, where the CA certificate goes.
local MKTEMP = [[
umask 077
root=$(mktemp -d "${TMPDIR:-/tmp}/lua-dts-nginx.XXXXXX") || exit 1
mkdir "$root/run" && chmod 711 "$root" && echo "$root"
]]

-- See the top of this file.  Signals ignored on entry (SIGINT, for a
-- background job of a shell) cannot be trapped; the launcher's death covers
-- them.  A zombie counts as dead: nobody may be reaping it.
local WATCHDOG = [[
# lua-dts nginx watchdog
root=${root}; launcher=${launcher}
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
cleanup() {
${stop}rm -rf "$root"
}
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 129' HUP
seen=
while [ -d "$root" ]; do
  if [ -n "$launcher" ]; then
    if gone "$launcher"; then cleanup; exit 0; fi
  else
    nginx=$(cat ${pid_file} 2>/dev/null)
    if [ -n "$nginx" ] && ! gone "$nginx"; then seen=1
    elif [ -n "$seen" ]; then cleanup; exit 0; fi
  fi
  sleep 0.25 & wait $!
done
]]

-- A string for nginx.conf.
local function nginx_quote(s)
  return '"' .. s:gsub('[\\"]', "\\%0") .. '"'
end

local function fill(template, vars)
  return (template:gsub("%${([%w_]+)}", vars))
end

-- The project's lua/ directory, absolute, from this file's own path.
local function lua_dir()
  local source = debug.getinfo(1, "S").source
  local dir = source:match("^@(.-)dts[/\\]nginx%.lua$")
  if not dir then
    return nil, "dts.nginx: cannot tell where dts/nginx.lua was loaded from"
  end
  if dir:sub(1, 1) ~= "/" then
    local ok, cwd = run("pwd")
    if not ok then
      return nil, "dts.nginx: pwd: " .. cwd
    end
    dir = cwd .. "/" .. dir
  end
  return dir
end

-- Ports below Linux's ephemeral range (32768-60999) clash less with the
-- client side of local connections.
function _M.random_port()
  local f = assert(io.open("/dev/urandom", "rb"))
  local b = f:read(2)
  f:close()
  return 10000 + (b:byte(1) * 256 + b:byte(2)) % 22000
end

local function tail(text, lines)
  local all = {}
  for line in (text or ""):gmatch("[^\n]+") do
    all[#all + 1] = line
  end
  return table.concat(all, "\n", math.max(1, #all - lines + 1))
end

local function text(value, server)
  if type(value) == "function" then
    return value(server) or ""
  end
  return value or ""
end

local function render(opts, server, dir, user)
  local env = {}
  for i, name in ipairs(opts.env or {}) do
    env[i] = "env " .. name .. ";"
  end
  local tls = opts.tls ~= false
  return fill(CONFIG, {
    user = user,
    prefix = server.prefix,
    log_level = opts.log_level or "notice",
    workers = tostring(opts.workers or 1),
    modules = MODULES,
    env = table.concat(env, "\n"),
    main = text(opts.main, server),
    lua_path = nginx_quote(dir .. "?.lua;" .. dir .. "?/init.lua;" ..
                           (opts.lua_package_path or "") .. ";;"),
    lua_cpath = nginx_quote((opts.lua_package_cpath or "") .. ";;"),
    http = text(opts.http, server),
    port = tostring(server.port),
    ssl = tls and " ssl" or "",
    tls = tls and fill(TLS, {
      cert_file = nginx_quote(server.cert_file),
      key_file = nginx_quote(server.key_file),
    }) or "",
    server = text(opts.server, server),
  })
end

-- This process's id, for the watchdog to watch (nil without /proc).
local function own_pid()
  local f = io.open("/proc/self/stat", "rb")
  if not f then
    return nil
  end
  local pid = f:read("*n")
  f:close()
  return pid
end

-- Starts the watchdog; its pid, or nil and why not.
local function watchdog(root, pid_file, detach)
  local script = fill(WATCHDOG, {
    root = quote(root), pid_file = quote(pid_file),
    launcher = detach and "" or tostring(own_pid() or ""),
    stop = fill(STOP, { pid_file = quote(pid_file) }),
  })
  local ok, pid = run(("%ssh -c %s </dev/null >/dev/null 2>&1 & echo $!")
    :format(detach and "setsid " or "", quote(script)))
  pid = ok and pid:match("^%d+$")
  if not pid then
    return nil, "dts.nginx: cannot start the watchdog"
  end
  return tonumber(pid)
end

function _M.start(opts)
  opts = opts or {}
  local dir, err = lua_dir()
  if not dir then
    return nil, err
  end
  local ok, root = run(MKTEMP)
  if not ok then
    return nil, "dts.nginx: mktemp: " .. root
  end
  local prefix = root .. "/run"
  local server = {
    root = root,
    prefix = prefix,
    host = "localhost",
    address = "127.0.0.1",
  }
  local pid_file, log_file = prefix .. "/nginx.pid", prefix .. "/error.log"
  local stopped_log
  server.watchdog_pid, err = watchdog(root, pid_file, opts.detach)
  if not server.watchdog_pid then
    run("rm -rf " .. quote(root))
    return nil, err
  end

  function server.error_log()
    return stopped_log or read_file(log_file) or ""
  end

  function server.stop()
    if not stopped_log then
      run(fill(STOP, { pid_file = quote(pid_file) }))
      stopped_log = read_file(log_file) or ""
      run("rm -rf " .. quote(root))
    end
  end

  -- nginx -e puts its start-up errors in the log too: show one or the other.
  local function fail(msg, output)
    local log = server.error_log()
    server.stop()
    local detail = log ~= "" and tail(log, 20) or output
    return nil, "dts.nginx: " .. msg .. (detail and "\n" .. detail or "")
  end

  if opts.tls ~= false then
    local made, cerr = certs.make(prefix, { client = opts.client_cert })
    if not made then
      return fail(cerr)
    end
    for k, v in pairs(made) do
      server[k] = v
    end
    server.ca_file = root .. "/ca.pem"
    ok, err = run(("cp %s %s && chmod 644 %s"):format(quote(made.ca_file), quote(server.ca_file),
      quote(server.ca_file)))
    if not ok then
      return fail("CA certificate: " .. err)
    end
  end
  local _, uid = run("id -u")
  local user = uid == "0" and "user root;\n" or ""
  local nginx = os.getenv("DTS_NGINX") or "/usr/sbin/nginx"
  local out
  for _ = 1, opts.port and 1 or ATTEMPTS do
    server.port = opts.port or _M.random_port()
    server.url = (opts.tls ~= false and "https" or "http") ..
                 "://localhost:" .. server.port
    ok, err = write_file(prefix .. "/nginx.conf", render(opts, server, dir, user))
    if not ok then
      return fail(tostring(err))
    end
    -- umask: the logs, the request log and the state stay private.
    ok, out = run(table.concat({ "umask 077;", quote(nginx), "-p", quote(prefix .. "/"),
      "-c", quote(prefix .. "/nginx.conf"), "-e", quote(log_file) }, " "))
    if ok or not out:find("Address already in use", 1, true) then
      break
    end
  end
  if not ok then
    return fail("nginx did not start", out)
  end
  ok = run(fill(PROBE, {
    pid_file = quote(pid_file), port = tostring(server.port),
  }))
  if not ok then
    return fail("nginx started but does not answer on port " .. server.port)
  end
  return server
end

-- A lua_package_cpath entry under which nginx's LuaJIT finds a LuaJIT-ABI
-- build of dts.core (the 5.4 one would not load), or nil and what to do:
-- $DTS_LUAJIT_CPATH; a checkout's build/luajit/ next to lua/; the Lua 5.1
-- trees luarocks installs into (the one this file came from first).
function _M.luajit_cpath()
  local env = os.getenv("DTS_LUAJIT_CPATH")
  if env and env ~= "" then
    return env
  end
  local candidates = {}
  local dir = lua_dir()
  if dir then
    local checkout = dir:match("^(.*/)lua/$")
    if checkout then
      candidates[#candidates + 1] = checkout .. "build/luajit/?.so"
    end
    local tree = dir:match("^(.*/)share/lua/[%d.]+/$")
    if tree then
      candidates[#candidates + 1] = tree .. "lib/lua/5.1/?.so"
    end
  end
  local home = os.getenv("HOME")
  if home then
    candidates[#candidates + 1] = home .. "/.luarocks/lib/lua/5.1/?.so"
  end
  candidates[#candidates + 1] = "/usr/local/lib/lua/5.1/?.so"
  candidates[#candidates + 1] = "/usr/lib/x86_64-linux-gnu/lua/5.1/?.so"
  candidates[#candidates + 1] = "/usr/lib/lua/5.1/?.so"
  for _, c in ipairs(candidates) do
    local f = io.open((c:gsub("%?", "dts/core")), "rb")
    if f then
      f:close()
      return c
    end
  end
  return nil, "dts.nginx: no LuaJIT build of dts.core in " .. table.concat(candidates, ";")
    .. ": run `make build/luajit/dts/core.so` in a checkout or"
    .. " `luarocks --lua-version 5.1 make`, or set DTS_LUAJIT_CPATH"
end

return _M
