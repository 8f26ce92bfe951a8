"""Scripts that tamper with lupa's internals, or run out of memory at awkward moments, get
errors: the process never crashes.

Lua code can reach the registry (`debug.getregistry()`), where the runtime keeps its own
entries, and call the helper functions of the `python` module with forged arguments.  Under a
memory limit, allocations fail at any point, including in the middle of growing a table.
"""

import pytest
from helpers import run_isolated

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


def _skip_without_custom_allocator(lupa):
    if lupa.__name__.endswith("luajit20"):
        pytest.skip("LuaJIT 2.0 (64 bit) cannot create a runtime with max_memory")


@pytest.mark.parametrize("limit", [1, 64, 2000])
def test_running_out_of_memory_while_making_references_keeps_the_runtime_intact(lupa, limit):
    """Lua 5.1 and LuaJIT leave a table broken when growing it fails halfway; the registry,
    which holds every reference, must never get there."""
    _skip_without_custom_allocator(lupa)
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
    _skip_without_custom_allocator(lupa)
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
    _skip_without_custom_allocator(lupa)
    lua = lupa.LuaRuntime(max_memory=10**6)
    if not lua.lua_implementation.startswith("LuaJIT"):
        pytest.skip("only LuaJIT has a trace compiler")
    assert lua.eval("jit.status()")[0] is False
    assert lupa.LuaRuntime().eval("jit.status()")[0] is True
    lua.set_max_memory(2000)
    with pytest.raises(lupa.LuaMemoryError):
        lua.execute("local t = {} for i = 1, 100000 do t[i] = {} end")


def test_as_function_survives_its_object_being_finalized_during_the_call(lupa, lua):
    """Lua code run by the called object reaches the closure's userdata through
    `debug.getupvalue` and finalizes it by hand: the call must not use the object freed."""
    import operator

    class Evil:
        def __getattr__(self, name):
            if name != "x":
                raise AttributeError(name)
            lua.execute(
                """
                local _, u = debug.getupvalue(F, 1)
                getmetatable(u).__gc(u)
                collectgarbage()
                """
            )
            return 42

    if lua.eval("select('#', debug.getupvalue(python.as_function(python.builtins.len), 1))") == 0:
        pytest.skip("Lua 5.1's debug library cannot reach the upvalues of C functions")
    # The getter reads several attributes after the first one ran the Lua code above.
    lua.globals().getter = operator.attrgetter("x", "x", "x")
    lua.globals().evil = Evil()
    result = lua.execute("F = python.as_function(getter); getter = nil; return F(evil)")
    assert result == (42, 42, 42)
    with pytest.raises(lupa.LuaError, match="deleted python object"):
        lua.execute("return F(evil)")


def test_python_functions_at_the_memory_limit_raise_memory_errors(lupa):
    """Out of memory inside `python.*` functions (which create closures, userdata and tables)
    is a Lua memory error, on every flavour; LuaJIT used to abort the process."""
    _skip_without_custom_allocator(lupa)
    lua = lupa.LuaRuntime(max_memory=0)
    lua.globals().obj = len
    lua.globals().items = [1, 2, 3]
    lua.execute(
        """
        failures = 0
        F = {
            function() return python.as_function(obj) end,
            function() return python.as_attrgetter(obj) end,
            function() return python.args({1, 2, a = 3}) end,
            function() for x in python.iter(items) do end end,
            function() for i, x in python.enumerate(items) do end end,
        }
        run = function()
            for _, f in ipairs(F) do
                local ok, err = pcall(f)
                if not ok and tostring(err):find("not enough memory") then
                    failures = failures + 1
                end
            end
        end
        """
    )
    run = lua.globals().run
    lua.gccollect()
    used = lua.get_memory_used(total=True)
    for extra in range(0, 6000, 8):
        lua.set_max_memory(used + extra, total=True)
        try:
            run()
        except lupa.LuaMemoryError:
            pass  # the limit struck outside the functions (in pcall itself, say)
    lua.set_max_memory(0)
    assert lua.eval("failures") > 0  # the limit struck inside the functions
    lua.gccollect()
    assert lua.eval("python.as_function(obj)")("abc") == 3


def test_a_python_exception_that_cannot_enter_lua_says_why(lupa, lua):
    """When lupa's registry entries were removed, a Python exception cannot travel through Lua
    as an object: the Lua error names it and the reason, instead of claiming out of memory."""

    def fail():
        raise KeyError("the original")

    lua.globals().fail = fail
    lua.execute(
        """
        local r = debug.getregistry()
        for k, v in pairs(r) do
            if type(v) == 'table' and getmetatable(v) and getmetatable(v).__mode == 'v' then
                r[k] = nil
            end
        end
        """
    )
    with pytest.raises(lupa.LuaError) as exc_info:
        lua.execute("fail()")
    assert not isinstance(exc_info.value, lupa.LuaMemoryError)
    message = str(exc_info.value)
    assert "KeyError" in message and "the original" in message
    assert "cache of Python objects" in message


