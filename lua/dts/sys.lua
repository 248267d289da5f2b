-- The few operating-system chores that the launcher, the certificates, the
-- emulator and the workflows share: shell quoting, running a script, and
-- reading and writing whole files (writes go aside, then are renamed, so a
-- reader or a crash never leaves half a file).

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

function sys.write_file(path, data)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then
    return nil, err
  end
  local ok, werr = f:write(data)
  f:close()
  if not ok then
    os.remove(tmp)
    return nil, werr
  end
  return os.rename(tmp, path)
end

return sys
