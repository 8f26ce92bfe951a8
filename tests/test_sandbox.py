"""LuaRuntime(sandbox=True): the globals a sandbox has, and the doors it keeps shut.

The escape attempts of hostile scripts are in test_sandbox_escapes.py.
"""

import pytest

pytestmark = pytest.mark.improvement

BASE = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal",
    "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type",
    "unpack", "xpcall", "_G", "_VERSION", "load", "loadstring",
    "string", "table", "math", "utf8", "coroutine", "bit32", "bit", "os",
    "typeof", "buffer", "vector",  # (Luau)
}  # fmt: skip

ABSENT = [
    "io", "debug", "package", "require", "dofile", "loadfile", "collectgarbage", "print",
    "getfenv", "setfenv", "module", "newproxy", "gcinfo", "jit", "ffi", "python",
]  # fmt: skip


@pytest.fixture
def sandbox(lupa):
    return lupa.LuaRuntime(sandbox=True)


def version(lua):
    return lua.eval("_VERSION")


def keys(lua, table):
    """The keys of a Lua table (given by name), as a set."""
    code = f"(function() local t = {{}} for k in pairs({table}) do t[#t+1] = k end return t end)()"
    return set(lua.eval(code).values())


def test_the_globals_are_the_documented_set(lupa, sandbox):
    names = keys(sandbox, "_G")
    assert names <= BASE, names - BASE
    # Everything of the documented set that the flavour has stays.
    plain = lupa.LuaRuntime()
    for name in BASE:
        if plain.eval(f"rawget(_G, {name!r}) ~= nil") and name not in ("load", "loadstring"):
            assert name in names, name
    assert {"string", "table", "math", "coroutine", "os", "pcall"} <= names
    if plain.eval("load") is not None:
        assert "load" in names


@pytest.mark.parametrize("name", ABSENT)
def test_dangerous_globals_are_absent(sandbox, name):
    assert sandbox.eval(f"rawget(_G, {name!r})") is None


def test_library_tables_are_trimmed(sandbox):
    assert sandbox.eval("string.dump") is None
    assert keys(sandbox, "os") == {"clock", "date", "difftime", "time"}
    assert sandbox.eval("type(string.format('%d', 3))") == "string"
    assert sandbox.eval("('abc'):upper()") == "ABC"


def test_load_accepts_text_with_the_sandbox_globals(sandbox):
    # (Lua 5.1's `load` takes reader functions only, its `loadstring` takes strings.)
    assert sandbox.eval("(loadstring or load)('return 1 + 2')()") == 3
    assert sandbox.eval("(loadstring or load)('return io')()") is None
    assert sandbox.eval("(loadstring or load)('return type(string)')()") == "table"
    env = sandbox.eval("{x = 42}")
    if version(sandbox) != "Lua 5.1":
        load_in = sandbox.eval("function(env) return load('return x', 'chunk', 't', env)() end")
        assert load_in(env) == 42
    pieces = sandbox.eval(
        "function() local parts = {'return ', '7'} local i = 0 "
        "return function() i = i + 1 return parts[i] end end"
    )()
    assert sandbox.eval("function(reader) return load(reader)() end")(pieces) == 7


def test_load_refuses_bytecode(lupa, sandbox):
    dump = lupa.LuaRuntime(encoding=None).eval("string.dump(function() return 'escaped' end)")
    assert dump[:1] == b"\x1b"
    load = sandbox.eval("function(code) return (loadstring or load)(code) end")
    function, message = load(dump)
    assert function is None
    assert "binary" in message or "mode" in message
    if sandbox.eval("loadstring") is not None:
        function, message = sandbox.eval("function(code) return loadstring(code) end")(dump)
        assert function is None and ("binary" in message or "mode" in message)
    reader = sandbox.eval(
        "function(code) local done = false "
        "return function() if done then return nil end done = true return code end end"
    )(dump)
    assert sandbox.eval("function(reader) return load(reader) end")(reader)[0] is None


