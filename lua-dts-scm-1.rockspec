rockspec_format = "3.0"
package = "lua-dts"
version = "scm-1"
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
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson",
}
external_dependencies = {
  OPENSSL = { header = "openssl/hmac.h", library = "crypto" },
  -- Debian keeps curl/curl.h in the multiarch include directory, which the
  -- header check does not search; the compiler finds it by itself.
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["dts.core"] = {
      sources = { "src/lua_core.c", "src/lua_json.c", "src/json_scan.c", "src/sign.c", "src/encode.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      incdirs = { "$(OPENSSL_INCDIR)" },
      libdirs = { "$(OPENSSL_LIBDIR)" },
      libraries = { "crypto" },
    },
    ["dts.curl"] = {
      sources = { "src/lua_curl.c", "src/http_curl.c" },
      defines = { "_POSIX_C_SOURCE=200809L" },
      libdirs = { "$(CURL_LIBDIR)" },
      libraries = { "curl" },
    },
    ["dts"] = "lua/dts/init.lua",
    ["dts.certs"] = "lua/dts/certs.lua",
    ["dts.clock"] = "lua/dts/clock.lua",
    ["dts.cli.add_objects"] = "lua/dts/cli/add_objects.lua",
    ["dts.cli.common"] = "lua/dts/cli/common.lua",
    ["dts.cli.describe"] = "lua/dts/cli/describe.lua",
    ["dts.cli.emulator"] = "lua/dts/cli/emulator.lua",
    ["dts.cli.modify"] = "lua/dts/cli/modify.lua",
    ["dts.client"] = "lua/dts/client.lua",
    ["dts.codes"] = "lua/dts/codes.lua",
    ["dts.credentials"] = "lua/dts/credentials.lua",
    ["dts.dblist"] = "lua/dts/dblist/init.lua",
    ["dts.dblist.grammar"] = "lua/dts/dblist/grammar.lua",
    ["dts.decode"] = "lua/dts/decode.lua",
    ["dts.emulator"] = "lua/dts/emulator/init.lua",
    ["dts.emulator.actions"] = "lua/dts/emulator/actions.lua",
    ["dts.emulator.faults"] = "lua/dts/emulator/faults.lua",
    ["dts.emulator.log"] = "lua/dts/emulator/log.lua",
    ["dts.emulator.params"] = "lua/dts/emulator/params.lua",
    ["dts.emulator.reply"] = "lua/dts/emulator/reply.lua",
    ["dts.emulator.server"] = "lua/dts/emulator/server.lua",
    ["dts.emulator.service"] = "lua/dts/emulator/service.lua",
    ["dts.emulator.state"] = "lua/dts/emulator/state.lua",
    ["dts.emulator.verify"] = "lua/dts/emulator/verify.lua",
    ["dts.endpoint"] = "lua/dts/endpoint.lua",
    ["dts.errors"] = "lua/dts/errors.lua",
    ["dts.json"] = "lua/dts/json.lua",
    ["dts.nginx"] = "lua/dts/nginx.lua",
    ["dts.retry"] = "lua/dts/retry.lua",
    ["dts.schema"] = "lua/dts/schema.lua",
    ["dts.status"] = "lua/dts/status.lua",
    ["dts.suggest"] = "lua/dts/suggest.lua",
    ["dts.sys"] = "lua/dts/sys.lua",
    ["dts.transport"] = "lua/dts/transport/init.lua",
    ["dts.transport.cosocket"] = "lua/dts/transport/cosocket.lua",
    ["dts.transport.curl"] = "lua/dts/transport/curl.lua",
    ["dts.transport.http1"] = "lua/dts/transport/http1.lua",
    ["dts.validate"] = "lua/dts/validate.lua",
    ["dts.workflows.batches"] = "lua/dts/workflows/batches.lua",
    ["dts.workflows.objects"] = "lua/dts/workflows/objects.lua",
    ["dts.workflows.wait"] = "lua/dts/workflows/wait.lua",
  },
  install = {
    bin = { dts = "bin/dts" },
  },
}
