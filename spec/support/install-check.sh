#!/bin/sh
# README.md's install commands, verbatim (read from README.md, so the two
# cannot drift), each into a fresh luarocks tree: in the README's order and
# in the other one.  Then, from each tree alone: `dts --version` (the Lua 5.4
# install owns bin/dts, in either order, and nothing is backed up), every
# module under lua5.4 and LuaJIT, and `dts emulator` with a `dts describe`
# against it.  luarocks may warn of nothing but the two Debian packages it
# cannot see (README.md says why), and the checkout must be left as it was.
# Also: every Lua file under lua/ is listed in the rockspec, or an installed
# copy would miss it.
set -eu
checkout=$(pwd)
work=$checkout/build/install-check
rock=$(ls ./*.rockspec)
version=$(sed -n 's/^#define DTS_VERSION "\(.*\)"$/\1/p' src/version.h)
rm -rf "$work"
mkdir -p "$work"

fail() { echo "install check: $*"; exit 1; }

missing=0
for f in $(cd lua && find dts -name '*.lua' | sort); do
	m=$(echo "${f%.lua}" | sed 's#/init$##; s#/#.#g')
	grep -q "\[\"$m\"\]" "$rock" || { echo "not in $rock: $m"; missing=1; }
done
[ $missing -eq 0 ] || fail "modules missing from the rockspec"
modules=$(cd lua && find dts -name '*.lua' | sort | sed 's#\.lua$##; s#/init$##; s#/#.#g' | tr '\n' ' ')

# The luarocks lines of the first sh block under "## Install".
installs=$(awk '/^## Install/ { s = 1 } s && /^```sh/ { b = 1; next } b && /^```/ { exit } b' README.md |
	grep '^luarocks ')
[ "$(echo "$installs" | wc -l)" -eq 2 ] || fail "expected two luarocks lines in README.md's Install, got: $installs"

status() { git status --porcelain --ignored --untracked-files=all 2>/dev/null | grep -v '^!! build/' || true; }
before=$(status)

# A fresh tree, where luarocks installs as root would install into /usr/local.
fresh() { # dir
	mkdir -p "$1/home"
	printf 'rocks_trees = { [[%s/tree]] }\n' "$1" >"$1/luarocks.lua"
}
in_tree() { # dir command...
	d=$1
	shift
	env HOME="$d/home" XDG_CONFIG_HOME="$d/home/.config" LUAROCKS_CONFIG="$d/luarocks.lua" \
		PATH="$d/tree/bin:$PATH" "$@"
}

check_tree() { # dir
	d=$1
	t=$d/tree
	out=$(in_tree "$d" dts --version) || fail "dts --version: $out"
	[ "$out" = "dts $version (Lua 5.4)" ] || fail "dts --version says: $out"
	[ "$(ls "$t/bin")" = dts ] || fail "bin/ holds: $(ls "$t/bin")"
	for lua in lua5.4 luajit; do
		v=5.4
		[ $lua = luajit ] && v=5.1
		(cd "$d" && LUA_PATH="$t/share/lua/$v/?.lua;$t/share/lua/$v/?/init.lua;;" \
			LUA_CPATH="$t/lib/lua/$v/?.so;;" "$lua" - "$t" "$version" $modules <<'LUA'
local tree, version = arg[1], arg[2]
for i = 3, #arg do
  local where = assert(package.searchpath(arg[i], package.path) or package.searchpath(arg[i], package.cpath), arg[i])
  assert(where:sub(1, #tree) == tree, arg[i] .. " from " .. where)
  assert(require(arg[i]), arg[i])
end
assert(require("dts.core").sign and require("dts.curl").new, "C modules")
assert(require("dts").VERSION == version, "dts.VERSION")
print((jit and jit.version or _VERSION) .. ": every module loads from " .. tree)
LUA
		) || fail "modules under $lua"
	done
	out=$(in_tree "$d" sh -c 'cd "$1" &&
		eval "$(dts emulator --print-env)" &&
		dts describe --dts-job-id dtsdemojob00001; rc=$?
		eval "$(dts emulator --stop)"; exit $rc' sh "$d" 2>&1) || fail "dts emulator: $out"
	echo "$out" | grep -q 'is synchronizing' || fail "dts describe against dts emulator: $out"
}

install() { # dir line
	out=$(in_tree "$1" sh -c "$2" 2>&1) || fail "$2: $out"
	# Only what README.md explains: the two Debian packages luarocks cannot see.
	warnings=$(echo "$out" | grep -v -e '^Missing dependencies for lua-dts' \
		-e '^   lua-cjson >= 2.1 (not installed)$' -e '^   argparse >= 0.6 (not installed)$' |
		grep -i -e warn -e missing -e 'not installed' -e error || true)
	[ -z "$warnings" ] || fail "$2 says: $warnings"
}

first=$(echo "$installs" | sed -n 1p)
second=$(echo "$installs" | sed -n 2p)
for order in readme reversed; do
	d=$work/$order
	fresh "$d"
	if [ $order = readme ]; then
		install "$d" "$first"
		install "$d" "$second"
	else
		install "$d" "$second"
		install "$d" "$first"
	fi
	check_tree "$d"
	echo "$order order: dts --version, lua5.4, LuaJIT and dts emulator work from $d/tree"
done

after=$(status)
[ "$before" = "$after" ] || fail "the checkout changed: $(echo "$after" | diff /dev/stdin /dev/null | head)"
rm -rf "$work"
echo "the checkout is as it was"
