"""Deep recursion across the Python/Lua boundary ends in a Python exception, not a crash.

Every level of Python -> Lua -> Python nesting uses C stack.  PUC Lua stops at about 100
levels with "C stack overflow"; LuaJIT and chains of coroutines have no such check, so lupa-rs
limits the nesting itself (upstream lupa segfaults on LuaJIT once Python's recursion limit is
raised).
"""

import sys

import pytest


@pytest.fixture
def high_recursion_limit():
    """Python's own recursion limit must not be what stops the recursion."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(100_000)
    yield
    sys.setrecursionlimit(old)


def _recurse_through(lua, lua_code):
    call_lua = lua.eval(lua_code)
    depth = []

    def call_python(n):
        depth.append(n)
        return call_lua(call_python, n + 1)

    with pytest.raises((lupa_errors(lua), RecursionError)) as exc_info:
        call_python(0)
    return depth, exc_info.value


def lupa_errors(lua):
    return sys.modules[type(lua).__module__].LuaError


def test_python_lua_python_recursion_raises(lua):
    depth, _ = _recurse_through(lua, "function(py, n) return py(n) end")
    assert len(depth) > 50


def test_recursion_with_raised_python_limit_raises(lua, high_recursion_limit):
    depth, error = _recurse_through(lua, "function(py, n) return py(n) end")
    assert "stack overflow" in str(error)
    assert 50 < len(depth) <= 1000


def test_recursion_through_coroutines_raises(lua, high_recursion_limit):
    depth, error = _recurse_through(
        lua, "function(py, n) return coroutine.wrap(function() return py(n) end)() end"
    )
    assert "stack overflow" in str(error)
    assert len(depth) > 50


def test_recursion_through_table_access_raises(lua, high_recursion_limit):
    """Nested entries through __index metamethods count as well."""
    lupa = sys.modules[type(lua).__module__]
    table = lua.eval("setmetatable({}, {__index = function(t, k) return python_get(k) end})")

    def python_get(n):
        return table[n + 1]

    lua.globals().python_get = python_get
    with pytest.raises((lupa.LuaError, RecursionError)):
        table[0]


def test_runtime_usable_after_deep_recursion(lua, high_recursion_limit):
    _recurse_through(lua, "function(py, n) return py(n) end")
    assert lua.eval("1 + 1") == 2
    assert lua.eval("function(f) return f() end")(lambda: 42) == 42


def test_deep_lua_recursion_is_a_lua_error(lupa, lua):
    with pytest.raises(lupa.LuaError, match="stack overflow"):
        lua.execute("local function f(n) return 1 + f(n + 1) end f(0)")
    assert lua.eval("1 + 1") == 2
