rockspec_format = "3.0"
package = "lua-dts"
version = "0.2.0-1" -- as src/version.h, dts.VERSION and CHANGELOG.md (spec/05-client/version_spec.lua)
source = {
  url = "git+file:///lua-dts", -- `luarocks make` builds the checkout it runs in
}
description = {
  summary = "Alibaba Cloud Data Transmission Service (DTS) from Lua: ModifyDtsJob and friends",
  detailed = [[
    A C core signs Alibaba Cloud OpenAPI requests (V3 ACS3-HMAC-SHA256 and RPC
    V1 HMAC-SHA1, via OpenSSL) and speaks verified HTTPS (libcurl); thin Lua
    bindings and pure-Lua helpers drive ModifyDtsJob from scripts, runbooks and
    OpenResty.
  ]],
  license = "MIT",
}
-- Debian packages them as lua-cjson and lua-argparse, which luarocks
-- cannot see: install with `--deps-mode none` (README, "Install").
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson >= 2.1",
  "argparse >= 0.6", -- the dts command
}
external_dependencies = {
  OPENSSL = { header = "openssl/hmac.h", library = "crypto" },
  -- Debian keeps curl/curl.h in the multiarch include directory, which the
  -- header check does not search; the compiler finds it by itself.
  CURL = { library = "curl" },
}
-- The C modules come from the Makefile (`make rock`, `make rock-install`):
-- built under build/ so the checkout stays clean, and installed with the
-- dts command, which a Lua 5.1 (LuaJIT) install leaves to the Lua 5.4 one
-- so that both can share a tree in either order.  The Lua modules follow.
build = {
  type = "make",
  build_target = "rock",
  build_variables = {
    CC = "$(CC)", CFLAGS = "$(CFLAGS)", LIBFLAG = "$(LIBFLAG)", LUA = "$(LUA)",
    LUA_INCDIR = "$(LUA_INCDIR)", OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
    OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)", CURL_LIBDIR = "$(CURL_LIBDIR)",
  },
  install_target = "rock-install",
  install_variables = { LUA = "$(LUA)", LIBDIR = "$(LIBDIR)", BINDIR = "$(BINDIR)" },
  install = { lua = {
    ["dts"] = "lua/dts/init.lua",
    ["dts.certs"] = "lua/dts/certs.lua",
    ["dts.clock"] = "lua/dts/clock.lua",
    ["dts.cli.add_objects"] = "lua/dts/cli/add_objects.lua",
    ["dts.cli.common"] = "lua/dts/cli/common.lua",
    ["dts.cli.credentials"] = "lua/dts/cli/credentials.lua",
    ["dts.cli.describe"] = "lua/dts/cli/describe.lua",
    ["dts.cli.emulator"] = "lua/dts/cli/emulator.lua",
    ["dts.cli.modify"] = "lua/dts/cli/modify.lua",
    ["dts.cli.progress"] = "lua/dts/cli/progress.lua",
    ["dts.cli.terms"] = "lua/dts/cli/terms.lua",
    ["dts.client"] = "lua/dts/client.lua",
    ["dts.codes"] = "lua/dts/codes.lua",
    ["dts.credentials"] = "lua/dts/credentials/init.lua",
    ["dts.credentials.chain"] = "lua/dts/credentials/chain.lua",
    ["dts.credentials.cli_profile"] = "lua/dts/credentials/cli_profile.lua",
    ["dts.credentials.creds"] = "lua/dts/credentials/creds.lua",
    ["dts.credentials.ecs_ram_role"] = "lua/dts/credentials/ecs_ram_role.lua",
    ["dts.credentials.env"] = "lua/dts/credentials/env.lua",
    ["dts.credentials.ini"] = "lua/dts/credentials/ini.lua",
    ["dts.credentials.oidc"] = "lua/dts/credentials/oidc.lua",
    ["dts.credentials.ram_role_arn"] = "lua/dts/credentials/ram_role_arn.lua",
    ["dts.credentials.refresh"] = "lua/dts/credentials/refresh.lua",
    ["dts.credentials.static"] = "lua/dts/credentials/static.lua",
    ["dts.credentials.sts"] = "lua/dts/credentials/sts.lua",
    ["dts.credentials.uri"] = "lua/dts/credentials/uri.lua",
    ["dts.dblist"] = "lua/dts/dblist/init.lua",
    ["dts.dblist.grammar"] = "lua/dts/dblist/grammar.lua",
    ["dts.decode"] = "lua/dts/decode.lua",
    ["dts.emulator"] = "lua/dts/emulator/init.lua",
    ["dts.emulator.actions"] = "lua/dts/emulator/actions.lua",
    ["dts.emulator.faults"] = "lua/dts/emulator/faults.lua",
    ["dts.emulator.issuer"] = "lua/dts/emulator/issuer.lua",
    ["dts.emulator.log"] = "lua/dts/emulator/log.lua",
    ["dts.emulator.metadata"] = "lua/dts/emulator/metadata.lua",
    ["dts.emulator.params"] = "lua/dts/emulator/params.lua",
    ["dts.emulator.reply"] = "lua/dts/emulator/reply.lua",
    ["dts.emulator.server"] = "lua/dts/emulator/server.lua",
    ["dts.emulator.service"] = "lua/dts/emulator/service.lua",
    ["dts.emulator.state"] = "lua/dts/emulator/state.lua",
    ["dts.emulator.sts"] = "lua/dts/emulator/sts.lua",
    ["dts.emulator.verify"] = "lua/dts/emulator/verify.lua",
    ["dts.endpoint"] = "lua/dts/endpoint.lua",
    ["dts.errors"] = "lua/dts/errors.lua",
    ["dts.json"] = "lua/dts/json.lua",
    ["dts.nginx"] = "lua/dts/nginx.lua",
    ["dts.options"] = "lua/dts/options.lua",
    ["dts.retry"] = "lua/dts/retry.lua",
    ["dts.schema"] = "lua/dts/schema.lua",
    ["dts.status"] = "lua/dts/status.lua",
    ["dts.suggest"] = "lua/dts/suggest.lua",
    ["dts.sys"] = "lua/dts/sys.lua",
    ["dts.time"] = "lua/dts/time.lua",
    ["dts.transport"] = "lua/dts/transport/init.lua",
    ["dts.transport.cosocket"] = "lua/dts/transport/cosocket.lua",
    ["dts.transport.curl"] = "lua/dts/transport/curl.lua",
    ["dts.transport.http1"] = "lua/dts/transport/http1.lua",
    ["dts.validate"] = "lua/dts/validate.lua",
    ["dts.workflows.batches"] = "lua/dts/workflows/batches.lua",
    ["dts.workflows.interrupt"] = "lua/dts/workflows/interrupt.lua",
    ["dts.workflows.objects"] = "lua/dts/workflows/objects.lua",
    ["dts.workflows.options"] = "lua/dts/workflows/options.lua",
    ["dts.workflows.wait"] = "lua/dts/workflows/wait.lua",
  } },
}
