-- One version: src/version.h holds it; dts.VERSION, dts.core._VERSION,
-- `dts --version`, the rockspec (its name and its version field) and the
-- first heading of CHANGELOG.md must all say the same.
local dts = require "dts"

local LUA = jit and "luajit" or ("lua" .. _VERSION:match("%d+%.%d+"))

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

describe("the version", function()
  local version = read("src/version.h"):match('#define DTS_VERSION "([^"]+)"')

  it("is a release number in src/version.h", function()
    assert.matches("^%d+%.%d+%.%d+$", version)
  end)

  it("is dts.VERSION and dts.core._VERSION", function()
    assert.are.equal(version, dts.VERSION)
    assert.are.equal(version, require("dts.core")._VERSION)
  end)

  it("is what dts --version prints", function()
    local p = io.popen("unset LD_PRELOAD; " .. LUA .. " bin/dts --version 2>&1; echo \"exit=$?\"")
    local out = p:read("*a")
    p:close()
    assert.are.equal("dts " .. version .. " (" .. (jit and jit.version or _VERSION) .. ")\nexit=0\n", out)
  end)

  it("is the rockspec's, in its name and its version field", function()
    local p = io.popen("ls *.rockspec")
    local names = p:read("*a")
    p:close()
    local name = names:match("^(%S+)\n$")
    assert.truthy(name, "expected exactly one rockspec, found: " .. names)
    local from_name, revision = name:match("^lua%-dts%-(.+)%-(%d+)%.rockspec$")
    assert.are.equal(version, from_name)
    assert.truthy(read(name):find('\nversion = "' .. version .. "-" .. revision .. '"', 1, true))
  end)

  it("heads CHANGELOG.md", function()
    assert.are.equal(version, read("CHANGELOG.md"):match("\n## (%S+)"))
  end)
end)
