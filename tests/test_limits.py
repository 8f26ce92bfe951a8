"""Time and instruction limits, interrupt() and Ctrl-C: Lua code cannot run past them.

Every test runs on every flavour.  A limit ends the outermost call from Python with its
exception (LuaTimeoutError, LuaInstructionLimitError, LuaInterruptError, all LuaLimitError);
whatever the script does to catch it (pcall, xpcall, coroutines, __close, debug.sethook), no
further Lua instruction runs in that call, and the next call starts with a fresh budget.
"""

import gc
import sys
import threading
import time

import pytest
from helpers import ctrl_c_in_every_flavour, fresh_python, is_luau, run_isolated, watchdog

pytestmark = pytest.mark.improvement

#: Generous bound for "stops promptly" on a loaded 2-core machine (debug builds).
PROMPT = 5.0

#: A Lua helper that makes an object with a finalizer on every flavour (5.1 and LuaJIT have
#: no __gc for tables).
GC_OBJECT = """
local function gc_object(f)
  if newproxy then
    local u = newproxy(true)
    getmetatable(u).__gc = f
    return u
  end
  return setmetatable({}, {__gc = f})
end
"""


def count_to(n):
    """Lua code that counts to n (about 4n VM instructions) and returns n."""
    return f"(function() local c = 0 for i = 1, {n} do c = c + 1 end return c end)()"


ESCAPES = {
    "loop": "while true do end",
    "numeric for": "local x = 0 for i = 1, 1e15 do x = x + i end",
    "pcall": "while true do pcall(function() while true do end end) end",
    "pcall(error)": "while true do pcall(error, 'x') end",
    "xpcall with a looping handler": (
        "while true do xpcall(function() while true do end end, "
        "function() while true do end end) end"
    ),
    "coroutine.resume": (
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end"
    ),
    "coroutine.wrap": (
        "local f = coroutine.wrap(function() while true do pcall(coroutine.yield) end end) "
        "while true do pcall(f) end"
    ),
    "debug.sethook": "while true do debug.sethook() debug.sethook(function() end, '', 1e9) end",
    "error objects with __tostring": (
        "while true do pcall(error, setmetatable({}, {__tostring = function() "
        "while true do end end})) end"
    ),
}


def needs_complete_limits(lupa):
    """Finalizers and coroutines resumed by Lua code are reached only where the flavour was
    built from the bundled (patched) sources on an ELF platform (see docs/guide.md)."""
    if not lupa._COMPLETE_LIMITS:
        pytest.skip("limits do not reach finalizers and Lua-resumed coroutines in this build")


def limited(lupa, kind):
    if kind == "timeout":
        return lupa.LuaRuntime(timeout=0.2), lupa.LuaTimeoutError
    return lupa.LuaRuntime(max_instructions=200_000), lupa.LuaInstructionLimitError


def test_the_exceptions_are_lua_errors(lupa):
    assert issubclass(lupa.LuaLimitError, lupa.LuaError)
    assert issubclass(lupa.LuaTimeoutError, lupa.LuaLimitError)
    assert issubclass(lupa.LuaTimeoutError, TimeoutError)
    assert issubclass(lupa.LuaInstructionLimitError, lupa.LuaLimitError)
    assert issubclass(lupa.LuaInterruptError, lupa.LuaLimitError)
    import lupa as package

    assert package.LuaTimeoutError.__name__ == "LuaTimeoutError"


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"timeout": 0}, ValueError),
        ({"timeout": -1.5}, ValueError),
        ({"timeout": float("nan")}, ValueError),
        ({"timeout": float("inf")}, ValueError),
        ({"timeout": "1"}, TypeError),
        ({"timeout": True}, TypeError),
        ({"max_instructions": 0}, ValueError),
        ({"max_instructions": -5}, ValueError),
        ({"max_instructions": 1.5}, TypeError),
        ({"max_instructions": "10"}, TypeError),
    ],
)
def test_invalid_limits_are_refused(lupa, kwargs, error):
    with pytest.raises(error):
        lupa.LuaRuntime(**kwargs)
    with pytest.raises(error):
        lupa.LuaRuntime().limits(**kwargs)


def test_limits_are_keyword_only(lupa):
    with pytest.raises(TypeError):
        lupa.LuaRuntime().limits(0.5)
    lua = lupa.LuaRuntime(timeout=None, max_instructions=None, sandbox=False)
    assert lua.eval("1 + 1") == 2


