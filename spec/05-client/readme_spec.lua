-- The README's parameter reference is generated from the schema, and its
-- table of credential providers from dts.credentials: they must agree, so
-- the docs never drift from what the code accepts.
local schema = require "dts.schema"

describe("README", function()
  local f = assert(io.open("README.md", "rb"))
  local readme = f:read("*a")
  f:close()

  for _, action in ipairs({ "ModifyDtsJob", "DescribeDtsJobDetail" }) do
    it("carries the schema's reference of " .. action, function()
      assert.truthy(readme:find(schema.markdown(action), 1, true),
        "regenerate with: lua5.4 -e 'package.path=\"lua/?.lua;\"..package.path "
        .. "io.write(require\"dts.schema\".markdown(\"" .. action .. "\"))'")
    end)
  end

  it("carries the table of explicit credential providers", function()
    local md = require("dts.credentials").markdown()
    assert.truthy(readme:find(md, 1, true),
      "regenerate with: lua5.4 -e 'package.path=\"lua/?.lua;lua/?/init.lua;\"..package.path "
      .. "io.write(require\"dts.credentials\".markdown())'")
  end)
end)
