"""Lua finalizers (``__gc``) that misbehave, from Lua code a script controls.

* A finalizer that raises.  Lua 5.1 to 5.3 and LuaJIT 2.0 re-throw its error from whatever
  allocation ran the collection step, and allocations made from Python (pushing a string,
  creating a table, wrapping a Python object) run such steps: the error must come out as a
  LuaError (or be
  swallowed, on Lua 5.4+ and LuaJIT 2.1, which turn it into a warning), never abort the
  process.  Upstream lupa aborts there.
* A script that removes ``__gc`` from the (shared, unprotected) metatable of Python objects:
  their userdata are then freed without our finalizer, which must neither corrupt memory nor
  keep the objects alive after the runtime is gone.
"""

import gc
import weakref

import pytest
from helpers import run_isolated

pytestmark = pytest.mark.improvement

# (Inside pcall: the collector may already run some of them while they are made.)
ARM_RAISING_FINALIZERS = """
    local function fail() error('finalizer failed') end
    pcall(function()
        for i = 1, 200 do
            if newproxy then
                local p = newproxy(true)
                getmetatable(p).__gc = fail
            else
                setmetatable({}, {__gc = fail})
            end
        end
    end)
"""


def _survives(lupa, work, rounds=3000):
    """Runs `work` until the finalizers have run; every error must be the finalizer's."""
    messages = []
    for i in range(rounds):
        try:
            work(i)
        except lupa.LuaError as exc:
            messages.append(str(exc))
    assert all("finalizer failed" in message for message in messages), messages[:3]
    return messages


def _drain(lupa, lua):
    """Runs the finalizers that are still pending (each may raise once)."""
    for _ in range(300):
        try:
            lua.gccollect()
            return
        except lupa.LuaError as exc:
            assert "finalizer failed" in str(exc)
    raise AssertionError("the finalizers kept raising")


class TestRaisingFinalizers:
    def test_creating_tables_from_python(self, lupa, lua):
        lua.execute(ARM_RAISING_FINALIZERS)
        _survives(lupa, lambda i: lua.table(i, str(i) * 50))
        _drain(lupa, lua)
        assert lua.eval("1 + 1") == 2

    def test_table_from(self, lupa, lua):
        lua.execute(ARM_RAISING_FINALIZERS)
        _survives(lupa, lambda i: lua.table_from([str(i) * 20, {"k": [i]}], recursive=True))
        _drain(lupa, lua)
        assert lua.eval("1 + 1") == 2

    def test_passing_strings_and_objects(self, lupa, lua):
        # Compiled first: on Lua 5.1-5.3 compiling can run a raising finalizer too.
        ident = lua.eval("function(...) return ... end")
        lua.execute(ARM_RAISING_FINALIZERS)
        _survives(lupa, lambda i: ident("x" * (i % 100 + 50), object(), [i]))
        _drain(lupa, lua)
        assert ident("still", "works") == ("still", "works")

    def test_coroutines(self, lupa, lua):
        body = lua.eval("function(x) coroutine.yield(x) end")
        lua.execute(ARM_RAISING_FINALIZERS)
        _survives(lupa, lambda i: next(body.coroutine(str(i) * 30)))
        _drain(lupa, lua)
        assert lua.eval("1 + 1") == 2

    def test_values_returned_by_a_callback(self, lupa, lua):
        """Inside a call into Lua, the error unwinds through Lua code as a Lua error."""
        loop = lua.eval("function(f) for i = 1, 1000 do local s, o = f(i) end end")
        lua.execute(ARM_RAISING_FINALIZERS)
        _survives(lupa, lambda i: loop(lambda n: ("y" * (n % 70 + 50), object())), rounds=30)
        _drain(lupa, lua)
        assert lua.eval("1 + 1") == 2


REMOVE_PYTHON_GC = "getmetatable(python.none).__gc = nil"


class TestPythonObjectsWithoutFinalizer:
    def test_collector_after_gc_removed(self, lupa):
        lua = lupa.LuaRuntime()
        lua.execute(REMOVE_PYTHON_GC)
        # new userdata, freed by Lua without our finalizer
        lua.execute(
            "for i = 1, 300 do local o = python.builtins.object() end "
            "collectgarbage() collectgarbage()"
        )
        lua.execute("for i = 1, 300 do local o = python.builtins.list() end collectgarbage()")
        # Python's cycle collector visits the runtime's references: must not touch freed memory
        for _ in range(3):
            gc.collect()
        _drain(lupa, lua)
        assert lua.eval("1 + 1") == 2

    def test_objects_are_released_with_the_runtime(self, lupa):
        class Payload:
            pass

        lua = lupa.LuaRuntime()
        lua.execute(REMOVE_PYTHON_GC)
        payload = Payload()
        ref = weakref.ref(payload)
        lua.eval("function(p) local keep = p end")(payload)
        lua.execute("collectgarbage() collectgarbage()")
        del payload
        gc.collect()
        del lua
        gc.collect()
        assert ref() is None


COLLECTING_FINALIZER = "V = setmetatable({}, {__gc = function() collectgarbage() end})"


@pytest.mark.parametrize(
    "code",
    [
        COLLECTING_FINALIZER,
        # A cycle that ran a finalizer leaves Lua 5.3's count of finalizers per step at 0;
        # the allocations then start the next cycle.
        """
        setmetatable({}, {__gc = function() collectgarbage() end}) collectgarbage()
        local n = collectgarbage('count') local t = {} local i = 0
        repeat i = i + 1 t[i] = {} until collectgarbage('count') > 2.2 * n
        """
        + COLLECTING_FINALIZER,
        # (A hook that raises at every call must not keep the fix from running.)
        COLLECTING_FINALIZER + " debug.sethook(function() error('hook') end, 'c')",
    ],
    ids=["fresh", "after-a-cycle-with-finalizers", "with-a-raising-hook"],
)
def test_closing_a_runtime_whose_finalizer_collects_garbage_ends(lupa, code):
    """Lua 5.3's `lua_close` looped forever when a finalizer it ran started a full
    collection while the collector was propagating with that count at 0."""
    out = run_isolated(
        lupa,
        f"""
        import gc
        lua = lupa.LuaRuntime()
        lua.execute({code!r})
        del lua
        gc.collect()
        print("closed")
        """,
        timeout=30,
    )
    assert out.split() == ["closed"]
