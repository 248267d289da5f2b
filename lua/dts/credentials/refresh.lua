-- The refreshing cache every session-credential source shares (STS
-- AssumeRole and AssumeRoleWithOIDC, instance metadata, a credentials URI),
-- after Python's and Java's rule (credentials.md 3.7), with a bounded
-- stale-while-revalidate instead of Go's hard failure:
--
-- * A credential is fresh until Expiration - 15 min.  Until then get() is
--   one clock reading and a comparison: nothing is rebuilt or checked per
--   call (the credential was checked once, when it arrived).
-- * Once stale, the next get() refreshes it before anything is signed, with
--   one refresh in flight: in plain Lua per client (calls are sequential
--   there; a coroutine that asks meanwhile gets the old credential while it
--   has a minute left); in nginx per worker, the other light threads
--   waiting on an ngx.semaphore (Kong/lua-resty-aws Credentials.lua), and
--   across workers through the `shared_dict` when one is configured: a
--   worker that finds a fresh credential there takes it, and one lock
--   (dict:add) lets a single worker fetch while the others wait for its
--   result.
-- * If a refresh fails while the old credential still has more than 60 s
--   to live, the call goes on with it and the failure is reported through
--   on_warning (nginx's error log, else stderr, by default); the next try
--   waits a little (1, 2, 4 ... 60 s, never past the last minute), so a
--   broken STS is not asked again on every call.  With less than 60 s left,
--   the failure is the call's error.
-- * A credential that arrives with less than 15 minutes to live (a short
--   DurationSeconds, an emulator flag) is used and refreshed again once
--   half of what it had left is gone: Python would refresh on every call
--   then, which against STS's 6000 calls per minute and account is a
--   throttling storm.  One that arrives already expired is an error.
-- * invalidate() drops the cached credential (DTS answered
--   InvalidSecurityToken.Expired): the next get() refreshes whatever the
--   clock says.
--
-- Time comes from an injected clock (epoch seconds), so specs pin it.
-- luacheck: globals ngx

local creds = require "dts.credentials.creds"
local errors = require "dts.errors"

local refresh = {}

refresh.STALE_BEFORE = 15 * 60
refresh.MIN_LEFT = 60
-- How long a caller waits for another one's refresh, and how old an
-- unfinished refresh may get before it counts as abandoned.
refresh.WAIT = 30

local STALE_BEFORE, MIN_LEFT, WAIT = refresh.STALE_BEFORE, refresh.MIN_LEFT, refresh.WAIT

local function in_nginx()
  local n = rawget(_G, "ngx")
  return type(n) == "table" and type(n.get_phase) == "function" and type(n.socket) == "table"
end

-- Where a light thread may wait (ngx.semaphore, ngx.sleep): the phases with
-- cosockets.
local function can_wait()
  if not in_nginx() then return false end
  return require("dts.transport.cosocket").ALLOWED_PHASES[ngx.get_phase()] == true
end

function refresh.default_clock()
  if in_nginx() then return ngx.now end
  return os.time
end

function refresh.default_warning()
  if in_nginx() then
    return function(message) ngx.log(ngx.WARN, "lua-dts: ", message) end
  end
  return function(message)
    io.stderr:write("lua-dts: warning: ", message, "\n")
    io.stderr:flush()
  end
end

-- pcall, so a source's bug is an error value, not a raised error.  LuaJIT
-- and 5.2+ may yield across pcall (a cosocket fetch does); plain 5.1
-- cannot, so there, inside a coroutine (where a custom transport may
-- yield), the call goes unprotected.
local function protect(f)
  if rawget(_G, "jit") or _VERSION ~= "Lua 5.1" or coroutine.running() == nil then
    return pcall(f)
  end
  return true, f()
end
refresh.protect = protect

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t))
end

-- Per worker in nginx: sources with the same identity share one cache (and
-- so one refresh in flight) whichever client made them.  Weak: a cache
-- lives as long as a client uses it.
local registry = setmetatable({}, { __mode = "v" })

