-- The API reference cannot fall behind the code:
--
-- * docs/ is exactly what `make docs` makes from the sources now (the
--   reference, the dts(1) man page): a doc comment, an option declaration,
--   a parameter, a CLI flag changed without `make docs` fails here.
-- * Every public function has a doc comment, and every documented function
--   exists.  "Public" is read from the modules themselves: what
--   require "dts" holds, the client's and the DbList builder's methods,
--   dts.errors, dts.codes, dts.schema, dts.credentials, dts.transport,
--   dts.emulator and a running emulator's handle, dts.core, dts.curl and a
--   curl client; "documented" from LDoc's own model (tools/ldoc_model.lua).
-- * Every option of dts.new and of a call (read from the client's own
--   tables) is documented, and every documented option of dts.curl and
--   dts.emulator exists; every error kind is described.

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The sanitizer runs of spec/run preload their runtimes: not for the
-- tools (find, lua5.4, LDoc), whose exits they would judge.
local ENV = "env -u LD_PRELOAD -u LUA_PATH_5_2 -u LUA_PATH_5_4 -u LUA_CPATH_5_4 "

local function run(cmd)
  local p = assert(io.popen(ENV .. "sh -c " .. quote(cmd) .. " 2>&1; echo \"exit=$?\""))
  local out = p:read("*a")
  p:close()
  local code = tonumber(out:match("exit=(%d+)%s*$"))
  return code == 0, (out:gsub("exit=%d+%s*$", ""))
end


