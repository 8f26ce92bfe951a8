"""LuaRuntime.close() and ``with LuaRuntime() as lua:`` (lupa-rs).

After close, the runtime and every object of it raise LuaError ("the Lua runtime is closed")
instead of touching freed memory; what Lua held is released at once.
"""

import gc
import os
import sys
import threading
import weakref

import pytest
from helpers import JOIN_TIMEOUT, watchdog

pytestmark = pytest.mark.improvement

CLOSED = "closed"


def test_a_closed_runtime_refuses_every_use(lupa):
    lua = lupa.LuaRuntime()
    table = lua.eval("{1, 2, x = 3}")
    function = lua.eval("function(a) return a end")
    coroutine = lua.eval("function() coroutine.yield(1) coroutine.yield(2) end").coroutine()
    assert next(coroutine) == 1
    items = table.items()
    globals_ = lua.globals()
    lua.close()
    uses = [
        lambda: lua.eval("1"),
        lambda: lua.execute("x = 1"),
        lambda: lua.compile("return 1"),
        lambda: lua.globals(),
        lambda: lua.table(1, 2),
        lambda: lua.table_from({"a": 1}),
        lambda: lua.require("string"),
        lambda: table[1],
        lambda: table.__setitem__("y", 1),
        lambda: len(table),
        lambda: list(table),
        lambda: list(items),
        lambda: globals_.x,
        lambda: function(1),
        lambda: next(coroutine),
        lambda: coroutine.send(None),
        lambda: lupa.to_python(table),
        lambda: lua.gccollect(),
    ]
    for use in uses:
        with pytest.raises(lupa.LuaError, match=CLOSED):
            use()
    # Looking at them is harmless, and so is dropping them.
    assert "closed" in repr(table) and "closed" in repr(function)
    repr(lua)
    uses.clear()
    gc.collect()


def test_close_twice_and_the_context_manager(lupa):
    lua = lupa.LuaRuntime()
    lua.close()
    lua.close()
    with lupa.LuaRuntime() as lua:
        assert lua.eval("1 + 1") == 2
    with pytest.raises(lupa.LuaError, match=CLOSED):
        lua.eval("1")


def test_the_context_manager_closes_on_errors_too(lupa):
    with pytest.raises(ZeroDivisionError):
        with lupa.LuaRuntime() as lua:
            1 / 0  # noqa: B018
    with pytest.raises(lupa.LuaError, match=CLOSED):
        lua.eval("1")


def test_python_objects_held_by_lua_are_released_at_once(lupa):
    class Held:
        pass

    lua = lupa.LuaRuntime()
    held = Held()
    ref = weakref.ref(held)
    lua.globals().held = held
    lua.execute("keep = {held, held}")
    del held
    assert ref() is not None
    gc.disable()  # released by close() itself, not by a later collection
    try:
        lua.close()
        assert ref() is None
    finally:
        gc.enable()


def test_finalizers_run_at_close(lupa):
    calls = []
    lua = lupa.LuaRuntime()
    lua.globals().record = calls.append
    lua.execute(
        "local function gc_object(f) if newproxy then local u = newproxy(true) "
        "getmetatable(u).__gc = f return u end return setmetatable({}, {__gc = f}) end "
        "keep = gc_object(function() record('finalized') end)"
    )
    lua.close()
    assert calls == ["finalized"]


def test_closing_inside_a_call_of_the_runtime_raises(lupa):
    lua = lupa.LuaRuntime()
    errors = []

    def close_me():
        try:
            lua.close()
        except lupa.LuaError as error:
            errors.append(error)
        return "still running"

    lua.globals().close_me = close_me
    assert lua.eval("close_me()") == "still running"
    assert "inside" in str(errors[0])
    assert lua.eval("1 + 1") == 2


def test_close_waits_for_a_call_in_another_thread(lupa):
    lua = lupa.LuaRuntime()
    entered, release, closed = threading.Event(), threading.Event(), threading.Event()
    results = []

    def blocker():
        entered.set()
        release.wait(JOIN_TIMEOUT)
        return "done"

    lua.globals().blocker = blocker

    def call():
        results.append(lua.eval("blocker()"))

    def close():
        lua.close()
        closed.set()

    with watchdog():
        caller = threading.Thread(target=call)
        caller.start()
        assert entered.wait(JOIN_TIMEOUT)
        closer = threading.Thread(target=close)
        closer.start()
        assert not closed.is_set()  # the call holds the runtime
        release.set()
        caller.join(JOIN_TIMEOUT)
        closer.join(JOIN_TIMEOUT)
    assert results == ["done"]
    assert closed.is_set()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_memory_returns_when_runtimes_are_closed(lupa):
    def rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    runtimes = []
    before = rss()
    for _ in range(1000):
        lua = lupa.LuaRuntime()
        lua.execute("data = string.rep('x', 100000) .. tostring(math.random())")
        lua.close()
        runtimes.append(lua)  # still referenced: only close() can have freed the memory
    grown = rss() - before
    # 1000 runtimes with 100 KB each would be 100 MB; closed, a few MB at most remain.
    assert grown < 30_000_000, grown