-- A key naming a source's identity without holding it: a digest of its
-- parameters (secret included, so two secrets for one key id never share).
function refresh.key(...)
  local strs = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    strs[i] = v == nil and "" or tostring(v)
  end
  return "lua-dts:credentials:" .. require("dts.core").sha256_hex(table.concat(strs, "\0"))
end

local Cache = {}
Cache.__index = Cache

local function usable(self, now)
  local c = self.value
  return c ~= nil and c.expiration ~= nil and now < c.expiration - MIN_LEFT
end

-- A credential from the source: checked once, then the fresh one.
local function accept(self, c, now)
  local ok, err = creds.validate(c)
  if not ok then
    err.message = self.name .. ": " .. err.message
    return nil, err
  end
  c = creds.copy(c)
  if c.expiration == nil then
    self.value, self.stale_at = c, math.huge
    return c
  end
  local left = c.expiration - now
  if left <= 0 then
    return nil, errors.new("credentials", { message = ("%s: the credential it gave expired "
      .. "already (Expiration %s)"):format(self.name, iso(c.expiration)) })
  end
  local stale = c.expiration - STALE_BEFORE
  if stale <= now then stale = now + left / 2 end
  self.value, self.stale_at, self.failures = c, stale, 0
  return c
end

-- The shared_dict's copy, when another worker's refresh left a fresh one.
local function from_dict(self, now)
  local text = self.dict:get(self.key)
  if type(text) ~= "string" then return nil end
  local ok, t = pcall(require("cjson.safe").decode, text)
  if not ok or type(t) ~= "table" or type(t.expiration) ~= "number"
     or now >= t.expiration - STALE_BEFORE then
    return nil
  end
  return accept(self, t, now)
end

local function to_dict(self, c, now)
  local text = require("cjson.safe").encode(c)
  if text then self.dict:set(self.key, text, math.max(c.expiration - now, 0.001)) end
end

local function wake(self)
  if self.sema and self.waiters > 0 then self.sema:post(self.waiters) end
end

local function failed(self, err, now)
  self.last_err = err
  if usable(self, now) then
    local c = self.value
    self.failures = (self.failures or 0) + 1
    self.stale_at = math.min(now + math.min(2 ^ (self.failures - 1), 60), c.expiration - MIN_LEFT)
    self.warn(("%s: refresh failed, going on with the current credential (expires %s, "
      .. "in %d s): %s"):format(self.name, iso(c.expiration), math.floor(c.expiration - now),
      tostring(err.message or err)), err)
    return true, c
  end
  return nil, err
end

-- Another worker fetches (it holds the lock): wait for what it stores.
local function wait_other_worker(self)
  local lock = self.key .. ":lock"
  local steps = math.floor(WAIT / 0.05)
  for _ = 1, steps do
    ngx.sleep(0.05)
    local c = from_dict(self, self.clock())
    if c then return c end
    if not self.dict:get(lock) then return nil end
  end
  return nil
end

local function fetch(self)
  local ok, c, err = protect(self.fetch)
  if not ok then
    -- A bug in a source: its message names no secret (sources never put
    -- one in a string), but it is a bug; say so.
    return nil, errors.new("credentials", { message = self.name .. ": failed: " .. tostring(c) })
  end
  if not c then
    if not errors.is(err) then
      err = errors.new("credentials", { message = self.name .. ": " .. tostring(err) })
    end
    return nil, err
  end
  return c
end

-- nginx's phases without cosockets (init, init_worker, log, ...): nothing
-- is fetched there, and nothing is remembered of it.
local function phase_error(self)
  local phase = ngx.get_phase()
  return nil, errors.new("invalid_argument", { phase = phase, message = ("%s: cannot fetch a "
    .. "credential in nginx's %s phase (no cosockets there, and lua-dts never blocks); make "
    .. "the call in a request or a timer, e.g. ngx.timer.at(0, function(premature) ... end)")
    :format(self.name, phase) })
