-- Hostile Lua for the C entry points: finalizers that run while a C
-- function is on the stack.  A finalizer runs at any allocation the
-- collector steps at, so C that holds a pointer into a string, or a libcurl
-- handle, across an allocation sees whatever the finalizer did: emptied
-- tables, a closed client, a nested call.
local hostile = {}

local function gc_object(on_gc)
  if newproxy then -- 5.1 and LuaJIT: only userdata have __gc
    local p = newproxy(true)
    getmetatable(p).__gc = on_gc
    return p
  end
  return setmetatable({}, { __gc = on_gc })
end

-- Whether C function fn is on the call stack (a finalizer's caller).
local function on_stack(fn)
  for level = 2, 60 do
    local info = debug.getinfo(level, "f")
    if not info then return false end
    if info.func == fn then return true end
  end
  return false
end

local function pack(...) return { n = select("#", ...), ... } end
local unpack = table.unpack or unpack

-- Calls fn(make()) `rounds` times with a collector that finalizes at nearly
-- every allocation; every finalizer that runs while target (fn unless
-- given) is on the stack calls action(args...) with that round's arguments.
-- After each round, check(results, args) judges what fn returned.  Returns
-- how many times action ran inside (a spec asserts > 0, or it proved
-- nothing).
function hostile.finalizers_inside(rounds, fn, make, action, check, target)
  target = target or fn
  local hits, args = 0, nil
  local function arm()
    gc_object(function()
      if not args then return end
      if on_stack(target) then
        hits = hits + 1
        action(unpack(args, 1, args.n))
      end
      arm() -- a fresh piece of garbage for the next step
    end)
  end
  -- A cycle starts as soon as one ends, and each step finishes it: every
  -- allocation runs a whole cycle, finalizers included, however big the
  -- heap (2^27: what one step may do, without overflowing 5.1's int
  -- arithmetic).  (5.4 caps the step multiplier at 1023, so there the
  -- step size grows instead.)
  -- lua5.4 (and busted in it) runs the generational collector: switch to
  -- the incremental one for the run, and back after.
  local lua54 = _VERSION == "Lua 5.4"
  local mode = lua54 and collectgarbage("incremental", 0, 0, 40)
  local pause = collectgarbage("setpause", 0)
  local stepmul = collectgarbage("setstepmul", lua54 and 1000 or 2 ^ 27)
  collectgarbage() -- ends with the new pause in force
  local ok, err = pcall(function()
    -- When no finalizer struck inside yet (a big heap can make one cycle
    -- span several allocations, so it may end outside target), go on for
    -- up to twenty times the rounds asked.
    local round = 0
    while round < rounds or (hits == 0 and round < 20 * rounds) do
      round = round + 1
      args = pack(make())
      arm()
      local results = pack(fn(unpack(args, 1, args.n)))
      local a = args
      args = nil
      check(results, a)
    end
  end)
  args = nil
  collectgarbage("setpause", pause)
  collectgarbage("setstepmul", stepmul)
  if lua54 then collectgarbage("incremental", 0, 0, 13) end
  if mode == "generational" then collectgarbage("generational") end
  collectgarbage()
  if not ok then error(err, 0) end
  return hits
end

-- A copy of s that is a new object (for strings Lua 5.4 does not intern).
local function copy(s)
  if type(s) ~= "string" then return s end
  return (s .. "x"):sub(1, -2)
end

-- Replaces every string key and value reachable from t (t included) by an
-- equal copy: the meaning stays, the old strings become garbage.
function hostile.refresh(t, seen)
  seen = seen or {}
  if type(t) ~= "table" or seen[t] then return end
  seen[t] = true
  local entries = {}
  for k, v in next, t do entries[#entries + 1] = { k, v } end
  for _, e in ipairs(entries) do
    hostile.refresh(e[2], seen)
    rawset(t, e[1], nil)
  end
  for _, e in ipairs(entries) do rawset(t, copy(e[1]), copy(e[2])) end
end

-- A string built at run time, longer than Lua 5.4 interns (40 bytes): a
-- new object on every call, which nothing else holds, so a spec can make
-- it garbage while C still reads it.
function hostile.long(s)
  return (s .. "-"):rep(math.ceil(48 / (#s + 1)))
end

return hostile
