-- What a long command shows while it works: batch progress and waiting for
-- a job to settle.  All of it goes to stderr, so stdout holds the result
-- alone (plain words or the --json document); --quiet shows none of it.
-- On a terminal one line redraws itself; otherwise plain lines, each with
-- something new, so a log stays short.

local clock = require "dts.clock"

local progress = {}

-- Whether stderr is a terminal (the shell's test: no C needed).
function progress.tty()
  local ok = os.execute("[ -t 2 ]")
  return ok == true or ok == 0
end

local function write(...)
  io.stderr:write(...)
  io.stderr:flush()
end

local CLEAR = "\r\27[K" -- back to the start of the line, erase it

-- on_progress for add_objects_in_batches: a bar on a terminal, a line per
-- batch otherwise; nil with --quiet.
function progress.batches(args, tty)
  if args.quiet then return nil end
  if tty == nil then tty = progress.tty() end
  return function(p)
    if tty then
      local width = 30
      local filled = math.floor(width * p.done / p.total)
      write(("\r[%s%s] %d/%d %s, batch %d/%d"):format(("#"):rep(filled),
        ("."):rep(width - filled), p.done, p.total, p.total == 1 and "object" or "objects",
        p.batch, p.batches))
      if p.done == p.total then write("\n") end
    else
      write(("batch %d/%d: %d/%d %s (%d added)\n"):format(p.batch, p.batches,
        p.done, p.total, p.total == 1 and "object" or "objects", #p.added))
    end
  end
end

-- How often a plain (not terminal) waiting line repeats an unchanged status.
progress.EVERY = 30

-- on_status for a workflow that waits for job id to settle, and done(),
-- which ends the display (on a terminal the status line is erased, so the
-- result that follows starts on a clean line).  Both do nothing with
-- --quiet.  The line: "waiting for job J: Modifying (12 s)".
function progress.waiting(args, id, tty)
  if args.quiet then return nil, function() end end
  if tty == nil then tty = progress.tty() end
  local start, shown, last_status, last_line = nil, false, nil, nil
  local function on_status(status)
    local now = clock.now()
    start = start or now
    local waited = math.floor(now - start)
    local line = ("waiting for job %s: %s (%d s)"):format(id, tostring(status), waited)
    if tty then
      write(CLEAR, line)
      shown = true
    elseif last_line == nil or status ~= last_status or now - last_line >= progress.EVERY then
      write(line, "\n")
      last_line = now
    end
    last_status = status
  end
  local function done()
    if shown then write(CLEAR) end
    shown = false
  end
  return on_status, done
end

return progress