local function files_under(dir)
  local ok, out = run("cd " .. quote(dir) .. " && find . -type f | sort")
  assert(ok, out)
  local list = {}
  for f in out:gmatch("%./([^\n]+)") do list[#list + 1] = f end
  return list
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

local scratch

-- make docs into a scratch directory, once for this file.
local function generate()
  if scratch then return scratch end
  local dir = os.tmpname()
  os.remove(dir)
  assert(run("mkdir -p " .. quote(dir)))
  local ok, out = run("LUA_PATH='lua/?.lua;lua/?/init.lua;tools/?.lua;;' "
    .. "LUA_CPATH='build/5.4/?.so;;' lua5.4 tools/docs.lua " .. quote(dir))
  assert(ok, "tools/docs.lua failed (make docs):\n" .. out)
  scratch = dir
  return dir
end

teardown(function()
  if scratch then run("rm -rf " .. quote(scratch)) end
end)

describe("docs/", function()
  it("is what make docs makes now", function()
    local fresh = generate()
    local made, stale, missing = {}, {}, {}
    for _, f in ipairs(files_under(fresh)) do
      made[f] = true
      if read("docs/" .. f) ~= read(fresh .. "/" .. f) then stale[#stale + 1] = f end
    end
    -- Kept by hand: the copies of the project's own docs (docs/*.md).
    for _, f in ipairs(files_under("docs")) do
      if not made[f] and not f:match("^[^/]+%.md$") then missing[#missing + 1] = f end
    end
    assert.are.same({}, stale, "docs/ is out of date: run make docs and commit docs/")
    assert.are.same({}, missing, "docs/ holds files make docs no longer makes: remove them")
  end)

  it("has every page and anchor the README links to", function()
    local readme = assert(read("README.md"))
    local broken, n = {}, 0
    for target in readme:gmatch("%]%((docs/[^)%s]+)%)") do
      n = n + 1
      local file, anchor = target:match("^([^#]+)#?(.*)$")
      local page = read(file)
      if not page then
        broken[#broken + 1] = target .. " (no such file)"
      elseif anchor ~= "" and not page:find('<a name = "' .. anchor .. '">', 1, true) then
        broken[#broken + 1] = target .. " (no such anchor)"
      end
    end
    assert.is_true(n > 10, "the README links into docs/")
    assert.are.same({}, broken)
  end)

  it("has the man page, generated from bin/dts's parser", function()
    local man = assert(read("docs/dts.1"))
    assert.truthy(man:find(".TH DTS 1", 1, true))
    for _, cmd in ipairs({ "modify", "describe", "add\\-objects", "emulator", "credentials" }) do
      assert.truthy(man:find(".SS dts " .. cmd, 1, true), "no section for dts " .. cmd)
    end
  end)
end)

describe("the API reference", function()
  local dts = require "dts"
  local model -- module -> { items = { name -> { type, summary, params = { name -> true } } }, text }

  local function last(name) return (name:match("[%.:]([^%.:]+)$") or name) end

  setup(function()
    generate() -- LDoc reads the generated topic too
    local ok, out = run("LUA_PATH='tools/?.lua;;' ldoc --filter ldoc_model.dump .")
    assert(ok, "ldoc --filter failed:\n" .. out)
    model = {}
    local function mod(name)
      model[name] = model[name] or { items = {}, text = "" }
      return model[name]
    end
    for line in out:gmatch("[^\n]+") do
      local f = {}
      for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
      if f[1] == "text" then
        mod(f[2]).text = f[3] or ""
      elseif f[1] == "item" then
        mod(f[2]).items[f[3]] = { type = f[4], summary = f[5] or "", params = {} }
      elseif f[1] == "param" then
        local item = mod(f[2]).items[f[3]]
        if item then item.params[f[4]] = true end
      end
    end
  end)

  -- Whether module m documents key: as an item, as a field or parameter of
  -- one, or (a data field) named in backticks in the module's text.
  local function documented(m, key, as_function)
    local mod = model[m]
    if not mod then return false end
    for name, item in pairs(mod.items) do
      if last(name) == key and item.summary:find("%S") then return true end
    end
    if as_function then return false end
    for _, item in pairs(mod.items) do
      for p in pairs(item.params) do
        if last(p) == key or p == key then return true end
      end
    end
    return mod.text:find("`[%w_%.]*" .. key:gsub("%p", "%%%0") .. "[`%.%s]") ~= nil
  end

  -- module name -> { key -> "function" | "value" }: the public surface.
  local surface = {}
  local function add(m, t, only_functions)
    surface[m] = surface[m] or {}
    for k, v in pairs(t) do
      if type(k) == "string" and not k:match("^__") then
        if type(v) == "function" then
          surface[m][k] = "function"
        elseif not only_functions then
          surface[m][k] = surface[m][k] or "value"
        end
      end
    end
  end

  local em
  setup(function()
    add("dts", dts)
    local client = assert(dts.new{ region_id = "cn-hangzhou", access_key_id = "k", access_key_secret = "s" })
    add("dts.client", getmetatable(client), true)
    add("dts.dblist", dts.dblist)
    add("dts.errors", dts.errors)
    add("dts.schema", dts.schema)
    add("dts.codes", require "dts.codes")
    add("dts.transport", require "dts.transport")
    add("dts.credentials", require "dts.credentials")
    add("dts.core", require "dts.core")
    local curl = require "dts.curl"
    add("dts.curl", curl)
    local c = assert(curl.new{})
    add("dts.curl", getmetatable(c).__index, true)
    c:close()
    local emulator = require "dts.emulator"
    add("dts.emulator", emulator)
    em = assert(emulator.start{})
    add("dts.emulator", em)
  end)

  teardown(function()
    if em then em.stop() end
  end)

  it("has a doc comment for every public function and field", function()
    local missing = {}
    for m, keys in pairs(surface) do
      for k, what in pairs(keys) do
        if not documented(m, k, what == "function") then
          missing[#missing + 1] = m .. ": " .. k .. (what == "function" and "()" or "")
        end
      end
    end
    table.sort(missing)
    assert.are.same({}, missing, "document these (an LDoc --- comment), then make docs")
  end)

  it("documents no function that does not exist", function()
    local stale = {}
    for m, keys in pairs(surface) do
      for name, item in pairs(model[m] and model[m].items or {}) do
        if item.type == "function" and keys[last(name)] ~= "function" then
          stale[#stale + 1] = m .. ": " .. name
        end
      end
    end
    table.sort(stale)
    assert.are.same({}, stale)
  end)

  local function upvalue(f, name)
    for i = 1, 200 do
      local n, v = debug.getupvalue(f, i)
      if n == nil then break end
      if n == name then return v end
    end
    error("no upvalue " .. name .. " (the spec reads the client's own option tables)")
  end

  it("documents every option of dts.new and of a call", function()
    local client = require "dts.client"
    local new_options = upvalue(upvalue(client.new, "check_options"), "OPTIONS")
    local call_options = upvalue(upvalue(client.call, "call_options"), "CALL_OPTIONS")
    local missing = {}
    for k in pairs(new_options) do
      if not model["dts.client"].items.new.params["opts." .. k] then missing[#missing + 1] = "dts.new: " .. k end
    end
    for k in pairs(call_options) do
      if not model["dts.client"].items.modify_dts_job.params["opts." .. k] then
        missing[#missing + 1] = "modify_dts_job call option: " .. k
      end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)

  it("documents only options dts.curl and dts.emulator take", function()
    local curl, emulator = require "dts.curl", require "dts.emulator"
    local unknown = {}
    for p in pairs(model["dts.curl"].items.new.params) do
      local k = p:match("^options%.(.+)$")
      local _, err = curl.new{ [k or p] = coroutine.create(function() end) }
      if k and tostring(err and err.message):find("unknown option") then
        unknown[#unknown + 1] = "dts.curl.new: " .. k
      end
    end
    for p in pairs(model["dts.emulator"].items.start.params) do
      local k = p:match("^opts%.(.+)$")
      local _, err = emulator.start{ [k or p] = coroutine.create(function() end) }
      if k and tostring(err):find("unknown option") then unknown[#unknown + 1] = "dts.emulator.start: " .. k end
    end
    table.sort(unknown)
    assert.are.same({}, unknown)
  end)

  it("describes every error kind", function()
    local missing = {}
    for kind in pairs(require("dts.cli.common").EXIT_OF) do
      if not model["dts.errors"].text:find("`" .. kind .. "`", 1, true) then missing[#missing + 1] = kind end
    end
    table.sort(missing)
    assert.are.same({}, missing)
  end)
end)