end

function Cache:slow()
  if in_nginx() and not can_wait() then return phase_error(self) end
  local now = self.clock()
  if self.inflight and now - self.inflight < WAIT then
    if can_wait() then
      self.sema = self.sema or require("ngx.semaphore").new()
      self.waiters = self.waiters + 1
      self.sema:wait(WAIT)
      self.waiters = self.waiters - 1
      now = self.clock()
      local c = self.value
      if c and now < self.stale_at then return true, c end
      if usable(self, now) then return true, c end
      return nil, self.last_err or errors.new("credentials", {
        message = self.name .. ": gave up waiting for another light thread's refresh" })
    end
    if usable(self, now) then return true, self.value end
    return nil, errors.new("credentials", { message = self.name .. ": a refresh is already in flight" })
  end

  self.inflight = now
  local c, err
  local locked = false
  if self.dict then
    c = from_dict(self, now)
    if not c and can_wait() then
      locked = self.dict:add(self.key .. ":lock", true, WAIT)
      if not locked then c = wait_other_worker(self) end
    end
  end
  if not c then
    c, err = fetch(self)
    now = self.clock()
    if c then c, err = accept(self, c, now) end
    if c and self.dict then to_dict(self, c, now) end
    if locked then self.dict:delete(self.key .. ":lock") end
  end
  self.inflight = nil
  local ok, value
  if c then
    self.last_err = nil
    ok, value = true, c
  else
    ok, value = failed(self, err, now)
  end
  wake(self)
  return ok, value
end

function Cache:invalidate()
  local old = self.value
  self.value, self.stale_at, self.failures = nil, -math.huge, 0
  if self.dict and old then
    local text = self.dict:get(self.key)
    local t = type(text) == "string" and require("cjson.safe").decode(text)
    if type(t) == "table" and t.access_key_id == old.access_key_id then
      self.dict:delete(self.key)
    end
  end
end

-- refresh.new{ fetch, name, key, describe, ctx } -> provider
--   fetch()   -> creds | nil, err: one trip to the source
--   name      the source in messages ("STS AssumeRole at sts.aliyuncs.com")
--   key       refresh.key(...): shares the cache per worker in nginx and
--             names it in the shared_dict
--   describe  -> { source, mode, type, where } for `dts credentials`
--   ctx       clock, on_warning, shared_dict (the client's; in nginx the
--             first client's serve every client that shares the cache)
function refresh.new(o)
  local ctx = o.ctx or {}
  local nginx = in_nginx()
  -- Caches that share through a lua_shared_dict and those that do not are
  -- told apart.
  local rkey = o.key and (o.key .. "|" .. (ctx.shared_dict or ""))
  if nginx and rkey and registry[rkey] then return registry[rkey] end
  local self = setmetatable({
    fetch = o.fetch, name = o.name, key = o.key,
    clock = ctx.clock or refresh.default_clock(),
    warn = ctx.on_warning or refresh.default_warning(),
    stale_at = -math.huge, waiters = 0, failures = 0,
  }, Cache)
  if nginx and o.key and ctx.shared_dict then
    self.dict = ngx.shared and ngx.shared[ctx.shared_dict]
  end
  local clock = self.clock
  local p = {}
  function p.get()
    local c = self.value
    if c and clock() < self.stale_at then return true, c end
    return self:slow()
  end
  function p.invalidate()
    self:invalidate()
    return true
  end
  function p.describe()
    local info = {}
    for k, v in pairs(o.describe and o.describe() or {}) do info[k] = v end
    info.expiration = self.value and self.value.expiration
    return info
  end
  -- For specs and `dts credentials`: the cached credential's times.
  function p.state()
    return { expiration = self.value and self.value.expiration, stale_at = self.stale_at,
      inflight = self.inflight ~= nil }
  end
  if nginx and rkey then registry[rkey] = p end
  return p
end

return refresh
