-- A DbList builder (dts-api.md section 3): start from a job's current
-- objects, add or remove databases and tables, merge, diff, validate.
--
--   local dbl = dts.dblist.new(job.db_object)      -- or JSON text, or nothing
--   dbl:add_table("shop", "orders", { filter = "id > 10" })
--   local ok, err = dbl:validate()                 -- grammar + the 1 MB limit
--   client:modify_dts_job{ ..., DbList = dbl:to_table() }
--
-- Objects are named "db" (a whole database) or "db.table"; comparisons are
-- by meaning: key order and keys the service adds (such as "state") do
-- not count.

local grammar = require "dts.dblist.grammar"
local json = require "dts.json"

local MAX_BYTES = 1024 * 1024

local dblist = {}
dblist.__index = dblist

-- Keys the service adds to DbObject; never a difference.
local SERVER_KEYS = { state = true }

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- v without server-added keys, for comparison.
local function meaning(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do
    if not SERVER_KEYS[k] then t[k] = meaning(x) end
  end
  return t
end

local same = json.equal

-- dblist.new([existing]) -> builder | nil, err.  existing: a table (copied)
-- or JSON text, e.g. DescribeDtsJobDetail's DbObject.
function dblist.new(existing)
  local t = existing
  if type(existing) == "string" then
    local err
    t, err = json.decode(existing)
    if type(t) ~= "table" then return nil, "DbList: not a JSON object: " .. tostring(err) end
  elseif existing ~= nil and type(existing) ~= "table" then
    return nil, "DbList: expected a table or JSON text, got " .. type(existing)
  end
  return setmetatable({ dbs = copy(t or {}) }, dblist)
end

function dblist.is(v)
  return getmetatable(v) == dblist
end

local function check_name(what, name)
  if type(name) ~= "string" or name == "" then
    return nil, what .. ": expected a non-empty name, got " .. type(name)
  end
  return true
end

-- The whole database.  opts: name (destination), dml_op, ddl_op.
function dblist:add_database(db, opts)
  local ok, err = check_name("database", db)
  if not ok then return nil, err end
  opts = opts or {}
  local entry = self.dbs[db] or {}
  entry.name = opts.name or entry.name or db
  entry.all = true
  entry.Table = nil
  entry.dml_op, entry.ddl_op = opts.dml_op or entry.dml_op, opts.ddl_op or entry.ddl_op
  self.dbs[db] = entry
  return self
end

-- One table.  opts: name (destination table), db_name (destination
-- database, for a new database entry), filter (SQL condition), columns
-- (list of names, or map of source -> destination name), dml_op, ddl_op.
-- A table inside a database taken whole is already covered: nothing changes.
function dblist:add_table(db, tname, opts)
  local ok, err = check_name("database", db)
  if not ok then return nil, err end
  ok, err = check_name("table", tname)
  if not ok then return nil, err end
  opts = opts or {}
  local entry = self.dbs[db]
  if entry and entry.all == true then return self end
  entry = entry or { name = opts.db_name or db, all = false }
  entry.Table = entry.Table or {}
  local t = { name = opts.name or tname, all = opts.columns == nil }
  if opts.filter then t.filter = opts.filter end
  if opts.columns then
    t.column = {}
    for k, v in pairs(opts.columns) do
      if type(k) == "number" then
        t.column[v] = { name = v }
      else
        t.column[k] = { name = v }
      end
    end
  end
  t.dml_op, t.ddl_op = opts.dml_op, opts.ddl_op
  entry.Table[tname] = t
  self.dbs[db] = entry
  return self
end

-- Removing the last table of a database removes the database entry.
function dblist:remove_table(db, tname)
  local entry = self.dbs[db]
  if not entry or not entry.Table or not entry.Table[tname] then return self end
  entry.Table[tname] = nil
  if next(entry.Table) == nil and entry.all ~= true then self.dbs[db] = nil end
  return self
end

function dblist:remove_database(db)
  self.dbs[db] = nil
  return self
end

local function tables_of(other)
  return dblist.is(other) and other.dbs or other
end

-- Adds what other has and self lacks; an entry both have is left as self
-- has it (merge never changes or drops an existing object).
function dblist:merge(other)
  for db, entry in pairs(tables_of(other) or {}) do
    local mine = self.dbs[db]
    if not mine then
      self.dbs[db] = copy(entry)
    elseif mine.all ~= true then
      if entry.all == true then
        mine.all, mine.Table = true, nil
      else
        mine.Table = mine.Table or {}
        for tname, t in pairs(entry.Table or {}) do
          if mine.Table[tname] == nil then mine.Table[tname] = copy(t) end
        end
      end
    end
  end
  return self
end

-- Every object, as "db" (taken whole) or "db.table", with its entry.
local function objects(dbs)
  local out = {}
  for db, entry in pairs(dbs) do
    if entry.all == true then
      local whole = {}
      for k, v in pairs(entry) do
        if k ~= "Table" then whole[k] = v end
      end
      out[db] = whole
    else
      local head = {}
      for k, v in pairs(entry) do
        if k ~= "Table" then head[k] = v end
      end
      for tname, t in pairs(entry.Table or {}) do
        out[db .. "." .. tname] = { db = head, table = t }
      end
    end
  end
  return out
end

-- The objects' names, sorted.
function dblist:names()
  local out = {}
  for name in pairs(objects(self.dbs)) do out[#out + 1] = name end
  table.sort(out)
  return out
end

-- diff(other) -> { added = {...}, removed = {...}, changed = {...} }: what
-- sending other instead of self would do, object names sorted.
function dblist:diff(other)
  local mine, theirs = objects(self.dbs), objects(tables_of(other) or {})
  local d = { added = {}, removed = {}, changed = {} }
  for name, entry in pairs(theirs) do
    if mine[name] == nil then
      d.added[#d.added + 1] = name
    elseif not same(meaning(mine[name]), meaning(entry)) then
      d.changed[#d.changed + 1] = name
    end
  end
  for name in pairs(mine) do
    if theirs[name] == nil then d.removed[#d.removed + 1] = name end
  end
  table.sort(d.added)
  table.sort(d.removed)
  table.sort(d.changed)
  return d
end

-- Whether every object of other is in self with the same meaning.
function dblist:contains(other)
  local mine = objects(self.dbs)
  for name, entry in pairs(objects(tables_of(other) or {})) do
    if mine[name] == nil or not same(meaning(mine[name]), meaning(entry)) then
      return false, name
    end
  end
  return true
end

function dblist:to_table()
  return copy(self.dbs)
end

function dblist:to_json()
  return json.encode(self.dbs, "DbList")
end

-- validate() -> true, size | nil, message: the grammar and the 1 MB limit,
-- with the exact encoded size.
function dblist:validate()
  local text, err = grammar.encode(self.dbs, "DbList")
  if not text then return nil, err end
  if #text > MAX_BYTES then
    return nil, ("DbList: %d bytes of JSON, over the %d-byte (1 MB) limit"):format(#text, MAX_BYTES), #text
  end
  return true, #text
end

return dblist
