"""Escape attempts against LuaRuntime(sandbox=True, timeout=..., max_memory=...).

Each attempt is a script of a hostile user.  It must fail with a Python exception, or
evaluate to nil/false, and leave the runtime (and the process) working.
"""

import pytest

pytestmark = pytest.mark.improvement

ATTEMPTS = {
    # Reaching the host.
    "io.open": "return io.open('/etc/passwd')",
    "os.execute": "return os.execute('echo escaped')",
    "os.exit": "return os.exit(1)",
    "os.getenv": "return os.getenv('HOME')",
    "os.remove": "return os.remove('/tmp/x')",
    "require": "return require('os')",
    "package.loadlib": "return package.loadlib('libc.so.6', 'system')",
    "dofile": "return dofile('/etc/passwd')",
    "loadfile": "return loadfile('/etc/passwd')",
    "python.eval": "return python.eval('__import__(\"os\")')",
    "python.builtins": "return python.builtins.open",
    "ffi": "return ffi or jit",
    # The registry and other runtimes' internals.
    "debug.getregistry": "return debug.getregistry()",
    "debug.getupvalue of load": "return debug.getupvalue(load, 1)",
    "getfenv": "return getfenv(0)",
    "collectgarbage": "return collectgarbage('collect')",
    "newproxy": "return newproxy(true)",
    # Bytecode.
    "string.dump": "return string.dump(function() end)",
    "load with mode b": "return (load(string.char(27) .. 'LuaS', 'x', 'b'))",
    "load binary text": "return ((loadstring or load)(string.char(27, 76, 117, 97, 83, 0)))",
    # Metatables.
    "string metatable": "local mt = getmetatable('') mt.__index = nil return mt",
    "string metatable via rawset": "return rawset(getmetatable(''), '__index', nil)",
    "setmetatable on strings": "return setmetatable('', {})",
    "_G replaced": "_G = nil return io",
    # Resources.
    "memory bomb": "local s = 'x' while true do s = s .. s end",
    "table bomb": "local t = {} for i = 1, 1e9 do t[i] = i end",
    "string.rep bomb": "return #string.rep('x', 2^40)",
    "string.rep of a long string": "return #string.rep(('y'):rep(2^20), 2^20)",
    "deep recursion": "local function f() return 1 + f() end return f()",
    "deep pcall recursion": "local function f() return pcall(f) end f()",
    "coroutine recursion": ("local function f() return coroutine.wrap(f)() end return f()"),
    "endless loop": "while true do end",
    "endless loop in pcall": "while true do pcall(function() while true do end end) end",
    "endless finalizer": (
        "setmetatable({}, {__gc = function() while true do end end}) "
        "for i = 1, 1e6 do local t = {} end return 1 + nil"
    ),
    "format bomb": "return string.format('%099999999d', 1)",
    "concat bomb": "local t = {} for i = 1, 1e8 do t[i] = 'xxxxxxxxxx' end return table.concat(t)",
}


@pytest.fixture
def sandbox(lupa):
    return lupa.LuaRuntime(sandbox=True, timeout=1.0, max_memory=50_000_000)


@pytest.mark.parametrize("name", sorted(ATTEMPTS))
def test_escape_attempt_fails(lupa, sandbox, name):
    if name == "endless finalizer" and not lupa._COMPLETE_LIMITS:
        pytest.skip("limits do not reach finalizers in this build (see docs/guide.md)")
    try:
        result = sandbox.execute(ATTEMPTS[name])
    except (lupa.LuaError, AttributeError, TypeError, MemoryError):
        pass
    else:
        assert result in (None, False), (name, result)
    # The runtime goes on working.
    assert sandbox.eval("1 + 1") == 2
    assert sandbox.eval("type(io)") == "nil"
