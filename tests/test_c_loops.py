"""Library functions that loop inside one C call meet the limits: `table.move` over a huge
range, `table.insert`/`table.remove` on a table whose `__len` reports a huge length,
`string.rep` of an empty string a huge number of times (see safe-lua's c_loops.rs).  Their
results stay Lua's own."""

import time

import pytest
from helpers import is_luau

#: Generous bound for "stops promptly" on a loaded 2-core machine (debug builds).
PROMPT = 5.0


def has_table_move(lua):
    return lua.eval("table.move ~= nil")


def puc_lua_5_3_up(lupa):
    """Where lupa-rs replaces the library's C functions (LuaJIT's table.move is Lua code and
    calls no metamethods; Luau has its own library)."""
    return lupa.LUA_VERSION >= (5, 3) and "jit" not in lupa.__name__ and not is_luau(lupa)


def only_where_replaced(lupa):
    if not puc_lua_5_3_up(lupa):
        pytest.skip("the library's own function on this flavour (PUC Lua 5.3+ only)")


def len_reaches_the_library(lupa):
    """Where `#t` in `table.insert`/`table.remove` calls `__len` (PUC Lua 5.2+; Lua 5.1,
    LuaJIT and Luau take a table's raw border)."""
    return lupa.LUA_VERSION >= (5, 2) and "jit" not in lupa.__name__ and not is_luau(lupa)


@pytest.mark.improvement
@pytest.mark.parametrize("kind", ["timeout", "instructions"])
def test_a_huge_table_move_is_stopped(lupa, kind):
    options = {"timeout": {"timeout": 0.3}, "instructions": {"max_instructions": 10**6}}
    lua = lupa.LuaRuntime(**options[kind])
    if not has_table_move(lua):
        pytest.skip("no table.move before Lua 5.3")
    started = time.monotonic()
    code = "local ok = pcall(table.move, {}, 1, 2^52, 2) return ok"
    if puc_lua_5_3_up(lupa):
        with pytest.raises(lupa.LuaLimitError):
            lua.execute(code)
    else:
        # (LuaJIT: Lua code, which the limits stop; Luau: refuses the range at once.)
        try:
            lua.execute(code)
        except lupa.LuaLimitError:
            pass
    assert time.monotonic() - started < PROMPT
    assert lua.eval("1 + 1") == 2


@pytest.mark.improvement
def test_string_rep_of_nothing_ends_at_once(lupa):
    lua = lupa.LuaRuntime(timeout=PROMPT)
    assert lua.eval("string.rep('', 2^52)") == ""
    assert lua.eval("string.rep('', 2^52, '')") == ""
    assert lua.eval("string.rep('ab', 0)") == ""
    only_where_replaced(lupa)
    assert lua.eval("string.rep('ab', 3, ',')") == "ab,ab,ab"
    with pytest.raises(lupa.LuaError, match="bad argument #1 to 'rep'"):
        lua.eval("string.rep({}, 2)")
    with pytest.raises(lupa.LuaError, match="bad argument #2 to 'rep'"):
        lua.eval("string.rep('', {})")


# A reference of the library's loop, written in Lua (lua 5.3-5.5's ltablib.c).
REFERENCE_MOVE = """
local function reference_move(a1, f, e, t, a2)
  a2 = a2 or a1
  if e >= f then
    if t > e or t <= f or a1 ~= a2 then
      for i = 0, e - f do a2[t + i] = a1[f + i] end
    else
      for i = e - f, 0, -1 do a2[t + i] = a1[f + i] end
    end
  end
  return a2
end
"""


@pytest.mark.parametrize(
    "args",
    [
        "t, 1, 40000, 7",  # overlapping, backwards
        "t, 7, 50000, 1",  # overlapping, forwards
        "t, 1, 50000, 60001",  # beyond the end
        "t, 3, 45000, 2, other",  # to another table
        "t, 1, 16384, 2",  # one slice exactly
        "t, 1, 16385, 2",  # one element more
    ],
)
def test_a_large_table_move_gives_the_librarys_result(lupa, args):
    lua = lupa.LuaRuntime()
    if not has_table_move(lua):
        pytest.skip("no table.move before Lua 5.3")
    code = (
        REFERENCE_MOVE
        + """
        local function fill() local t = {} for i = 1, 50000 do t[i] = i * 3 end return t end
        local function run(move)
          local t, other = fill(), {}
          local result = move(ARGS)
          return t, other, result
        end
        local t1, o1, r1 = run(table.move)
        local t2, o2, r2 = run(reference_move)
        for i = 1, 110000 do
          if t1[i] ~= t2[i] or o1[i] ~= o2[i] then return i end
        end
        return (r1 == t1 and r2 == t2) or (r1 == o1 and r2 == o2)
        """.replace("ARGS", args)
    )
    assert lua.execute(code) is True