@pytest.mark.parametrize("kind", ["timeout", "instructions"])
@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_nothing_catches_a_limit(lupa, kind, escape):
    if kind == "timeout" and "coroutine" in escape:
        needs_complete_limits(lupa)
    lua, error = limited(lupa, kind)
    started = time.monotonic()
    with watchdog(), pytest.raises(error):
        lua.execute(ESCAPES[escape])
    assert time.monotonic() - started < PROMPT
    # Afterwards: usable, with a fresh budget.
    assert lua.eval("1 + 1") == 2
    assert lua.eval(count_to(1000)) == 1000


def test_close_handlers_cannot_catch_a_limit(lupa):
    lua, error = limited(lupa, "timeout")
    if lua.eval("_VERSION") not in ("Lua 5.4", "Lua 5.5"):
        pytest.skip("to-be-closed variables are Lua 5.4+")
    with watchdog(), pytest.raises(error):
        lua.execute(
            "local guard <close> = setmetatable({}, {__close = function() while true do end end})\n"
            "while true do end"
        )
    assert lua.eval("1") == 1


def test_a_budget_that_suffices_changes_nothing(lupa):
    lua = lupa.LuaRuntime(max_instructions=10**7, timeout=60)
    assert lua.eval(count_to(10000)) == 10000


def test_every_call_from_python_gets_a_fresh_budget(lupa):
    lua = lupa.LuaRuntime(max_instructions=300_000)
    count = lua.eval("function(n) local x = 0 for i = 1, n do x = x + 1 end return x end")
    # Each call alone fits; together they would not.
    for _ in range(20):
        assert count(50_000) == 50_000
    with pytest.raises(lupa.LuaInstructionLimitError):
        count(10**9)
    assert count(50_000) == 50_000


def test_nested_calls_share_the_budget_of_the_outermost_call(lupa):
    lua = lupa.LuaRuntime(timeout=0.3)
    caught = []

    def callback():
        try:
            lua.execute("while true do end")
        except lupa.LuaTimeoutError as exc:
            caught.append(exc)  # swallowed: Lua must not go on all the same
        return 1

    lua.globals().callback = callback
    with watchdog(), pytest.raises(lupa.LuaTimeoutError):
        lua.execute("while true do callback() end")
    assert len(caught) == 1


def test_coroutines_from_python_and_created_before_are_limited(lupa):
    needs_complete_limits(lupa)
    lua = lupa.LuaRuntime()
    body = lua.eval("function() coroutine.yield(1) while true do end end")
    early = body.coroutine()
    assert next(early) == 1
    with watchdog(), lua.limits(timeout=0.2):
        with pytest.raises(lupa.LuaTimeoutError):
            next(early)
        with pytest.raises(lupa.LuaTimeoutError):
            lua.eval("coroutine.wrap(function() while true do end end)")()
        fresh = body.coroutine()
        assert next(fresh) == 1
        with pytest.raises(lupa.LuaTimeoutError):
            fresh.send(None)


def test_finalizers_that_loop_are_stopped(lupa):
    needs_complete_limits(lupa)
    lua, error = limited(lupa, "timeout")
    lua.execute(GC_OBJECT + "keep = gc_object(function() while true do end end)")
    with watchdog(), pytest.raises(error):
        lua.execute("keep = nil collectgarbage() collectgarbage() while true do end")
    assert lua.eval("1") == 1


