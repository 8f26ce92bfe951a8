"""Deep recursion across the Python/Lua boundary ends in a Python exception, not a crash.

Every level of Python -> Lua -> Python nesting uses C stack.  PUC Lua stops plain nesting at
about 200 levels with "C stack overflow"; LuaJIT and chains of coroutines started from Python
have no such check, so lupa-rs checks the C stack left at every entry into Lua (upstream lupa
segfaults once Python's recursion limit is raised far enough).  Where the stack allows, the
nesting goes as deep as upstream's.
"""

import sys
import threading

import pytest
from helpers import is_luau, run_isolated


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
    assert len(depth) > 50


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


def _in_thread_with_stack(stack_size, target):
    """Runs *target* in a thread with a stack of *stack_size* bytes; returns its result or
    raises its exception."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except BaseException as exc:  # noqa: BLE001 - handed over to the caller
            outcome["error"] = exc

    old_size = threading.stack_size(stack_size)
    try:
        thread = threading.Thread(target=run)
        thread.start()
    finally:
        threading.stack_size(old_size)
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


@pytest.mark.improvement
def test_coroutine_chain_reaches_two_thousand_levels(lua, high_recursion_limit):
    """A Python callback starts a Lua coroutine that calls Python, 2000 times nested (upstream
    lupa handles this; Lua itself sees each coroutine as started from the main thread)."""
    body = lua.eval("function(py, n) return py(n) end")

    def call_python(n):
        if n == 2000:
            return n
        return next(body.coroutine(call_python, n + 1))

    # A generous stack, so that debug builds (large frames) get as deep as release builds.
    assert _in_thread_with_stack(256 * 1024 * 1024, lambda: call_python(0)) == 2000


@pytest.mark.improvement
def test_plain_nesting_goes_as_deep_as_lua_allows(lupa, lua, high_recursion_limit):
    """Python -> Lua -> Python nesting: LuaJIT has no limit of its own (upstream reaches 5000
    levels); PUC Lua stops at about 200 levels with its own "C stack overflow"."""
    call_lua = lua.eval("function(py, n) return py(n) end")

    def call_python(n):
        return n if n == 5000 else call_lua(call_python, n + 1)

    def run():
        return call_python(0)

    if "jit" in lupa.__name__:
        assert _in_thread_with_stack(256 * 1024 * 1024, run) == 5000
    else:
        with pytest.raises(lupa.LuaError, match="C stack overflow"):
            _in_thread_with_stack(256 * 1024 * 1024, run)


@pytest.mark.improvement
@pytest.mark.parametrize("kind", ["plain", "coroutines"])
def test_small_thread_stack_ends_in_an_error_not_a_crash(lupa, lua, high_recursion_limit, kind):
    """On a thread with a small stack, the guard stops the nesting before the stack ends."""
    code = {
        "plain": "function(py, n) return py(n) end",
        "coroutines": "function(py, n) return coroutine.wrap(function() return py(n) end)() end",
    }[kind]
    call_lua = lua.eval(code)
    depth = []

    def call_python(n):
        depth.append(n)
        return call_lua(call_python, n + 1)

    # (Luau, release build: its own limit of nested C calls comes first, and then stops the
    # message handler too, which Luau reports as "error in error handling".)
    message = "stack overflow|error in error handling" if is_luau(lupa) else "stack overflow"
    with pytest.raises(lupa.LuaError, match=message):
        _in_thread_with_stack(1024 * 1024, lambda: call_python(0))
    assert len(depth) > 5
    assert lua.eval("1 + 1") == 2


@pytest.mark.parametrize(
    "code",
    [
        "local function f() coroutine.wrap(f)() end f()",
        "local function f() local ok, e = coroutine.resume(coroutine.create(f)) "
        "if not ok then error(e, 0) end end f()",
        # Created first, then resumed inside each other.
        "local cos = {} for i = 1, 100000 do cos[i] = coroutine.create(function() "
        "local ok, e = coroutine.resume(cos[i + 1] or coroutine.create(print)) "
        "if not ok then error(e, 0) end end) end "
        "local ok, e = coroutine.resume(cos[1]) if not ok then error(e, 0) end",
    ],
    ids=["wrap", "resume", "created-first"],
)
def test_coroutines_nested_without_end_raise_instead_of_crashing(lupa, code):
    """Each coroutine has its own Lua stack: only the C stack bounds the nesting (LuaJIT
    counted nothing, and crashed).  (A thread with a small stack, and a memory limit: on
    LuaJIT each level of `coroutine.wrap` adds a position to the error message.)"""
    # (LuaJIT: a small stack, which the check must meet before the memory limit.  Others
    # stop at about 200 levels, which Luau's debug build needs more than 1 MiB for.)
    stack_kib = 512 if "jit" in lupa.__name__ else 16 * 1024
    out = run_isolated(
        lupa,
        f"""
        import threading
        threading.stack_size({stack_kib} * 1024)
        def run():
            # (LuaJIT 2.0 cannot run with a memory limit.)
            memory = {{}} if lupa.__name__.endswith("luajit20") else {{"max_memory": 2**29}}
            for options in ({{}}, {{"sandbox": True, "timeout": 60}}):
                lua = lupa.LuaRuntime(**memory, **options)
                try:
                    lua.execute({code!r})
                except lupa.LuaMemoryError:
                    print("memory")
                except lupa.LuaError as error:
                    print("stack overflow" in str(error))
                assert lua.eval("1 + 1") == 2
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        """,
        timeout=120,
    )
    assert out.split() == ["True", "True"]