# Replaces every registry entry with an integer key above 2 (the references of wrappers;
# Lua 5.2+ keep the main thread and the globals at 1 and 2).
REPLACE_REFERENCES = """
    local r = debug.getregistry()
    for k in pairs(r) do if type(k) == 'number' and k > 2 then r[k] = %s end end
"""


@pytest.mark.parametrize("replacement", ["nil", "{}", "io.stdout"])
def test_coroutine_whose_registry_entry_was_replaced_raises(lupa, replacement):
    """A coroutine wrapper's reference may point to any value after a script rewrote the
    registry: every operation checks that it still is a thread (they crashed before)."""
    out = run_isolated(
        lupa,
        f"""
        operations = {{
            "next": next,
            "send": lambda co: co.send(None),
            "bool": bool,
            "close": lambda co: co.close(),
            "throw": lambda co: co.throw(ValueError("thrown")),
        }}
        for name, operation in operations.items():
            lua = lupa.LuaRuntime()
            co = lua.eval("function() coroutine.yield(1) coroutine.yield(2) end").coroutine()
            assert next(co) == 1
            lua.execute({REPLACE_REFERENCES % replacement!r})
            try:
                operation(co)
            except TypeError as error:
                assert "registry entry was replaced" in str(error), error
                print(name, "raised")
        """,
    )
    assert out.splitlines() == [
        f"{name} raised" for name in ("next", "send", "bool", "close", "throw")
    ]


def test_table_whose_registry_entry_was_replaced_is_not_read_as_a_table(lupa):
    """Unpacking call arguments from a table wrapper and copying its pairs read the value as a
    table (unchecked, they crashed): a replaced one raises TypeError."""
    out = run_isolated(
        lupa,
        f"""
        lua = lupa.LuaRuntime()
        table = lua.table(1, 2, a=3)
        unpack = lupa.unpacks_lua_table(lambda *args, **kwargs: (args, kwargs))
        assert unpack(table) == ((1, 2), {{"a": 3}})
        lua.execute({REPLACE_REFERENCES % "io.stdout"!r})
        for operation in (unpack, lua.table_from):
            try:
                operation(table)
            except TypeError as error:
                print("TypeError")
            except lupa.LuaError as error:
                # (LuaJIT 2.0: the rewrite also hit an entry that lupa needs.)
                assert "registry" in str(error), error
                print("TypeError")
        """,
    )
    assert out.split() == ["TypeError", "TypeError"]


def test_loading_code_without_the_globals_entry_raises(lupa, lua):
    """Lua 5.2+ give a loaded chunk the registry's globals entry as `_ENV`; Lua 5.5 requires
    a table there (its debug build aborts, its release build copies an uninitialised value)."""
    if lua.lua_version < (5, 2):
        pytest.skip("Lua 5.1 and LuaJIT keep the globals outside the registry")
    out = run_isolated(
        lupa,
        """
        lua = lupa.LuaRuntime()
        lua.execute("debug.getregistry()[2] = nil")
        for load in (lua.execute, lua.eval, lua.compile):
            try:
                load("1")
            except lupa.LuaError as error:
                assert "registry" in str(error), error
                print("LuaError")
        """,
    )
    assert out.split() == ["LuaError"] * 3


HOOK_TABLE_TAMPERING = """
    local calls = 0
    debug.sethook(function() calls = calls + 1 end, 'c', 1)
    local r = debug.getregistry()
    for k in pairs(r) do
        if type(k) ~= 'number' then r[k] = REPLACEMENT end
    end
    tostring(1)
    local hook, mask, count = debug.gethook()
    local co = coroutine.create(function() coroutine.yield() end)
    debug.sethook(co, function() end, 'l')
    debug.gethook(co)
    coroutine.resume(co)
    debug.sethook()
    return mask, count, calls > 0
"""


@pytest.mark.parametrize("replacement", ["nil", "true", "{}"])
def test_debug_hooks_survive_a_replaced_hook_table(lupa, replacement):
    """The debug library's hook (and `gethook`, and `sethook` on Lua 5.3) read its table in
    the registry unchecked on Lua 5.1 and 5.3 to 5.5: a script that replaced it crashed the
    process at the next hooked event."""
    code = HOOK_TABLE_TAMPERING.replace("REPLACEMENT", replacement)
    out = run_isolated(
        lupa,
        f"""
        try:
            print(lupa.LuaRuntime().execute({code!r}))
        except lupa.LuaError as error:
            print(str(error).split(chr(10))[0])
        """,
    )
    if lupa.__name__.endswith("luajit20") and replacement != "nil":
        # (LuaJIT 2.0 then fails to run lupa's message handler: a LuaError, no crash.)
        assert out.strip() in ("('c', 1, True)", "error in error handling")
    else:
        assert out.strip() == "('c', 1, True)"