def test_dropping_a_runtime_with_looping_finalizers_does_not_hang():
    # In a fresh process: a hang must fail the test, not stop the suite.
    result = fresh_python(
        """
        import gc, importlib, os, re, lupa
        directory = os.path.dirname(lupa.__file__)
        names = sorted({m.group(1) for m in (re.match(r"^(lua[a-z]*[0-9]*)\\.(?:.+\\.)?so$", f)
                                            for f in os.listdir(directory)) if m})
        for name in names:
            module = importlib.import_module("lupa." + name)
            if not module._COMPLETE_LIMITS:
                continue
            lua = module.LuaRuntime(timeout=0.2)
            lua.execute('''
                local function gc_object(f)
                  if newproxy then local u = newproxy(true) getmetatable(u).__gc = f return u end
                  return setmetatable({}, {__gc = f})
                end
                for i = 1, 3 do gc_object(function() while true do end end) end
                keep = {gc_object(function() while true do end end)}
            ''')
            del lua
            gc.collect()
            print(name, "closed")
        """,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    if not result.stdout:
        pytest.skip("no flavour of this build has complete limits (see _COMPLETE_LIMITS)")
    assert "closed" in result.stdout


def test_metamethods_run_by_conversions_are_limited(lupa):
    lua, error = limited(lupa, "timeout")
    looping = lua.eval("setmetatable({}, {__tostring = function() while true do end end})")
    with watchdog(), pytest.raises(error):
        str(looping)
    indexed = lua.eval("setmetatable({}, {__index = function() while true do end end})")
    with watchdog(), pytest.raises(error):
        indexed["x"]
    assert lua.eval("1") == 1


def test_interrupt_stops_the_running_code_from_another_thread(lupa):
    """(LuaJIT: machine code made by its compiler calls no hooks; without a configured
    limit the compiler is on, so the loop runs in the interpreter here: see docs/guide.md.)"""
    lua = lupa.LuaRuntime()
    running = threading.Event()
    lua.globals().running = running.set

    def interrupter():
        running.wait(30)
        lua.interrupt()

    thread = threading.Thread(target=interrupter)
    thread.start()
    with watchdog(), pytest.raises(lupa.LuaInterruptError):
        lua.execute(
            "if jit then jit.off() end "
            "running() while true do pcall(function() while true do end end) end"
        )
    thread.join(30)
    assert lua.eval("1 + 1") == 2


def test_interrupt_does_not_linger(lupa):
    lua = lupa.LuaRuntime()
    lua.interrupt()
    assert lua.eval(count_to(100000)) == 100000


def test_scoped_limits_and_the_tightest_wins(lupa):
    lua = lupa.LuaRuntime(timeout=30)
    started = time.monotonic()
    with watchdog(), lua.limits(timeout=0.2) as scope:
        assert "timeout=0.2" in repr(scope)
        with pytest.raises(lupa.LuaTimeoutError):
            lua.execute("while true do end")
        with lua.limits(max_instructions=100_000):
            with pytest.raises(lupa.LuaInstructionLimitError):
                lua.execute("while true do end")
        with lua.limits(timeout=60):
            with pytest.raises(lupa.LuaTimeoutError):
                lua.execute("while true do end")
    assert time.monotonic() - started < 3 * PROMPT
    # Outside the block, the runtime's own (far) limit only.
    assert lua.eval(count_to(2000000)) == 2000000


def test_a_timeout_message_says_which_limit(lupa):
    lua = lupa.LuaRuntime(timeout=0.25)
    with watchdog(), pytest.raises(lupa.LuaTimeoutError, match=r"time limit \(0\.25 s\)"):
        lua.execute("while true do end")
    lua = lupa.LuaRuntime(max_instructions=12345)
    with pytest.raises(lupa.LuaInstructionLimitError, match="12345 instructions"):
        lua.execute("while true do end")


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit])
def test_keyboard_interrupt_and_system_exit_from_callbacks_cannot_be_caught(lupa, exception):
    lua = lupa.LuaRuntime()

    def callback():
        raise exception()

    lua.globals().callback = callback
    with watchdog(), pytest.raises(exception):
        lua.execute("while true do pcall(callback) end")
    with pytest.raises(exception):
        lua.execute("local ok = pcall(callback) while not ok do end")
    assert lua.eval("1 + 1") == 2


@pytest.mark.improvement
def test_keyboard_interrupt_from_a_finalizer_is_not_lost(lupa):
    """A finalizer that a collection started by Python runs (no Lua code runs after it, and
    Lua 5.4+ turns its error into a warning): the interrupt still reaches Python, from the
    interpreter's next check."""
    lua = lupa.LuaRuntime()
    if is_luau(lupa):
        pytest.skip("Luau: Lua code has no finalizers")
    finalized = []

    def callback():
        finalized.append(True)
        raise KeyboardInterrupt

    lua.globals().callback = callback
    # (Lua 5.1 and LuaJIT call `__gc` of userdata only.)
    lua.execute(
        "local mt = {__gc = function() callback() end} "
        "if newproxy then debug.setmetatable(newproxy(), mt) else setmetatable({}, mt) end"
    )
    table = lua.table()
    with pytest.raises(KeyboardInterrupt):
        for i in range(200_000):
            table[i] = str(i)
    assert finalized == [True]
    assert lua.eval("1 + 1") == 2


