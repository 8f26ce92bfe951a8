"""Scripts that tamper with lupa's internals, or run out of memory at awkward moments, get
errors: the process never crashes.

Lua code can reach the registry (`debug.getregistry()`), where the runtime keeps its own
entries, and call the helper functions of the `python` module with forged arguments.  Under a
memory limit, allocations fail at any point, including in the middle of growing a table.
"""

import pytest

pytestmark = pytest.mark.improvement

# Removes every registry entry with a light userdata key (where the `python` module finds
# its runtime) or replaces it with another userdata.
TAMPER_RUNTIME_ENTRY = """
local replacement = ...
local r = debug.getregistry()
for k in pairs(r) do
    if type(k) == 'userdata' and type(r[k]) == 'userdata' then r[k] = replacement end
end
"""


@pytest.mark.parametrize("replacement", ["nil", "io.stdout"])
@pytest.mark.parametrize(
    "call",
    [
        "python.iter(python.builtins.range(3))",
        "python.enumerate(python.builtins.range(3))",
        "python.args{1, 2}",
        "python.as_attrgetter(python.builtins)",
        "python.set_overflow_handler(nil)",
    ],
)
def test_python_functions_without_their_runtime_entry_raise(lupa, lua, replacement, call):
    lua.execute(TAMPER_RUNTIME_ENTRY, lua.eval(replacement))
    with pytest.raises(lupa.LuaError, match="cannot find its runtime"):
        lua.eval(call)
    assert lua.eval("1 + 1") == 2


def test_iteration_step_with_a_non_iterator_raises_type_error(lua):
    step = "local step = python.iter(python.builtins.range(3)) return step(python.eval('[1]'))"
    with pytest.raises(TypeError, match="'list' object is not an iterator"):
        lua.execute(step)
    assert lua.eval("1 + 1") == 2


@pytest.mark.parametrize("replacement", ["nil", "io.stdout", "42"])
def test_replaced_object_cache_raises_instead_of_crashing(lupa, lua, replacement):
    lua.execute(
        """
        local replacement = ...
        local r = debug.getregistry()
        for k, v in pairs(r) do
            local mt = type(v) == 'table' and getmetatable(v)
            if mt and mt.__mode then r[k] = replacement end
        end
        """.replace("...", replacement)
    )
    with pytest.raises(lupa.LuaError, match="cache of Python objects was replaced"):
        lua.eval("function(x) return x end")(object())
    assert lua.eval("1 + 1") == 2


def test_replaced_globals_table_makes_require_raise(lupa, lua):
    if lua.lua_version < (5, 2):
        pytest.skip("Lua 5.1 and LuaJIT keep the globals outside the registry")
    lua.execute("debug.getregistry()[2] = 42")
    with pytest.raises(lupa.LuaError, match="require is not defined"):
        lua.require("string")


@pytest.mark.parametrize("limit", [1, 64, 2000])
def test_running_out_of_memory_while_making_references_keeps_the_runtime_intact(lupa, limit):
    """Lua 5.1 and LuaJIT leave a table broken when growing it fails halfway; the registry,
    which holds every reference, must never get there."""
    lua = lupa.LuaRuntime(max_memory=limit)
    table = lua.globals()
    try:
        values = list(table.values())
    except lupa.LuaMemoryError:
        values = None
    lua.set_max_memory(0)
    assert "print" in list(table.keys())
    marker = object()
    assert lua.eval("function(x) return x end")(marker) is marker
    assert lua.execute("local n = 0 for _ in pairs(debug.getregistry()) do n = n + 1 end return n")
    del values


def test_tiny_memory_limit_gives_memory_errors_not_crashes(lupa):
    lua = lupa.LuaRuntime(max_memory=1)
    for action in (
        lua.globals,
        lua.table,
        lambda: lua.eval("function(s) return s end")("x" * 100_000),
        lambda: list(lua.globals().items()),
        lambda: lua.execute("for x in python.iter(python.builtins.range(1000)) do end"),
    ):
        try:
            action()
        except lupa.LuaMemoryError:
            pass
    lua.set_max_memory(0)
    assert lua.eval("1 + 1") == 2


def test_luajit_compiles_no_traces_under_memory_accounting(lupa):
    """LuaJIT's trace compiler crashes when an allocation fails while a trace starts."""
    lua = lupa.LuaRuntime(max_memory=10**6)
    if not lua.lua_implementation.startswith("LuaJIT"):
        pytest.skip("only LuaJIT has a trace compiler")
    assert lua.eval("jit.status()")[0] is False
    assert lupa.LuaRuntime().eval("jit.status()")[0] is True
    lua.set_max_memory(2000)
    with pytest.raises(lupa.LuaMemoryError):
        lua.execute("local t = {} for i = 1, 100000 do t[i] = {} end")
