-- The workload of make bench's section 7, run under callgrind by
-- bench/run.lua: N times, evict the caches, then make one call.
--
--   footprint.lua WHAT N     WHAT: call (a whole client:modify_dts_job,
--                            answered in process), sign (core.sign as the
--                            client calls it) or none (only the eviction,
--                            subtracted from the others)
--
-- Eviction reads 1.5 MB (more than the last-level cache callgrind
-- simulates) with memchr, which no call runs,
-- so each call starts as it does in a real HTTPS loop, where the kernel's
-- and TLS's work between two calls leaves the call's code and data cold.

local root = (debug.getinfo(1, "S").source:match("^@(.*)/bench/[^/]*$")) or "."
local build = jit and "luajit" or _VERSION:match("%d+%.%d+")
package.path = ("%s/lua/?.lua;%s/lua/?/init.lua;"):format(root, root) .. package.path
package.cpath = ("%s/build/%s/?.so;"):format(root, build) .. package.cpath

local cjson = require "cjson"
local core = require "dts.core"
local dts = require "dts"

local what, n = arg[1], tonumber(arg[2]) or 100

local tables = {}
for i = 1, 10 do
  local name = ("orders_%05d"):format(i)
  tables[name] = { name = name, all = true }
end
local PARAMS = { DtsInstanceId = "dtsbench", DtsJobId = "jobbench",
  DbList = { shop = { name = "shop", all = false, Table = tables } } }
local ANSWER = '{"RequestId":"r","Success":true}'

local client = assert(dts.new{ region_id = "cn-hangzhou", access_key_id = "LTAIbench",
  access_key_secret = "bench-secret", endpoint = "127.0.0.1:9", retries = { max_attempts = 1 },
  transport = { request = function() return { status = 200, headers = {}, body = ANSWER } end,
                sleep = function() end } })
local sign_args = { scheme = "v3", method = "POST", host = "dts.cn-hangzhou.aliyuncs.com",
  path = "/", action = "ModifyDtsJob", version = "2020-01-01", access_key_id = "LTAIbench",
  access_key_secret = "bench-secret", timestamp = core.timestamp(), nonce = core.nonce(),
  query = { RegionId = "cn-hangzhou", DtsInstanceId = "dtsbench", DtsJobId = "jobbench",
            ClientToken = core.nonce() },
  body = { DbList = cjson.encode(PARAMS.DbList) }, debug_strings = false }

local calls = {
  call = function() assert(client:modify_dts_job(PARAMS)) end,
  sign = function()
    sign_args.nonce = core.nonce()
    assert(core.sign(sign_args))
  end,
  none = function() end,
}
local f = assert(calls[what], "footprint.lua: call, sign or none")
local big = ("x"):rep(1536 * 1024)
local function evict()
  if string.find(big, "y", 1, true) then error("footprint.lua: the eviction found a y") end
end
-- Interpreted under LuaJIT too: a compiled search differs from run to run
-- (with the call or without), which would leave part of it uncounted.
if jit then jit.off(evict) end
for _ = 1, 20 do f() end -- past the first calls' one-time work
for _ = 1, n do
  evict()
  f()
end