def test_debug_hooks_work(lua):
    """(`debug.sethook` and `debug.gethook` are wrapped on most flavours, see above.)"""
    events, hook, mask, count, co_hook, co_mask = lua.execute(
        """
        local events = {}
        local function hook(event) events[#events + 1] = event end
        debug.sethook(hook, 'cr', 0)
        local function f() end
        f()
        local h, mask, count = debug.gethook()
        debug.sethook()
        local co = coroutine.create(function() coroutine.yield() end)
        debug.sethook(co, hook, 'l', 3)
        local co_hook, co_mask = debug.gethook(co)
        debug.sethook(co)
        return events, h == hook, mask, count, co_hook == hook, co_mask
        """
    )
    assert "call" in events.values() and "return" in events.values()
    assert (hook, mask, count, co_hook, co_mask) == (True, "cr", 0, True, "l")
    assert lua.eval("(debug.gethook())") is None


def test_collecting_garbage_at_the_memory_limit_after_the_registry_was_rewritten(lupa):
    """On Lua 5.1 the protected collection needs its C function from the registry; making it
    again there allocated unprotected (a Lua panic that exits the process)."""
    out = run_isolated(
        lupa,
        """
        lua = lupa.LuaRuntime(max_memory=0)
        lua.execute('''
            local r = debug.getregistry()
            for k in pairs(r) do if type(k) ~= 'string' then r[k] = {1, nil, 3} end end
        ''')
        lua.set_max_memory(20000)
        for _ in range(3):
            try:
                lua.gccollect()
            except lupa.LuaError as error:
                assert "registry" in str(error) or "memory" in str(error), error
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


@pytest.mark.parametrize("value", ["-5", "2^40", "1.5", "'x'", "{}", "0", "2", "LIVE"])
def test_references_survive_a_rewritten_free_list(lupa, value):
    """`luaL_ref` and `luaL_unref` keep their free list in the registry (at 0 on Lua 5.1-5.3
    and LuaJIT, 3 on 5.4, 1 on 5.5), where a script can write anything, including a reference
    still in use: wrappers may then see other values, but nothing may crash."""
    tamper = f"""
        local r, live = debug.getregistry(), 0
        for k, v in pairs(r) do if type(k) == 'number' and k > live then live = k end end
        local value = {value}
        for _, slot in ipairs({{0, 1, 3}}) do r[slot] = value end
    """.replace("LIVE", "live")
    out = run_isolated(
        lupa,
        f"""
        import gc
        lua = lupa.LuaRuntime()
        kept = [lua.table(i) for i in range(10)]
        co = lua.eval("function() coroutine.yield(1) coroutine.yield(2) end").coroutine()
        next(co)
        lua.execute({tamper!r})
        for round in range(3):
            made = [lua.table(i) for i in range(20)]
            made += [lua.eval("{{}}") if round else lua.globals() for _ in range(5)]
            del kept[::2]
            for wrapper in made + kept:
                try:
                    list(wrapper.items())
                except (TypeError, lupa.LuaError):
                    pass
            for operation in (next, bool):
                try:
                    operation(co)
                except (TypeError, StopIteration, lupa.LuaError):
                    pass
            kept += made
            gc.collect()
        try:
            lua.gccollect()
        except lupa.LuaError:
            pass
        del kept, made, co, lua
        gc.collect()
        print("ok")
        """,
    )
    assert out.split() == ["ok"]


@pytest.mark.parametrize("replacement", ["print", "python.as_function(python.builtins.len)"])
def test_registered_c_functions_replaced_by_other_functions_are_not_called(lupa, replacement):
    """On Lua 5.1 and LuaJIT, lupa keeps its protected operations in the registry (pushing a C
    function allocates there).  A script that put other functions in their place had them
    called as the operations, whose results lupa then used as tables, strings, ... (a crash,
    or endless recursion with a Python callable)."""
    tamper = f"""
        local r, replacement = debug.getregistry(), {replacement}
        for k, v in pairs(r) do
            if type(k) == 'userdata' and type(v) == 'function' then r[k] = replacement end
        end
    """
    out = run_isolated(
        lupa,
        f"""
        lua = lupa.LuaRuntime(max_memory=0)
        lua.execute({tamper!r})
        operations = [
            lambda: lua.table(1, 2),
            lambda: lua.table_from({{"a": 1}}),
            lambda: lua.eval("function(x) return x end")(object()),
            lambda: list(lua.globals().items()),
            lambda: lua.execute("for x in python.iter(python.builtins.range(3)) do end"),
            lambda: lua.globals().__setitem__("x", "a string"),
            lua.gccollect,
        ]
        for operation in operations:
            try:
                operation()
            except lupa.LuaError as error:
                assert "registry" in str(error), error
        print("ok")
        """,
    )
    assert out.split() == ["ok"]