@pytest.mark.improvement
def test_short_coroutines_are_charged_to_the_instruction_budget(lupa):
    """Each coroutine runs fewer instructions than the count hook's step (which each thread of
    PUC Lua counts for itself): charged when it yields or ends, the work they do together
    still exhausts the budget."""
    if not lupa._COMPLETE_LIMITS:
        pytest.skip("a Lua from the system (or no ELF linker) cannot tell a thread's count")
    lua = lupa.LuaRuntime(max_instructions=10**6)
    code = """
        local function body() local x = 0 for i = 1, 100 do x = x + i end return x end
        for i = 1, 10000 do coroutine.wrap(body)() end
    """
    with pytest.raises(lupa.LuaInstructionLimitError):
        lua.execute(code)
    # (The main thread's own loop stays well inside the budget.)
    lupa.LuaRuntime(max_instructions=10**6).execute("for i = 1, 10000 do end")


@pytest.mark.improvement
def test_slow_library_calls_are_charged_to_the_instruction_budget(lupa):
    """Fewer instructions than a step between two of the watchdog's checks (for Ctrl-C, in
    the main thread): the checks re-arm the hook, and what the code ran before each one is
    charged all the same."""
    if not lupa._COMPLETE_LIMITS:
        pytest.skip("a Lua from the system (or no ELF linker) cannot tell a thread's count")
    lua = lupa.LuaRuntime(max_instructions=1000)
    code = "n = 0 while n < 2000 do n = n + 1 local s = string.rep('x', 2^20) end"
    with pytest.raises(lupa.LuaInstructionLimitError):
        lua.execute(code)
    assert lua.eval("n") < 1000


@pytest.mark.improvement
def test_no_python_code_runs_after_a_limit_stopped_the_entry(lupa):
    """A library function can call Python in a loop that runs no VM instruction: here
    `table.sort` with a Python comparator (a C function in Lua).  Once the entry is stopped
    (by `interrupt()`, from the tenth call), Python is not called again: LuaJIT and Luau call
    no hook when a C function returns, and kept sorting with it."""
    lua = lupa.LuaRuntime()
    calls = []

    def compare(a, b):
        calls.append(a)
        if len(calls) == 10:
            lua.interrupt()
        return a < b

    sort = lua.eval(
        "function(compare) local t = {} for i = 1, 100000 do t[i] = (i * 7919) % 100003 end "
        "table.sort(t, python.as_function(compare)) end"
    )
    with pytest.raises(lupa.LuaInterruptError):
        sort(compare)
    assert len(calls) == 10
    assert lua.eval("1 + 1") == 2


def test_no_reference_is_leaked_by_stopped_calls(lupa):
    lua = lupa.LuaRuntime(max_instructions=100_000)
    marker = object()
    before = sys.getrefcount(marker)
    loop = lua.eval("function(o) local keep = {o} while true do keep[2] = o end end")
    for _ in range(20):
        with pytest.raises(lupa.LuaInstructionLimitError):
            loop(marker)
    lua.gccollect()
    lua.gccollect()
    gc.collect()
    assert sys.getrefcount(marker) == before


def test_ctrl_c_interrupts_lua_in_the_main_thread():
    """SIGINT while Lua code runs in the main thread: KeyboardInterrupt, without any limit.
    (LuaJIT: code its compiler has turned into machine code calls no hooks; the loop runs in
    the interpreter here, see docs/guide.md.)"""
    seconds = ctrl_c_in_every_flavour("if jit then jit.off() end started() while true do end")
    for name, elapsed in seconds.items():
        assert elapsed < PROMPT, name


def test_interrupt_and_ctrl_c_stop_looping_finalizers_of_a_closing_runtime(lupa):
    """A runtime without limits: closing it runs a finalizer that loops.  `interrupt()` from
    another thread stops it, and so does Ctrl-C in the main thread (raised right after the
    close, which cannot raise itself)."""
    if is_luau(lupa):
        pytest.skip("Luau: Lua code has no finalizers")
    needs_complete_limits(lupa)
    out = run_isolated(
        lupa,
        """
        import os, signal, threading
        FINALIZER = (
            "local f = function() started() while true do end end "
            "if newproxy then keep = newproxy(true) getmetatable(keep).__gc = f "
            "else keep = setmetatable({}, {__gc = f}) end"
        )
        def closing(stop):
            lua = lupa.LuaRuntime()
            started = threading.Event()
            lua.globals().started = started.set
            lua.execute(FINALIZER)
            threading.Thread(target=lambda: (started.wait(60), stop(lua))).start()
            lua.close()
        closing(lambda lua: lua.interrupt())
        print("interrupted")
        try:
            closing(lambda lua: os.kill(os.getpid(), signal.SIGINT))
            for _ in range(10**9):
                pass
        except KeyboardInterrupt:
            print("KeyboardInterrupt")
        """,
        timeout=120,
    )
    assert out.split() == ["interrupted", "KeyboardInterrupt"]
