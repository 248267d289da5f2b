#!/bin/sh
# `luarocks make` into a fresh tree for Lua 5.4 and 5.1 (LuaJIT), then load
# every module from that tree alone.  Also: every Lua file under lua/ must be
# listed in the rockspec, or an installed copy would miss it.
set -eu
tree=$(pwd)/build/rocktree
rock=lua-dts-scm-1.rockspec
rm -rf "$tree"

missing=0
for f in $(cd lua && find dts -name '*.lua' | sort); do
	m=$(echo "${f%.lua}" | sed 's#/init$##; s#/#.#g')
	grep -q "\[\"$m\"\]" "$rock" || { echo "not in $rock: $m"; missing=1; }
done
[ $missing -eq 0 ]

modules=$(cd lua && find dts -name '*.lua' | sort | sed 's#\.lua$##; s#/init$##; s#/#.#g' | tr '\n' ' ')
check() { # interpreter lua-version
	"$1" - "$tree" "$2" $modules <<'LUA'
local tree, v = arg[1], arg[2]
-- The tree, then Debian's system directories (lua-cjson), never the checkout.
package.path = tree .. "/share/lua/" .. v .. "/?.lua;" .. tree .. "/share/lua/" .. v .. "/?/init.lua;"
  .. "/usr/share/lua/" .. v .. "/?.lua;/usr/share/lua/" .. v .. "/?/init.lua"
package.cpath = tree .. "/lib/lua/" .. v .. "/?.so;/usr/lib/x86_64-linux-gnu/lua/" .. v .. "/?.so"
assert(require("dts.core").sign, "dts.core")
assert(require("dts.curl").new, "dts.curl")
for i = 3, #arg do assert(require(arg[i]), arg[i]) end
print(_VERSION .. (jit and " (" .. jit.version .. ")" or "") .. ": every module loads from " .. tree)
LUA
}

for v in 5.4 5.1; do
	luarocks --lua-version "$v" --tree "$tree" make --deps-mode none "$rock"
done
check lua5.4 5.4
check lua5.1 5.1
check luajit 5.1
rm -rf src/*.o dts  # luarocks builds in the checkout
