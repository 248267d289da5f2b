-- The few operating-system chores that the launcher, the certificates, the
-- emulator and the workflows share: shell quoting, running a script, and
-- reading and writing whole files (writes go aside, every step checked,
-- then are renamed, so a reader, a crash or a full disk never leaves half
-- a file).

local sys = {}

function sys.quote(s)
  return "'" .. tostring(s):gsub("'", [['\'']]) .. "'"
end

-- Runs a bash script; true and its output, or nil and its output.  The
-- exit status is read from the output because os.execute and
-- io.popen():close() report it differently in 5.1/LuaJIT and 5.2+.  A
-- sanitizer runtime preloaded into the interpreter under test must not
-- follow into the tools started here: LeakSanitizer fails them for their
-- own leaks.
function sys.run(script)
  local pipe = io.popen("unset LD_PRELOAD; bash -c " .. sys.quote(script) ..
                        " 2>&1; echo \"exit=$?\"")
  local out = pipe:read("*a")
  pipe:close()
  local text, status = out:match("^(.-)exit=(%d+)%s*$")
  text = (text or out):gsub("%s+$", "")
  if status == "0" then
    return true, text
  end
  return nil, text
end

-- os.execute's result as an exit code, or nil when killed by a signal:
-- 5.2+ return (ok, "exit"|"signal", n), 5.1 and LuaJIT the wait status.
function sys.exit_code(a, how, n)
  if type(a) == "number" then
    if a % 256 == 0 then
      return a / 256
    end
    return nil
  end
  if how == "exit" then
    return n
  end
  return nil
end

function sys.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then
    return nil, err
  end
  local data = f:read("*a")
  f:close()
  return data
end

-- fsync by name: dts.curl's (plain Lua only: nginx never loads libcurl).
local function fsync_function()
  if rawget(_G, "ngx") then
    return nil, "durable writes need dts.curl's fsync, which is never loaded inside nginx"
  end
  local ok, curl = pcall(require, "dts.curl")
  if not ok or type(curl.fsync) ~= "function" then
    return nil, "durable writes need dts.curl's fsync: " .. tostring(curl)
  end
  return curl.fsync
end

local function dir_of(path)
  local dir = path:match("^(.*)/[^/]*$")
  if dir == nil then return "." end
  return dir == "" and "/" or dir
end

-- write_file(path, data [, { durable = true }]) -> true | nil, message
-- Written aside, then renamed, so a reader or a crash never sees half a
-- file.  Every step is checked (a full disk shows at flush or close, not
-- at write): on any failure the old file stays as it was and the
-- temporary one goes.  durable: the data is fsynced before the rename and
-- the directory after it, so the new file survives a power cut (for
-- checkpoints).
function sys.write_file(path, data, opts)
  local fsync, err
  if opts and opts.durable then
    fsync, err = fsync_function()
    if not fsync then return nil, err end
  end
  local tmp = path .. ".tmp"
  local f
  f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  local ok
  ok, err = f:write(data)
  if ok then ok, err = f:flush() end
  local closed, cerr = f:close()
  if ok and not closed then ok, err = nil, cerr end
  if ok and fsync then ok, err = fsync(tmp) end
  if ok then ok, err = os.rename(tmp, path) end
  if not ok then
    os.remove(tmp)
    return nil, err
  end
  if fsync then
    ok, err = fsync(dir_of(path))
    if not ok then return nil, err .. " (the new file is in place; its directory may not be on disk yet)" end
  end
  return true
end

return sys