def test_the_host_refuses_bytecode_in_a_sandbox(lupa, sandbox):
    dump = lupa.LuaRuntime(encoding=None).eval("string.dump(function() return 'escaped' end)")
    for run in (sandbox.execute, sandbox.compile, sandbox.eval):
        with pytest.raises(lupa.LuaSyntaxError, match="binary"):
            run(dump)
    # Outside a sandbox, the host may load bytecode (as upstream).
    assert lupa.LuaRuntime().execute(dump) == "escaped"


def test_the_string_metatable_is_guarded(sandbox):
    assert sandbox.eval("getmetatable('')") is False
    assert sandbox.eval("(pcall(setmetatable, '', {}))") is False
    assert sandbox.eval("('x'):rep(3)") == "xxx"


def test_python_objects_hide_their_metatable_and_private_attributes(lupa, sandbox):
    class Thing:
        public = 1
        _private = 2

        def method(self):
            return "called"

    sandbox.globals().thing = Thing()
    assert sandbox.eval("thing.public") == 1
    assert sandbox.eval("thing:method()") == "called"
    assert sandbox.eval("getmetatable(thing)") is False
    for name in ("_private", "__class__", "__dict__", "__init__"):
        with pytest.raises((AttributeError, lupa.LuaError), match="private attribute"):
            sandbox.eval(f"thing.{name}")
    with pytest.raises((AttributeError, lupa.LuaError), match="private attribute"):
        sandbox.execute("thing._private = 5")
    assert Thing._private == 2
    ok, message = sandbox.eval("pcall(function() return thing.__class__ end)")
    assert ok is False


def test_generators_and_tracebacks_do_not_lead_to_frames(lupa, sandbox):
    """`gen.gi_frame.f_builtins.exec` needs no `_` name: frames, code and tracebacks are
    hidden under their plain names too."""

    def numbers():
        yield from range(3)

    try:
        raise ValueError("caught")
    except ValueError as error:
        traceback = error.__traceback__
    sandbox.globals().numbers = numbers()
    sandbox.globals().traceback = traceback
    for path in ("numbers.gi_frame", "numbers.gi_code", "traceback.tb_frame"):
        with pytest.raises((AttributeError, lupa.LuaError), match="private attribute"):
            sandbox.eval(path)
    assert sandbox.eval("traceback.tb_lineno") == traceback.tb_lineno
    ok, _ = sandbox.eval("pcall(function() return numbers.gi_frame.f_builtins end)")
    assert ok is False


def test_the_hosts_own_attribute_filter_decides_instead(lupa):
    class Thing:
        _private = 2

    lua = lupa.LuaRuntime(sandbox=True, attribute_filter=lambda obj, name, setting: name)
    lua.globals().thing = Thing()
    assert lua.eval("thing._private") == 2


def test_a_sandbox_has_no_python_module(lupa):
    with pytest.raises(ValueError, match="sandbox"):
        lupa.LuaRuntime(sandbox=True, register_eval=True)
    with pytest.raises(ValueError, match="sandbox"):
        lupa.LuaRuntime(sandbox=True, register_builtins=True)
    lua = lupa.LuaRuntime(sandbox=True, register_eval=False, register_builtins=False)
    assert lua.eval("python") is None


def test_the_host_can_still_give_functions(sandbox):
    seen = []
    sandbox.globals().print = lambda *args: seen.append(args)
    sandbox.execute("print('hello', 1)")
    assert seen == [("hello", 1)]


def test_sandbox_combines_with_limits(lupa):
    # (A time limit far enough for the memory bomb to hit max_memory first, even when slow.)
    lua = lupa.LuaRuntime(sandbox=True, timeout=2, max_memory=10_000_000)
    with pytest.raises(lupa.LuaTimeoutError):
        lua.execute("while true do end")
    with pytest.raises(lupa.LuaMemoryError):
        lua.execute("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end")
    assert lua.eval("1 + 1") == 2
