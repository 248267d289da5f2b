-- `make demo`: start the local DTS emulator, run examples/add_objects.lua
-- against it as a user would (configuration through the environment, the
-- same variables `eval "$(dts emulator --print-env)"` sets), stop.
local emulator = require "dts.emulator"

local function say(fmt, ...) io.write(fmt:format(...), "\n") io.flush() end

local function quote(s) return "'" .. tostring(s):gsub("'", [['\'']]) .. "'" end

say("Starting the local DTS emulator (nginx on 127.0.0.1, HTTPS with a certificate made just now)...")
local em = assert(emulator.start{ modifying_seconds = 2 })
say("It listens at %s with one job, %s on instance %s.", em.url, "dtsdemojob00001", "dtsdemoinstance01")
say("(In a shell, `eval \"$(dts emulator --print-env)\"` starts it and sets the same variables.)")
say("")

local env = {
  ALIBABA_CLOUD_ACCESS_KEY_ID = em.access_key_id,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET = em.access_key_secret,
  ALIBABA_CLOUD_REGION_ID = "cn-hangzhou",
  ALIBABA_CLOUD_ENDPOINT = em.endpoint,
  DTS_CA_FILE = em.ca_file,
  DTS_JOB_ID = "dtsdemojob00001",
  DTS_INSTANCE_ID = "dtsdemoinstance01",
  DTS_POLL_SECONDS = "1",
}
local cmd = { "unset ALIBABA_CLOUD_SECURITY_TOKEN;" }
for k, v in pairs(env) do cmd[#cmd + 1] = k .. "=" .. quote(v) end
local lua = arg[-1] or "lua"
cmd[#cmd + 1] = quote(lua) .. " examples/add_objects.lua dtstestdata.orders dtstestdata.invoices"
say("$ lua examples/add_objects.lua dtstestdata.orders dtstestdata.invoices")
local ok = os.execute(table.concat(cmd, " "))
say("")

local applied = 0
for _, r in ipairs(em.requests()) do
  if r.applied and not r.replayed then applied = applied + 1 end
end
say("The emulator saw %d requests (read, change, status checks) and applied %d change.",
  #em.requests(), applied)
em.stop()
say("Emulator stopped.")
os.exit((ok == true or ok == 0) and 0 or 1)