def test_a_large_table_move_calls_metamethods_in_the_librarys_order(lupa):
    only_where_replaced(lupa)
    lua = lupa.LuaRuntime()
    code = (
        REFERENCE_MOVE
        + """
        local function logged(move)
          local log, store = {}, {}
          local t = setmetatable({}, {
            __index = function(_, k) log[#log + 1] = k return store[k] end,
            __newindex = function(_, k, v) log[#log + 1] = -k store[k] = v end,
          })
          move(t, 1, 20000, 3)
          return log
        end
        local a, b = logged(table.move), logged(reference_move)
        if #a ~= #b then return #a .. " ~= " .. #b end
        for i = 1, #a do if a[i] ~= b[i] then return i end end
        return true
        """
    )
    assert lua.execute(code) is True


@pytest.mark.improvement
@pytest.mark.parametrize("source", ["'abc'", "setmetatable({}, {__index = {}})"])
def test_a_huge_table_move_from_a_proxy_is_stopped(lupa, source):
    """A string reads through its metatable's `__index` table: no Lua code runs while the
    library moves its "elements"."""
    only_where_replaced(lupa)
    lua = lupa.LuaRuntime(sandbox=True, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(lupa.LuaLimitError):
        lua.execute(f"table.move({source}, 1, 2^40, 1, {{}})")
    assert time.monotonic() - started < PROMPT
    assert lua.eval("1 + 1") == 2


def test_table_move_checks_its_whole_range_with_lua_messages(lupa):
    only_where_replaced(lupa)
    lua = lupa.LuaRuntime()
    with pytest.raises(lupa.LuaError, match="bad argument #3 to 'move' .too many elements"):
        lua.execute("table.move({}, -1, math.maxinteger, 1)")
    with pytest.raises(lupa.LuaError, match="bad argument #4 to 'move' .destination wrap"):
        lua.execute("table.move({}, 1, 2^40, math.maxinteger - 100)")
    with pytest.raises(lupa.LuaError, match="bad argument #1 to 'move'"):
        lua.execute("table.move(nil, 1, 2^40, 2)")


# A table that claims to be huge: `table.insert(t, 1, v)` would shift 2^40 absent elements.
HUGE = "setmetatable({}, {__len = function() return 2^30 * 1024 end})"
# (Lua 5.2: C `int` positions, and `#t + 1` must not overflow.)
HUGE_52 = "setmetatable({}, {__len = function() return 2^31 - 2 end})"


@pytest.mark.improvement
@pytest.mark.parametrize("call", ["table.insert, t, 1, 'x'", "table.remove, t, 1"])
@pytest.mark.parametrize("kind", ["timeout", "instructions"])
def test_insert_and_remove_under_a_huge_len_are_stopped(lupa, kind, call):
    options = {"timeout": {"timeout": 0.3}, "instructions": {"max_instructions": 10**6}}
    lua = lupa.LuaRuntime(**options[kind])
    huge = HUGE_52 if lupa.LUA_VERSION == (5, 2) else HUGE
    code = f"local t = {huge} local ok = pcall({call}) return ok"
    started = time.monotonic()
    if len_reaches_the_library(lupa):
        with pytest.raises(lupa.LuaLimitError):
            lua.execute(code)
    else:
        # (`#t` is 0 there: nothing to shift.)
        assert lua.execute(code) is True
    assert time.monotonic() - started < PROMPT
    assert lua.eval("1 + 1") == 2


# The library's loops, written in Lua (ltablib.c of Lua 5.2-5.5), on a table that logs every
# access through its metamethods (Lua 5.2's functions access the table raw: the log then
# holds the calls of `__len`, and the elements are in the table itself).
REFERENCE_SHIFTS = """
local RAW = ...
local get = RAW and rawget or function(t, k) return t[k] end
local set = RAW and rawset or function(t, k, v) t[k] = v end
local function reference_insert(t, pos, v)
  local e = #t + 1
  for i = e, pos + 1, -1 do set(t, i, get(t, i - 1)) end
  set(t, pos, v)
end
local function reference_remove(t, pos)
  local size = #t
  pos = pos or size
  local result = get(t, pos)
  while pos < size do set(t, pos, get(t, pos + 1)) pos = pos + 1 end
  set(t, pos, nil)
  return result
end
local function logged(n)
  local log, store = {}, {}
  for i = 1, n do store[i] = i * 3 end
  local len = function() log[#log + 1] = "len" return n end
  if RAW then return setmetatable(store, {__len = len}), log, store end
  local t = setmetatable({}, {
    __index = function(_, k) log[#log + 1] = k return store[k] end,
    __newindex = function(_, k, v) log[#log + 1] = -k store[k] = v end,
    __len = len,
  })
  return t, log, store
end
local function same(a, b)
  local n = math.max(rawlen(a), rawlen(b))
  for i = 1, n + 1 do if rawget(a, i) ~= rawget(b, i) then return i end end
  return true
end
"""


@pytest.mark.parametrize(
    "n, pos",
    [(40000, 1), (40000, 7), (16385, 1), (16384, 1), (5, 2)],
)
def test_insert_and_remove_give_the_librarys_results_in_its_order(lupa, n, pos):
    lua = lupa.LuaRuntime()
    if not len_reaches_the_library(lupa):
        pytest.skip("`#t` ignores __len on tables here (Lua 5.1, LuaJIT, Luau)")
    code = (
        REFERENCE_SHIFTS
        + f"""
        local n, pos = {n}, {pos}
        local t1, log1, store1 = logged(n)
        local t2, log2, store2 = logged(n)
        table.insert(t1, pos, "new")
        reference_insert(t2, pos, "new")
        local inserted = same(log1, log2) == true and same(store1, store2)
        t1, log1, store1 = logged(n)
        t2, log2, store2 = logged(n)
        local r1 = table.remove(t1, pos)
        local r2 = reference_remove(t2, pos)
        local removed = same(log1, log2) == true and r1 == r2 and same(store1, store2)
        t1, log1, store1 = logged(n)
        t2, log2, store2 = logged(n)
        local last = table.remove(t1) == reference_remove(t2) and same(log1, log2)
        return inserted, removed, last
        """
    )
    assert lua.execute(code, lupa.LUA_VERSION == (5, 2)) == (True, True, True)


def test_insert_and_remove_on_plain_tables(lupa):
    lua = lupa.LuaRuntime()
    code = """
        local t = {}
        for i = 1, 40000 do table.insert(t, i) end
        table.insert(t, 1, "first")
        table.insert(t, 20000, "middle")
        local first, middle = table.remove(t, 1), table.remove(t, 19999)
        local last = table.remove(t)
        return #t, t[1], t[39999], first, middle, last, (table.remove({}))
    """
    assert lua.execute(code) == (39999, 1, 39999, "first", "middle", 40000, None)


def test_insert_and_remove_check_their_arguments_with_lua_messages(lupa):
    if not len_reaches_the_library(lupa):
        pytest.skip("the library's own functions on this flavour")
    lua = lupa.LuaRuntime()
    with pytest.raises(lupa.LuaError, match="bad argument #2 to 'insert' .position out of"):
        lua.execute("table.insert({1, 2}, 4, 'x')")
    with pytest.raises(lupa.LuaError, match="bad argument #2 to 'insert' .position out of"):
        lua.execute("table.insert({1, 2}, 0, 'x')")
    with pytest.raises(lupa.LuaError, match="wrong number of arguments to 'insert'"):
        lua.execute("table.insert({1, 2}, 1, 'x', 'y')")
    with pytest.raises(lupa.LuaError, match="bad argument #2 to 'insert'"):
        lua.execute("table.insert({1, 2}, 'a', 'x')")
    with pytest.raises(lupa.LuaError, match="bad argument #1 to 'insert'"):
        lua.execute("table.insert(nil, 1, 'x')")
    # (Lua 5.2 and 5.3 blame argument 1 for a bad position of remove, 5.4+ argument 2.)
    arg = 1 if lupa.LUA_VERSION < (5, 4) else 2
    with pytest.raises(lupa.LuaError, match=f"bad argument #{arg} to 'remove' .position out"):
        lua.execute("table.remove({1, 2}, 5)")
    with pytest.raises(lupa.LuaError, match="bad argument #1 to 'remove'"):
        lua.execute("table.remove(nil)")
    with pytest.raises(lupa.LuaError, match="object length is not an integer|not a number"):
        lua.execute("table.remove(setmetatable({}, {__len = function() return 'x' end}), 1)")
    assert lua.execute("return table.remove({1, 2}, 3)") is None
    assert lua.execute("local t = {1, 2} table.insert(t, 3, 'x') return t[3]") == "x"
