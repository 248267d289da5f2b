-- An LDoc filter (`ldoc --filter ldoc_model.dump .`): what LDoc documented,
-- one line per item, for spec/10-docs to compare with the modules
-- themselves.  Runs inside LDoc (its Lua, its model):
--
--   item <TAB> module <TAB> name <TAB> type <TAB> summary
--   param <TAB> module <TAB> name <TAB> parameter or field name
--   text <TAB> module <TAB> the module's description on one line

local M = {}

local function one_line(s)
  return (tostring(s or ""):gsub("%s+", " "))
end

function M.dump(modules)
  local out = {}
  for mod in modules:iter() do
    out[#out + 1] = table.concat({ "text", mod.name, one_line((mod.summary or "") .. " "
      .. (mod.description or "")) }, "\t")
    for item in mod.items:iter() do
      out[#out + 1] = table.concat({ "item", mod.name, item.name, item.type, one_line(item.summary) }, "\t")
      for _, p in ipairs(item.params or {}) do
        for _, sub in ipairs((item.subparams or {})[p] or { p }) do
          out[#out + 1] = table.concat({ "param", mod.name, item.name, tostring(sub) }, "\t")
        end
      end
    end
  end
  io.write(table.concat(out, "\n"), "\n")
end

return M
