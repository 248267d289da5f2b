-- make docs: the API reference and the dts(1) man page.
--
--   lua5.4 tools/docs.lua OUT     (make docs: OUT = docs)
--
-- 1. The tables that have a declaration in the code are derived from it,
--    into build/docs/gen/, never written by hand: the parameters of each
--    action (dts.schema), the workflows' and the DbList builder's options
--    (dts.workflows.options, dts.dblist.OPTIONS), the credential types
--    (dts.credentials.TYPES), the error codes (dts.codes, dts.status).
--    The doc comments pull them in with @include (a module) or @options
--    (a function; config.ld defines the tag).
-- 2. The dts command's man page OUT/dts.1, and the same as an LDoc topic,
--    from the parser bin/dts builds (tools/cli_doc.lua).
-- 3. LDoc (config.ld) renders the doc comments into OUT.
--
-- Nothing here depends on the time or the machine: spec/10-docs runs this
-- into a scratch directory and compares it with the committed docs/.

local cli_doc = require "cli_doc"

local out = arg[1] or "docs"
local GEN = "build/docs/gen"

local function sh(cmd)
  local ok, how, code = os.execute(cmd)
  if ok == true or ok == 0 then return true end
  io.stderr:write("tools/docs.lua: failed (", tostring(how), " ", tostring(code), "): ", cmd, "\n")
  os.exit(1)
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  assert(f:close())
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

sh("mkdir -p " .. quote(GEN) .. " " .. quote(out))

-- ---- 1. tables from declarations ----

local schema = require "dts.schema"
for _, action in ipairs({ "ModifyDtsJob", "DescribeDtsJobDetail" }) do
  write(GEN .. "/schema-" .. action .. ".md", schema.markdown(action))
end

local options = require "dts.options"
local workflows = require "dts.workflows.options"
for name, spec in pairs(workflows) do
  write(GEN .. "/options-" .. name .. ".md", options.markdown(spec))
end
for name, spec in pairs(require("dts.dblist").OPTIONS) do
  write(GEN .. "/options-" .. name .. ".md", options.markdown(spec))
end

-- One section per credential type: what it is, then its fields.
do
  local types = require("dts.credentials").TYPES
  local md = {}
  for _, t in ipairs(sorted_keys(types)) do
    local def = types[t]
    md[#md + 1] = ('#### `type = "%s"`: %s\n'):format(t, def.doc)
    md[#md + 1] = "| field | type | |"
    md[#md + 1] = "|---|---|---|"
    for _, k in ipairs(sorted_keys(def.fields)) do
      local f = def.fields[k]
      md[#md + 1] = ("| `%s` | %s | %s%s |"):format(k, f[1], f.required and "**required.** " or "", f.doc or "")
    end
    md[#md + 1] = ""
  end
  write(GEN .. "/credential-types.md", table.concat(md, "\n"))
end

-- The service's codes as the client classifies them, and the statuses a
-- workflow reports as JobStatus.<status>: any but the running one, and
-- but Modifying, which the workflows wait out.
do
  local codes = require("dts.codes").codes
  local md = { "| code | HTTP status | kind | retried | the service's message |", "|---|---|---|---|---|" }
  for _, code in ipairs(sorted_keys(codes)) do
    local c = codes[code]
    md[#md + 1] = ("| `%s` | %d | `%s` | %s | %s |"):format(code, c.status, c.kind or "api",
      c.retryable and "yes" or "no", (c.message:gsub("|", "\\|")))
  end
  write(GEN .. "/codes.md", table.concat(md, "\n") .. "\n")
  local status = require "dts.status"
  local list = {}
  for _, s in ipairs(status.ALL) do
    if not status.running(s) and not status.is(s, "Modifying") then
      list[#list + 1] = ("`JobStatus.%s`%s"):format(s, status.terminal(s) and " (terminal)" or "")
    end
  end
  write(GEN .. "/job-status.md", table.concat(list, ", ") .. ".\n")
end

-- ---- 2. the dts command ----

local parser = assert(cli_doc.parser("bin/dts"))
local version = require("dts").VERSION
write(out .. "/dts.1", cli_doc.man(parser, version))
write(GEN .. "/dts.md", cli_doc.markdown(parser, version))

-- ---- 3. LDoc ----

-- Pages of modules or topics that are gone must not stay behind.
sh("rm -rf " .. quote(out .. "/modules") .. " " .. quote(out .. "/topics"))
sh("ldoc -q --fatalwarnings -d " .. quote(out) .. " . >/dev/null")
