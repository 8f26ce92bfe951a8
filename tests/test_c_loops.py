"""Library functions that loop inside one C call meet the limits: `table.move` over a huge
range, `string.rep` of an empty string a huge number of times (see safe-lua's c_loops.rs).
Their results stay Lua's own."""

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


def test_table_move_checks_its_whole_range_with_lua_messages(lupa):
    only_where_replaced(lupa)
    lua = lupa.LuaRuntime()
    with pytest.raises(lupa.LuaError, match="bad argument #3 to 'move' .too many elements"):
        lua.execute("table.move({}, -1, math.maxinteger, 1)")
    with pytest.raises(lupa.LuaError, match="bad argument #4 to 'move' .destination wrap"):
        lua.execute("table.move({}, 1, 2^40, math.maxinteger - 100)")
    with pytest.raises(lupa.LuaError, match="bad argument #1 to 'move'"):
        lua.execute("table.move(nil, 1, 2^40, 2)")
