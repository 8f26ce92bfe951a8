"""Reference cycles between Python and Lua are collected by Python's garbage collector.

A Python function stored in Lua that refers back to its runtime, or a Lua table that holds a
Python object holding the table, form cycles that pass through the Lua state.  The runtime
reports the Python objects Lua holds to the collector (`tp_traverse`), so once nothing outside
the cycle refers to the runtime, the whole cycle (runtime included) is freed, and repeating
this does not grow memory.  (While the runtime itself is in use, Python cannot see which Lua
objects its wrappers keep alive, so a cycle through the Lua heap lives as long as the runtime,
as with upstream lupa.)
"""

import gc
import weakref

import pytest
from helpers import run_isolated

ITERATIONS = 10_000


class Marker:
    """A weak-referenceable object to observe when a cycle is freed."""


def _collect():
    for _ in range(3):
        gc.collect()


def _runtime_with_callback_cycle(lupa):
    """Builds runtime -> Lua globals -> Python function -> runtime; returns a weak observer."""
    marker = Marker()
    lua = lupa.LuaRuntime()
    lua.globals().callback = lambda: (lua, marker)
    return weakref.ref(marker)


def test_runtime_referenced_from_a_stored_callback_is_freed(lupa):
    observed = _runtime_with_callback_cycle(lupa)
    assert observed() is not None, "the cycle keeps itself alive until collected"
    _collect()
    assert observed() is None


def _table_cycle(lupa):
    """Builds Lua table -> Python object -> table wrapper -> table; returns a weak observer."""
    lua = lupa.LuaRuntime()
    holder = Marker()
    table = lua.table()
    holder.table = table
    table.holder = holder
    return weakref.ref(holder)


def test_table_holding_an_object_that_holds_the_table_is_freed(lupa):
    observed = _table_cycle(lupa)
    assert observed() is not None
    _collect()
    assert observed() is None


def _runtime_with_getter_cycle(lupa):
    """Builds runtime -> attribute getter -> runtime; returns a weak observer."""
    marker = Marker()

    def getter(obj, name):
        return (lua, marker)

    lua = lupa.LuaRuntime(attribute_handlers=(getter, None))
    lua.globals().obj = Marker()
    return weakref.ref(marker)


def test_attribute_getter_using_the_runtime_is_freed(lupa):
    observed = _runtime_with_getter_cycle(lupa)
    assert observed() is not None
    _collect()
    assert observed() is None


def test_wrapper_stored_in_lua_through_a_python_list_is_freed(lua):
    marker = Marker()
    observed = weakref.ref(marker)
    box = [marker]
    box.append(lua.eval("{}"))
    lua.globals().box = box
    del box, marker
    _collect()
    lua.execute("box = nil")
    lua.gccollect()
    _collect()
    assert observed() is None


def test_no_growth_over_many_runtime_cycles(lupa):
    """10,000 runtimes, each kept alive only by a cycle through its own Lua state."""

    for _ in range(100):
        _runtime_with_callback_cycle(lupa)
    _collect()
    baseline = len(gc.get_objects())
    for i in range(ITERATIONS):
        _runtime_with_callback_cycle(lupa)
        if i % 1000 == 999:
            gc.collect()
    _collect()
    assert len(gc.get_objects()) - baseline < 100


def test_no_growth_over_many_table_cycles(lupa):
    """10,000 table <-> Python object cycles in dropped runtimes: nothing accumulates."""

    for _ in range(100):
        _table_cycle(lupa)
    _collect()
    baseline = len(gc.get_objects())
    for i in range(ITERATIONS):
        _table_cycle(lupa)
        if i % 1000 == 999:
            gc.collect()
    _collect()
    assert len(gc.get_objects()) - baseline < 100


def test_python_objects_released_by_lua_are_freed(lua):
    """Objects that Lua no longer references are released by Lua's collector."""
    marker = Marker()
    observed = weakref.ref(marker)
    lua.globals().held = marker
    del marker
    lua.execute("held = nil")
    lua.gccollect()
    assert observed() is None


# Cycles that pass through a userdata Lua never finalizes (a script removed its `__gc`): the
# collector clears the runtime, which closes the Lua state, and only then releases the
# userdata's objects; the wrappers they hold must then not touch the closed state.
UNFINALIZED_CYCLES = {
    # runtime -> exception (a Lua error value) -> traceback -> frame of `make_cycle` ->
    # runtime, and the globals wrapper
    "exception": """
        def make_cycle(lua, tracked):
            lua_globals = lua.globals()
            def fail():
                raise ValueError(tracked)
            lua_globals.fail = fail
            lua.execute("pcall(fail) debug.getmetatable(python.none).__gc = nil")
    """,
    # runtime -> holder (userdata without a metatable) -> Lua function wrapper -> runtime
    "holder": """
        def make_cycle(lua, tracked):
            class Holder:
                def __init__(self, action):
                    self.action, self.tracked = action, tracked
                def __del__(self):
                    try:
                        self.action()
                    except lupa.LuaError:
                        pass
            lua.globals().Holder = Holder
            lua.execute("v = Holder(function() collectgarbage() end) debug.setmetatable(v, nil)")
    """,
}


@pytest.mark.improvement
@pytest.mark.parametrize("cycle", sorted(UNFINALIZED_CYCLES))
def test_cycle_through_an_unfinalized_userdata_is_freed_once_after_close(lupa, cycle):
    """Upstream (and lupa-rs before) freed such wrappers into the closed state: a crash."""
    out = run_isolated(
        lupa,
        UNFINALIZED_CYCLES[cycle]
        + """
        import gc
        released = []
        class Tracked:
            def __del__(self):
                released.append(1)
        def run():
            lua = lupa.LuaRuntime()
            make_cycle(lua, Tracked())
        for _ in range(20):
            run()
            gc.collect()
        print(len(released))
        """,
    )
    assert out.split() == ["20"]
