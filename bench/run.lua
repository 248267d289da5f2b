-- make bench: lua-dts's timing goals, as figures.  Never assertions: every
-- line prints a figure next to its target and whether it is met, and the
-- run goes on.  `make bench` runs this under lua5.4 and luajit.
--
--   lua5.4 bench/run.lua        (from the checkout, after make; the C
--                                yardsticks come from `make bench`)
--   DTS_BENCH_ONLY=2,4 lua5.4 bench/run.lua    only those sections
--   lua5.4 bench/run.lua --footprint WHAT N     section 7's workload
--
-- Each ratio is measured in one run, its two sides alternated round by
-- round and the best round of each kept (the one least disturbed by
-- whatever else the machine runs).
--
-- 1. core.sign (v3, 10-table DbList) next to the same crypto in plain C
--    (bench/sign_floor.c: SHA-256 of the body, SHA-256 of the canonical
--    request, HMAC-SHA256 of the string to sign, with OpenSSL at its
--    cheapest), split into its parts (the C signer alone,
--    bench/sign_signer.c, and the Lua binding) and set beside what its
--    interface costs with no signer behind it (bench/sign_boundary.c); and
--    the whole prepare+sign of a dry run
-- 2. RSS growth over 100 000 signed requests (before the large sections,
--    whose big strings would leave the allocator's heap grown)
-- 3. HTTPS to a local nginx, one kept-alive connection, client and nginx
--    on CPUs of their own: plain C libcurl (bench/curl_loop.c) next to
--    dts.curl, to two bare Lua clients (encode, sign, send, decode and
--    nothing else; one signs with core.sign, one with the boundary
--    yardstick) and to whole client:modify_dts_job calls, the same bytes
--    to the same nginx
-- 4. describe of a job with 10 000 tables: the DbObject left alone (what
--    a status poll does) and read
-- 5. a 10 000-table DbList: validate+encode and a whole dry run next to
--    bare cjson.encode
-- 6. calls/s with a refreshing credential provider next to the same keys
--    fixed (a dry run with an STS token costs more than one without: the
--    token is redacted from what it shows, so like is compared with like)
-- 7. why a call costs more inside the HTTPS loop than warm: the cache
--    lines one call fetches from memory when it starts cold, by library
--    (callgrind's cache simulation over `run.lua --footprint`; when valgrind is
--    installed).  Counts, not times: the same on every run and machine.

local function script_dir()
  local src = debug.getinfo(1, "S").source:match("^@(.*)$") or ""
  return src:match("^(.*)/bench/[^/]*$") or "."
end

local root = script_dir()
local build = jit and "luajit" or _VERSION:match("%d+%.%d+")
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;"):format(root, root) .. package.path
package.cpath = ("%s/build/%s/?.so;"):format(root, build) .. package.cpath

local cjson = require "cjson"
local core = require "dts.core"
local curl = require "dts.curl"
local dts = require "dts"
local schema = require "dts.schema"
local validate = require "dts.validate"
local grammar = require "dts.dblist.grammar"
local sys = require "dts.sys"

local KEY_ID, SECRET = "LTAIbench", "bench-secret"
local BIN = os.getenv("DTS_BENCH_BIN") or (root .. "/build/bench")

local function say(fmt, ...)
  io.write(fmt:format(...), "\n")
  io.flush()
end

local function verdict(met)
  return met and "met" or "MISSED"
end

-- Wall-clock seconds (the network loops, where the server's time counts
-- too); os.clock (this process's CPU) for the rest.
local wall = core.monotonic

-- Best ops/s of `rounds` rounds of about `seconds` each.
local function rate(f, seconds, rounds)
  local n = 1
  repeat -- calibrate: a batch that takes 1/20 of a round
    local c = os.clock()
    for _ = 1, n do f() end
    local took = os.clock() - c
    if took < seconds / 20 then n = n * 2 end
  until took >= seconds / 20
  local best = 0
  for _ = 1, rounds or 3 do
    local c, done = os.clock(), 0
    repeat
      for _ = 1, n do f() end
      done = done + n
    until os.clock() - c >= seconds
    best = math.max(best, done / (os.clock() - c))
  end
  return best
end

local function dblist(count)
  local tables = {}
  for i = 1, count do
    local name = ("orders_%05d"):format(i)
    tables[name] = { name = name, all = true }
  end
  return { shop = { name = "shop", all = false, Table = tables } }
end

local PARAMS = { DtsInstanceId = "dtsbench", DtsJobId = "jobbench", DbList = dblist(10) }

local function client(scheme, opts)
  local o = { region_id = "cn-hangzhou", access_key_id = KEY_ID, access_key_secret = SECRET,
    endpoint = "127.0.0.1:9", signature = scheme, retries = { max_attempts = 1 } }
  for k, v in pairs(opts or {}) do o[k] = v end
  return assert(dts.new(o))
end

local function write_file(path, data)
  local f = assert(io.open(path, "wb"))
  f:write(data)
  f:close()
end

-- A C yardstick's "<calls> <seconds>" as calls/s, or nil and its output.
local function run_c(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  local calls, seconds = out:match("^(%d+) ([%d.]+)")
  if not calls then return nil, (out:gsub("%s+$", "")) end
  return tonumber(calls) / tonumber(seconds)
end

local function run_ok(cmd)
  return sys.exit_code(os.execute(cmd)) == 0
end

local function tmpname()
  local name = os.tmpname()
  os.remove(name)
  return name
end

-- 1 -------------------------------------------------------------------------

-- The request the client signs for ModifyDtsJob with PARAMS (to the
-- service's host, or to host: the local nginx).
local function sign_request(scheme, host)
  return {
    scheme = scheme, method = "POST", host = host or "dts.cn-hangzhou.aliyuncs.com", path = "/",
    action = "ModifyDtsJob", version = "2020-01-01", access_key_id = KEY_ID,
    access_key_secret = SECRET, timestamp = "2024-05-06T07:08:09Z", nonce = core.nonce(),
    query = { RegionId = "cn-hangzhou", DtsInstanceId = "dtsbench", DtsJobId = "jobbench",
              ClientToken = core.nonce() },
    body = { DbList = cjson.encode(PARAMS.DbList) }, debug_strings = false,
  }
end

-- Yardstick input: parts, each its length, a newline, then its bytes
-- (bench/yardstick.h).
local function parts_file(list)
  local parts = {}
  for i, p in ipairs(list) do parts[i] = #p .. "\n" .. p end
  local name = tmpname()
  write_file(name, table.concat(parts))
  return name
end

-- The request as bench/sign_signer.c reads it.
local function signer_input(req)
  local list = { req.method, req.host, req.path, req.action, req.version, req.access_key_id,
    req.access_key_secret, req.timestamp, req.nonce }
  local function add(t)
    local names = {}
    for name in pairs(t) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do list[#list + 1] = name; list[#list + 1] = t[name] end
    return #names
  end
  local at = #list + 1
  list[at] = "" -- the number of query parameters, before them
  list[at] = tostring(add(req.query))
  add(req.body)
  return parts_file(list)
end

-- The Lua boundary yardstick (bench/sign_boundary.c), or nil and why.
local function boundary_module()
  local path = ("%s/%s/sign_boundary.so"):format(BIN, build)
  local open, err = package.loadlib(path, "luaopen_sign_boundary")
  if not open then return nil, err end
  return open()
end

local function bench_sign()
  say("1. signing, ModifyDtsJob with a 10-table DbList")
  -- The floor's input: the very bytes a v3 signature hashes.
  local req = sign_request("v3")
  req.debug_strings = true
  local s = assert(core.sign(req))
  req.debug_strings = false
  local floor_in = parts_file({ SECRET, s.body, s.canonical_request, s.string_to_sign:sub(1, -65) })
  local signer_in = signer_input(req)
  local boundary, berr = boundary_module()
  local boundary_run = boundary and boundary.new(assert(core.sign(req)))
  local N = 200000
  local best = { crypto = 0, signer = 0, encode = 0, boundary = 0, sign = 0 }
  local cerr
  local function lua_sign()
    req.nonce = core.nonce()
    return core.sign(req)
  end
  local function lua_boundary()
    req.nonce = core.nonce()
    return boundary_run(req)
  end
  for _ = 1, 5 do -- alternate, keep the best of each
    local r
    r, cerr = run_c(("%q %q %d"):format(BIN .. "/sign_floor", floor_in, N))
    if r then best.crypto = math.max(best.crypto, r) end
    r = run_c(("%q %q %d"):format(BIN .. "/sign_signer", signer_in, N))
    if r then best.signer = math.max(best.signer, r) end
    r = run_c(("%q %q %d encode"):format(BIN .. "/sign_signer", signer_in, N))
    if r then best.encode = math.max(best.encode, r) end
    if boundary_run then best.boundary = math.max(best.boundary, rate(lua_boundary, 0.2, 1)) end
    best.sign = math.max(best.sign, rate(lua_sign, 0.2, 1))
  end
  os.remove(floor_in)
  os.remove(signer_in)
  local us = {}
  for k, v in pairs(best) do us[k] = v > 0 and 1e6 / v or nil end
  if not us.crypto then
    say("   plain C crypto: not run (%s)", tostring(cerr))
    say("   core.sign v3, as the client calls it      %8.0f calls/s", best.sign)
  else
    say("   plain C crypto (bench/sign_floor.c)       %8.0f calls/s  (%.2f us)", best.crypto, us.crypto)
    say("   core.sign v3, as the client calls it      %8.0f calls/s  (%.2f us) = %.2fx the floor"
      .. "  (target >= 0.5x: %s)", best.sign, us.sign, best.sign / best.crypto,
      verdict(best.sign >= 0.5 * best.crypto))
    -- Where core.sign's time goes, and what the interface itself costs
    -- (both Lua loops make a nonce per call, as the client does).
    if us.signer and us.encode then
      say("     where its %.2f us go: crypto %.2f, the C signer's own work %.2f (bench/sign_signer.c;",
        us.sign, us.crypto, us.signer - us.crypto)
      say("       %.2f of it percent-encoding the body's %d bytes), dts.core's Lua binding %.2f",
        us.encode, #req.body.DbList, us.sign - us.signer)
    end
    if us.boundary then
      say("     the Lua boundary alone (bench/sign_boundary.c: the same table read, the same strings")
      say("       returned, nothing checked or signed) %.2f us: crypto + boundary = %.2f us = %.2fx,",
        us.boundary, us.crypto + us.boundary, us.crypto / (us.crypto + us.boundary))
      say("       the best any signer behind core.sign's interface can do")
    else
      say("     the Lua boundary alone: not run (%s)", tostring(berr))
    end
  end
  req.debug_strings = true
  say("   core.sign v3, with the strings to sign    %8.0f calls/s", rate(lua_sign, 0.3))
  for _, scheme in ipairs({ "v1", "v3" }) do
    local c = client(scheme)
    assert(c:modify_dts_job(PARAMS, { dry_run = true }))
    say("   %s  client:modify_dts_job{...}, dry_run     %8.0f calls/s  (validate, encode, sign, redact)",
      scheme, rate(function() c:modify_dts_job(PARAMS, { dry_run = true }) end, 0.3))
  end
end

-- 3 -------------------------------------------------------------------------

-- The answers of the local nginx: ModifyDtsJob's, and DescribeDtsJobDetail's
-- with a 10 000-table DbObject (written to a file, read once per worker).
local function start_nginx(describe_file)
  local nginx = require "dts.nginx"
  return nginx.start{
    server = ([[
    keepalive_requests 1000000;
    location = / {
      default_type application/json;
      if ($http_x_acs_action = "DescribeDtsJobDetail") { rewrite ^ /describe last; }
      return 200 '{"RequestId":"r","Success":true}';
    }
    location = /describe {
      internal;
      default_type application/json;
      content_by_lua_block {
        local body = package.loaded["bench.describe"]
        if not body then
          local f = assert(io.open(%q, "rb"))
          body = f:read("*a")
          f:close()
          package.loaded["bench.describe"] = body
        end
        ngx.print(body)
      }
    }]]):format(describe_file),
  }
end

-- Section 3's client and nginx each on a CPU of their own, the same two
-- for every loop.  Left to the scheduler they sometimes share one, and a
-- round trip then takes half as long for whichever loop ran then, which
-- swings every ratio.  nginx starts on the second CPU and keeps it (its
-- workers inherit it); this process, and the C loops it starts, then move
-- to the first.  ($PPID in os.execute's shell is this process.)
local function affinity()
  local p = io.popen("taskset -pc $PPID 2>/dev/null")
  local out = p and p:read("*a") or ""
  if p then p:close() end
  return out:match("list:%s*(%S+)")
end

local function set_affinity(list)
  return run_ok("taskset -pc " .. list .. " $PPID >/dev/null 2>&1")
end

-- The first n CPUs of an affinity list such as "0-3,6".
local function first_cpus(list, n)
  local cpus = {}
  for a, b in list:gmatch("(%d+)%-?(%d*)") do
    for cpu = tonumber(a), tonumber(b ~= "" and b or a) do
      if #cpus < n then cpus[#cpus + 1] = cpu end
    end
  end
  return cpus
end

-- A function that leaves the caches cold, as the kernel's and TLS's work
-- between two calls of an HTTPS loop does: it reads `bytes` with memchr
-- (string.find of a byte that is not there), code no call runs, so the
-- call after it finds nothing of its own warmed.  Interpreted under LuaJIT
-- too: a compiled search differs from run to run, which section 7 would
-- count as part of a call.
local function evictor(bytes)
  local big = ("x"):rep(bytes)
  local function evict()
    if big:find("y", 1, true) then error("evict: found a y") end
  end
  if jit then jit.off(evict) end
  return evict
end

-- Where the whole call's extra time goes: its own work (validate, encode,
-- sign, decode, result) is the same call answered in process, by a
-- transport that returns nginx's answer at once.  Timed warm (call after
-- call), right after a 50 us sleep (as after waiting for a server), after
-- 8 MB were read (more than the core's own caches: what it fetches comes
-- from the shared last level) and after 64 MB (more than that last level
-- too): the median of single calls.
local ANSWER = '{"RequestId":"r","Success":true}'

local function median_us(f, before, n)
  local t = {}
  for i = 1, n do
    before()
    local s = wall()
    f()
    t[i] = (wall() - s) * 1e6
  end
  table.sort(t)
  return t[math.floor((n + 1) / 2)]
end

-- nginx's answer, at once, in process.
local function answer()
  return { status = 200, headers = {}, body = ANSWER }
end

-- A client whose transport answers ANSWER at once, in process.
local function answered_in_process()
  return client("v3", { transport = {
    request = answer,
    sleep = function() end } })
end

-- The least any Lua client over dts.core and dts.curl does for one call:
-- encode the DbList (cjson), sign, send, decode the answer (cjson), and
-- nothing else (no validation, retries, redaction, result table).  The
-- whole call beside it is what lua-dts's own Lua layer adds.  sign is
-- core.sign, or the boundary yardstick (bench/sign_boundary.c: the same
-- interface with no signing behind it), which no signer can beat.
-- send(req) -> res; base: "https://host[:port]".
local function bare_client(send, base, sign)
  local a = sign_request("v3", base:match("^https://(.*)$"))
  return function()
    a.timestamp, a.nonce, a.query.ClientToken = core.timestamp(), core.nonce(), core.nonce()
    a.body.DbList = cjson.encode(PARAMS.DbList)
    local signed = assert(sign(a))
    signed.headers.accept = "application/json"
    local res = send{ method = "POST", url = base .. signed.target, headers = signed.headers,
      body = signed.body, connect_timeout = 5, timeout = 30 }
    if not (res and res.status == 200 and cjson.decode(res.body).Success) then
      error("bare client: no answer")
    end
  end
end

-- The boundary yardstick as a signer of bare_client's requests to host,
-- or nil and why not.
local function unsigned(host)
  local boundary, err = boundary_module()
  if not boundary then return nil, err end
  return boundary.new(assert(core.sign(sign_request("v3", host))))
end

local function bench_own_work()
  local own = answered_in_process()
  local function call() assert(own:modify_dts_job(PARAMS)) end
  local warm = 1e6 / rate(call, 0.3)
  local slept = median_us(call, function() curl.sleep(0.00005) end, 5000)
  local core_evicted = median_us(call, evictor(8 * 1024 * 1024), 1000)
  local all_evicted = median_us(call, evictor(64 * 1024 * 1024), 200)
  say("   its own work answered in process: warm    %8.1f us; after a 50 us sleep %.1f us;",
    warm, slept)
  say("     after reading 8 MB (core's caches evicted) %.1f us; 64 MB (last level too) %.1f us",
    core_evicted, all_evicted)
end

local function bench_https(server, placement)
  say("3. HTTPS to a local nginx, one kept-alive connection, signed ModifyDtsJob POSTs")
  say("   %s", placement)
  local host = "localhost:" .. server.port
  local signed = assert(core.sign(sign_request("v3", host)))
  signed.headers.accept = "application/json"
  local url = server.url .. signed.target
  local lines, headers = {}, {}
  for name, value in pairs(signed.headers) do
    if name ~= "host" then
      lines[#lines + 1] = name .. ": " .. value
      headers[name] = value
    end
  end
  table.sort(lines)
  local request_file = server.prefix .. "/request.txt"
  write_file(request_file, table.concat(lines, "\n") .. "\n\n" .. signed.body)

  local c = assert(curl.new{ ca_file = server.ca_file })
  local function send(r) return c:request(r) end
  local req = { method = "POST", url = url, headers = headers, body = signed.body }
  local full = client("v3", { endpoint = host, ca_file = server.ca_file, connect_address = "127.0.0.1" })
  local no_sign, nerr = unsigned(host)
  -- The Lua loops, each one call at a time; each alternates with the C loop.
  local loops = {
    curl = function()
      local res, rerr = c:request(req)
      if not res or res.status ~= 200 then error("dts.curl: " .. tostring(rerr or res.status)) end
    end,
    unsigned = no_sign and bare_client(send, server.url, no_sign),
    bare = bare_client(send, server.url, core.sign),
    full = function() assert(full:modify_dts_job(PARAMS)) end,
  }
  local function per_second(f, n)
    local start = wall()
    for _ = 1, n do f() end
    return n / (wall() - start)
  end
  for _, f in pairs(loops) do f() end -- the connections, TLS handshakes, first calls: untimed
  local N = 2000
  local best, cerr = { c = 0, curl = 0, unsigned = 0, bare = 0, full = 0 }, nil
  for _ = 1, 7 do -- alternate, keep the best of each
    local r
    r, cerr = run_c(("%q %q %q %d %q"):format(BIN .. "/curl_loop", url, server.ca_file, N, request_file))
    if r then best.c = math.max(best.c, r) end
    for _, name in ipairs({ "curl", "unsigned", "bare", "full" }) do
      if loops[name] then best[name] = math.max(best[name], per_second(loops[name], N)) end
    end
  end
  c:close()
  full:close()
  local function row(label, name, target)
    local x = best[name]
    if best.c == 0 then return say("   %-42s %8.0f calls/s", label, x) end
    say("   %-42s %8.0f calls/s  = %.2fx C%s", label, x, x / best.c, target
      and ("  (target >= %.2fx: %s)"):format(target, verdict(x >= target * best.c)) or "")
  end
  if best.c > 0 then
    say("   plain C libcurl loop (bench/curl_loop.c)   %8.0f calls/s", best.c)
  else
    say("   plain C libcurl loop: not run (%s)", tostring(cerr))
  end
  row("dts.curl client:request{...}", "curl", 0.9)
  say("   bare Lua clients: cjson.encode, sign, dts.curl, cjson.decode, nothing else")
  if no_sign then
    row("  signed by the boundary yardstick", "unsigned")
    say("       (no signer behind core.sign's interface can beat it)")
  else
    say("     signed by the boundary yardstick: not run (%s)", tostring(nerr))
  end
  row("  signed by core.sign", "bare")
  say("       (the floor of any Lua client over core.sign and dts.curl)")
  row("client:modify_dts_job{...}, whole call", "full", 0.75)
  if best.c > 0 then
    say("     (the long-term aim, 0.9x: %s)", verdict(best.full >= 0.9 * best.c))
  end
  say("     = %.2f of the bare client: what validation, deadlines, retries, redaction and the",
    best.full / best.bare)
  say("     result table add")
  say("   the whole call's own work, in that loop   %8.1f us  (whole call less dts.curl's request)",
    1e6 / best.full - 1e6 / best.curl)
  bench_own_work()
end

-- 5 -------------------------------------------------------------------------

-- Best time of many short rounds, for functions alternated, so all see the
-- same machine.
local function best_ms(fs, rounds)
  local best = {}
  for i = 1, #fs do
    fs[i]()
    best[i] = math.huge
  end
  for _ = 1, rounds do
    for i, f in ipairs(fs) do
      collectgarbage("collect") -- each round starts from the same heap
      local c = os.clock()
      f()
      f()
      best[i] = math.min(best[i], (os.clock() - c) / 2 * 1000)
    end
  end
  return best
end

local function bench_large()
  say("5. a DbList of 10 000 tables, next to bare cjson.encode of the same table")
  local t = dblist(10000)
  local def = schema.ModifyDtsJob
  local params = { DtsInstanceId = "x", DbList = t }
  local v3, v1 = client("v3"), client("v1")
  local dry = { DtsInstanceId = "dtsbench", DtsJobId = "jobbench", DbList = t }
  local ms = best_ms({
    function() cjson.encode(t) end,
    function() assert(validate(def, params)) end,
    function() assert(grammar.encode(t)) end,
    function() assert(v3:modify_dts_job(dry, { dry_run = true })) end,
    function() assert(v1:modify_dts_job(dry, { dry_run = true })) end,
  }, 25)
  say("   bare cjson.encode                         %7.2f ms", ms[1])
  say("   dts.validate (every parameter)            %7.2f ms  = %.2fx  (target <= 1.5x: %s)",
    ms[2], ms[2] / ms[1], verdict(ms[2] <= 1.5 * ms[1]))
  say("   grammar.encode (DbList in one walk)       %7.2f ms  = %.2fx  (target <= 1.5x: %s)",
    ms[3], ms[3] / ms[1], verdict(ms[3] <= 1.5 * ms[1]))
  say("   v3 dry run, whole call                    %7.2f ms  = %.2fx  (target <= 2x: %s)",
    ms[4], ms[4] / ms[1], verdict(ms[4] <= 2 * ms[1]))
  say("   v1 dry run, whole call                    %7.2f ms  = %.2fx  (no target: V1 signs the body twice encoded)",
    ms[5], ms[5] / ms[1])
end

-- 4 -------------------------------------------------------------------------

local function bench_describe(server)
  say("4. DescribeDtsJobDetail of a job with 10 000 tables, over HTTPS")
  local host = "localhost:" .. server.port
  local c = client("v3", { endpoint = host, ca_file = server.ca_file, connect_address = "127.0.0.1" })
  local params = { DtsJobId = "jobbench" }
  local function poll() assert(c:describe_dts_job_detail(params).status) end
  local function read() assert(c:describe_dts_job_detail(params).db_object.shop) end
  local ms = best_ms({ poll, read }, 15)
  c:close()
  say("   describe, DbObject not read (a poll)      %7.2f ms", ms[1])
  say("   describe, then job.db_object read         %7.2f ms  (decoded on that first read; "
    .. "a poll saves %.0f%%)", ms[2], 100 * (1 - ms[1] / ms[2]))
end

-- 2 -------------------------------------------------------------------------

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local kb = f:read("*a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kb)
end

local function bench_rss()
  local N = 100000
  say("2. RSS over %d signed requests (dry_run prepare+sign, v3; target growth < 1 MB)", N)
  local c = client("v3")
  for _ = 1, 1000 do c:modify_dts_job(PARAMS, { dry_run = true }) end -- warm-up
  collectgarbage("collect")
  collectgarbage("collect")
  local before = rss_kb()
  if not before then
    say("   not run: no /proc/self/status")
    return
  end
  for _ = 1, N do c:modify_dts_job(PARAMS, { dry_run = true }) end
  collectgarbage("collect")
  collectgarbage("collect")
  local after = rss_kb()
  say("   VmRSS before %d kB, after %d kB: %+d kB  (target < 1024 kB: %s)", before, after,
    after - before, verdict(after - before < 1024))
end

-- 6 -------------------------------------------------------------------------

-- A cached credential must cost nothing per call: the same dry-run calls
-- with static keys and with a session credential from the emulator's
-- credentials URI (the refreshing cache every STS/metadata/URI source uses).
local function bench_refreshing()
  say("6. prepare+sign with a refreshing provider next to static keys (target >= 98%%)")
  local emulator = require "dts.emulator"
  local em, err = emulator.start{}
  if not em then
    say("   not run: %s", tostring(err))
    return
  end
  local ok, failure = pcall(function()
    local refreshing = assert(dts.new({ region_id = "cn-hangzhou", endpoint = "127.0.0.1:9",
      retries = { max_attempts = 1 }, proxy = "",
      credentials = { type = "credentials_uri", credentials_uri = em.credentials_uri } },
      function() return nil end))
    assert(refreshing:modify_dts_job(PARAMS, { dry_run = true })) -- fetched once, here
    -- The same key, secret and token as fixed keys: both sign and redact
    -- the same, so only the provider differs.
    local _, c = refreshing.credentials.get()
    local static = client("v3", { access_key_id = c.access_key_id, access_key_secret = c.access_key_secret,
      security_token = c.security_token })
    local best_s, best_r = 0, 0
    for _ = 1, 3 do -- alternate, keep the best of each
      best_s = math.max(best_s, rate(function() static:modify_dts_job(PARAMS, { dry_run = true }) end, 0.3))
      best_r = math.max(best_r, rate(function() refreshing:modify_dts_job(PARAMS, { dry_run = true }) end, 0.3))
    end
    say("   the same STS keys, fixed                  %8.0f calls/s", best_s)
    say("   credentials_uri (cached, refreshing)      %8.0f calls/s  = %5.1f%%  (target >= 98%%: %s)",
      best_r, 100 * best_r / best_s, verdict(best_r >= 0.98 * best_s))
  end)
  em.stop()
  if not ok then say("   failed: %s", tostring(failure)) end
end

-- The answer DescribeDtsJobDetail gives for a job with 10 000 tables.
local function describe_answer()
  local objects = dblist(10000)
  for _, t in pairs(objects.shop.Table) do t.state = "normal" end
  return cjson.encode({ RequestId = "r", Success = true, DtsJobId = "jobbench",
    DtsInstanceID = "dtsbench", Status = "synchronizing", DbObject = cjson.encode(objects),
    Reserved = '{"maxRetryTime":"43200"}' })
end

-- 7 -------------------------------------------------------------------------

-- Section 7's workload, run under callgrind: n times, evict the caches,
-- then make one call.  what: "call" (a whole client:modify_dts_job,
-- answered in process), "bare" (section 3's bare client signed by
-- core.sign, answered in process), "sign" (core.sign as the client calls
-- it) or "none" (only the eviction, subtracted from the others).  Eviction reads
-- 1.5 MB, more than the last-level cache callgrind simulates.
local function footprint(what, n)
  local own = answered_in_process()
  local req = sign_request("v3")
  local calls = {
    call = function() assert(own:modify_dts_job(PARAMS)) end,
    sign = function()
      req.nonce = core.nonce()
      assert(core.sign(req))
    end,
    bare = bare_client(answer, "https://dts.cn-hangzhou.aliyuncs.com", core.sign),
    none = function() end,
  }
  local f = assert(calls[what], "--footprint: call, bare, sign or none")
  local evict = evictor(1536 * 1024)
  for _ = 1, 20 do f() end -- past the first calls' one-time work
  for _ = 1, n do
    evict()
    f()
  end
end

-- Where a cache line's code or data lives, by the object callgrind names
-- (lines it cannot place are inlined code of our own C, built with -g).
local LIBRARIES = {
  { "lua-dts C", { "/dts/core%.so", "/dts/curl%.so" } },
  { "lua-cjson", { "cjson" } },
  { "Lua VM", { "lua5%.%d", "luajit", "liblua" } },
  { "libc", { "libc%.so", "ld%-linux" } },
  { "OpenSSL", { "libcrypto", "libssl" } },
}

local function library_of(object)
  if not object then return "lua-dts C" end
  for _, lib in ipairs(LIBRARIES) do
    for _, pattern in ipairs(lib[2]) do
      if object:find(pattern) then return lib[1] end
    end
  end
  return "other"
end

-- Lines fetched from memory (code, data read, data written) by library,
-- over a run of footprint(WHAT, N) under callgrind.  Its L1 code cache is
-- made small (2 kB), so no code of one call is still there for the next:
-- in a real loop the kernel's, libcurl's and OpenSSL's code runs between
-- two calls, which a read of data (the eviction) does not simulate.
local function lines_fetched(what, n)
  local out = tmpname()
  local interpreter = arg[-1] or "lua5.4"
  local ok = run_ok(("valgrind --tool=callgrind --cache-sim=yes --I1=2048,2,64 "
    .. "--D1=49152,12,64 --LL=1048576,16,64 --callgrind-out-file=%s %s %s --footprint %s %d "
    .. ">/dev/null 2>&1"):format(sys.quote(out), sys.quote(interpreter),
    sys.quote(root .. "/bench/run.lua"), what, n))
  if not ok then os.remove(out) return nil end
  local p = io.popen("callgrind_annotate --show=ILmr,DLmr,DLmw --threshold=100 "
    .. sys.quote(out) .. " 2>/dev/null")
  local text = p:read("*a")
  p:close()
  os.remove(out)
  local by = {}
  for line in text:gmatch("[^\n]+") do
    local plain = line:gsub("%b()", "")
    local a, b, c, name = plain:match("^%s*([%d,.]+)%s+([%d,.]+)%s+([%d,.]+)%s+(.+)$")
    if a and not name:find("PROGRAM TOTALS", 1, true) then
      local lib = library_of(name:match("%[(.-)%]%s*$"))
      local t = by[lib] or { 0, 0 }
      by[lib] = t
      local function count(x) return tonumber((x:gsub("[,.]", ""))) or 0 end
      t[1] = t[1] + count(a)
      t[2] = t[2] + count(b) + count(c)
    end
  end
  return by
end

local function bench_footprint()
  say("7. one call's cold footprint: cache lines fetched from memory when it starts cold"
    .. " (callgrind, 1 MB last level)")
  if not run_ok("command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null") then
    say("   not run: valgrind is not installed")
    return
  end
  local N = 100
  local base = lines_fetched("none", N)
  local LABELS = {
    call = "client:modify_dts_job{...}, whole call",
    bare = "section 3's bare client, signed by core.sign",
    sign = "core.sign v3, as the client calls it",
  }
  for _, what in ipairs({ "call", "bare", "sign" }) do
    local by = base and lines_fetched(what, N)
    if not by then
      say("   not run: valgrind failed")
      return
    end
    local total, rows = { 0, 0 }, {}
    for _, lib in ipairs(LIBRARIES) do
      local name = lib[1]
      local t, b = by[name] or { 0, 0 }, base[name] or { 0, 0 }
      local code, data = math.max(0, (t[1] - b[1]) / N), math.max(0, (t[2] - b[2]) / N)
      total[1], total[2] = total[1] + code, total[2] + data
      rows[#rows + 1] = { name, code, data }
    end
    say("   %-44s %5.0f code + %5.0f data lines per call", LABELS[what], total[1], total[2])
    local parts = {}
    for _, r in ipairs(rows) do
      parts[#parts + 1] = ("%s %.0f + %.0f"):format(r[1], r[2], r[3])
    end
    say("     %s", table.concat(parts, "; "))
  end
end

if arg[1] == "--footprint" then
  footprint(arg[2], tonumber(arg[3]) or 100)
  return
end

local only = os.getenv("DTS_BENCH_ONLY")
local function wanted(n)
  return not only or (("," .. only .. ","):find("," .. n .. ",", 1, true) ~= nil)
end

say("== lua-dts bench: %s%s", _VERSION, jit and (" (" .. jit.version .. ")") or "")
if wanted(1) then bench_sign() end
if wanted(2) then bench_rss() end
if wanted(3) or wanted(4) then
  local describe_file = tmpname()
  write_file(describe_file, describe_answer())
  local was = affinity()
  local cpus = was and first_cpus(was, 2) or {}
  local apart = #cpus == 2 and set_affinity(cpus[2])
  local server, err = start_nginx(describe_file)
  apart = apart and set_affinity(cpus[1])
  local placement = apart and ("client on CPU %d, nginx on CPU %d (taskset)"):format(cpus[1], cpus[2])
    or ("client and nginx where the scheduler puts them (%s)"):format(was
      and (#cpus < 2 and "one CPU" or "taskset failed") or "no taskset")
  if server then
    local ok, failure = pcall(function()
      if wanted(3) then bench_https(server, placement) end
      if wanted(4) then bench_describe(server) end
    end)
    server.stop()
    if not ok then say("   failed: %s", tostring(failure)) end
  else
    say("3., 4. not run: %s", tostring(err))
  end
  if was then set_affinity(was) end
  os.remove(describe_file)
end
if wanted(5) then bench_large() end
if wanted(6) then bench_refreshing() end
if wanted(7) then bench_footprint() end
