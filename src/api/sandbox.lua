-- Turns the globals of a new runtime into the sandbox of LuaRuntime(sandbox=True).
-- Run once, by api/sandbox.rs, before any other Lua code; everything it needs is captured
-- in locals first, so that what scripts do later to the globals changes nothing here.
local G, pairs, next, type, select = _G, pairs, next, type, select
local byte, concat = string.byte, table.concat
local original_load, original_loadstring = load, loadstring
local luajit = G.jit ~= nil
local lua51 = _VERSION == "Lua 5.1" and not luajit

-- The globals that stay (those a flavour lacks stay absent).
local keep = {}
for name in ("assert error getmetatable ipairs next pairs pcall rawequal rawget rawlen rawset "
    .. "select setmetatable tonumber tostring type unpack xpcall _G _VERSION load loadstring "
    .. "string table math utf8 coroutine bit32 bit os typeof buffer vector"):gmatch("%S+") do
  keep[name] = true
end
local remove = {}
for name in pairs(G) do
  if not keep[name] then remove[#remove + 1] = name end
end
for i = 1, #remove do G[remove[i]] = nil end

string.dump = nil
local os_kept = { time = true, clock = true, date = true, difftime = true }
for name in pairs(os) do
  if not os_kept[name] then os[name] = nil end
end
-- Scripts get neither the string metatable nor that of Python objects (their `__index`).
getmetatable("").__metatable = false
local python_object_metatable = ...
python_object_metatable.__metatable = false

-- `load` for text only (bytecode is not verified by Lua and can corrupt memory).  The
-- default environment of loaded code is these globals.  (Luau has neither function: its
-- source is compiled by the host; api/sandbox.rs then applies Luau's own sandbox.)
if original_load == nil and original_loadstring == nil then
  -- Luau.
elseif lua51 then
  local function text_only(s, chunkname)
    if type(s) == "string" and byte(s, 1) == 27 then
      return nil, "attempt to load a binary chunk (mode is 't')"
    end
    return original_loadstring(s, chunkname)
  end
  G.loadstring = text_only
  local load = original_load  -- (the name Lua's errors give)
  G.load = function(reader, chunkname)
    if type(reader) ~= "function" then return load(reader, chunkname) end
    local parts = {}
    while true do
      local piece = reader()
      if piece == nil or piece == "" then break end
      if type(piece) ~= "string" then return nil, "reader function must return a string" end
      parts[#parts + 1] = piece
    end
    return text_only(concat(parts), chunkname)
  end
else
  G.load = function(chunk, chunkname, mode, ...)
    if select("#", ...) > 0 then return original_load(chunk, chunkname, "t", ...) end
    return original_load(chunk, chunkname, "t")
  end
  if original_loadstring then
    G.loadstring = function(s, chunkname) return original_load(s, chunkname, "t") end
  end
end
