"""The benchmark cases: one list, run unchanged against lupa-rs and upstream lupa.

Every case is plain source text (setup + statement) so that the *same* code runs in both
processes; the only thing that differs between the two sides is which ``lupa`` package the
interpreter imports. The setup runs once in a fresh namespace holding ``lupa`` (the flavour
module, e.g. ``lupa.lua54``), ``LuaRuntime`` and a fresh runtime ``lua``. The statement is
then timed in a calibrated loop (see ``timing.py``).

``ops`` says how many operations one execution of the statement performs, so that the
reported figure is ns per *operation* (one Lua->Python call, not one loop of 1000 of them).
``check`` is an expression evaluated once after the setup; it must be true on both sides and
guards against comparing a fast wrong answer with a slow right one.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    name: str
    setup: str
    stmt: str
    doc: str
    ops: int = 1
    check: str = "True"


#: Runs before every case's own setup.
PRELUDE = "LuaRuntime = lupa.LuaRuntime\nlua = LuaRuntime()\n"

#: Lua loops that call into Python ``n`` times; one op = one crossing.
LUA_LOOP = 1000

# Some operations leave Python objects (bound methods, iterators, exceptions) referenced from
# Lua userdata until Lua's collector runs, which it does rarely because the userdata are
# small. Left alone, the pile grows with the iteration count, so Python's cyclic GC gets slower
# and the time per op would depend on how many ops the calibrated loop ran, i.e. on how fast
# the implementation is. Such cases run a full Lua collection after every batch of ops; its
# cost (a few us, freeing what the batch left behind) is part of the measured cost.
COLLECT = "collect = lua.eval('collectgarbage') or lua.gccollect\n"
# Luau has no collectgarbage(): Lua code that collects calls the runtime's gccollect().
LUA_COLLECT = (
    "if lua.eval('collectgarbage') is None:\n    lua.globals().collectgarbage = lua.gccollect\n"
)
BATCH = 100
BATCH_1000 = 10

# The README mandelbrot (a chunk returning the function), shared with the tests.
MANDELBROT = (Path(__file__).resolve().parent.parent / "examples" / "mandelbrot.lua").read_text()

BIG_TABLE = (
    "big = lua.eval('(function() local t = {} "
    'for i = 1, 1000 do t["k" .. i] = i end return t end)()\')\n'
)


# Worker threads that wait at a barrier, each make THREAD_CALLS calls (`work`, on `target`),
# and meet at another; `run_all()` releases them once and waits for them (thread creation is
# not timed).  Everything the threads use is a closure variable: they outlive the case.
THREAD_CALLS = 2000
THREADS = (
    "def _start_threads(n, target):\n"
    "    import threading\n"
    "    start, done = threading.Barrier(n + 1), threading.Barrier(n + 1)\n"
    "    def worker():\n"
    "        while True:\n"
    "            start.wait()\n"
    f"            for i in range({THREAD_CALLS}):\n"
    "                {work}\n"
    "            done.wait()\n"
    "    for _t in range(n):\n"
    "        threading.Thread(target=worker, daemon=True).start()\n"
    "    def run_all():\n"
    "        start.wait()\n"
    "        done.wait()\n"
    "    return run_all\n"
    "run_all = _start_threads({n}, {target})\n"
)


def _lua_loop(lua_function: str) -> str:
    return f"loop = lua.eval({lua_function!r})\n"


def _string_cases() -> list[Case]:
    """Large str/bytes crossing the boundary in both directions."""
    cases = []
    for label, size in (("100k", 100_000), ("1m", 1_000_000)):
        get = f"(function() local s = string.rep('x', {size}) return function() return s end end)()"
        cases += [
            Case(
                f"str_in_{label}",
                f"s = 'x' * {size}\nf = lua.eval('function(s) return #s end')\n",
                "f(s)",
                f"pass a {label} str to Lua (encode + copy)",
                check=f"f(s) == {size}",
            ),
            Case(
                f"str_out_{label}",
                f"get = lua.eval({get!r})\n",
                "get()",
                f"return a {label} Lua string as str (decode)",
                check=f"get() == 'x' * {size}",
            ),
            Case(
                f"bytes_in_{label}",
                f"b = b'x' * {size}\nf = lua.eval('function(s) return #s end')\n",
                "f(b)",
                f"pass {label} bytes to Lua",
                check=f"f(b) == {size}",
            ),
            Case(
                f"bytes_out_{label}",
                f"raw = LuaRuntime(encoding=None)\nget = raw.eval({get!r})\n",
                "get()",
                f"return a {label} Lua string as bytes (encoding=None)",
                check=f"get() == b'x' * {size}",
            ),
        ]
    return cases


CASES: list[Case] = [
    # Python -> Lua calls
    Case("call_0args", "f = lua.eval('function() end')\n", "f()", "Python calls Lua, no args"),
    Case(
        "call_1arg",
        "f = lua.eval('function(a) return a end')\n",
        "f(1)",
        "Python calls Lua, 1 int arg and result",
        check="f(1) == 1",
    ),
    Case(
        "call_3args",
        "f = lua.eval('function(a, b, c) return c end')\n",
        "f(1, 2.5, True)",
        "Python calls Lua, 3 args (int, float, bool)",
        check="f(1, 2.5, True) is True",
    ),
    Case(
        "call_3results",
        "f = lua.eval('function() return 1, 2.5, true end')\n",
        "f()",
        "Python calls Lua, 3 results (tuple)",
        check="f() == (1, 2.5, True)",
    ),
    Case(
        "call_str",
        "f = lua.eval('function(s) return s end')\n",
        "f('spam and eggs')",
        "Python calls Lua, short str arg and str result",
        check="f('spam and eggs') == 'spam and eggs'",
    ),
    # Lua -> Python calls
    Case(
        "lua_calls_py_function",
        _lua_loop("function(f, n) for i = 1, n do f(i) end end")
        + "def py_function(x):\n    return x\n",
        f"loop(py_function, {LUA_LOOP})",
        "Lua calls a Python function (per call)",
        ops=LUA_LOOP,
    ),
    Case(
        "lua_calls_py_builtin",
        _lua_loop("function(f, n) for i = 1, n do f(i) end end"),
        f"loop(abs, {LUA_LOOP})",
        "Lua calls a Python builtin, abs (per call)",
        ops=LUA_LOOP,
    ),
    Case(
        "lua_calls_py_method",
        _lua_loop("function(o, n) for i = 1, n do o:m() end collectgarbage() end")
        + LUA_COLLECT
        + "class Obj:\n    def m(self):\n        return 1\nobj = Obj()\n",
        f"loop(obj, {LUA_LOOP})",
        "Lua calls a Python method, obj:m() (per call)",
        ops=LUA_LOOP,
    ),
    # Lua accessing Python objects
    Case(
        "lua_getattr",
        _lua_loop("function(o, n) local x for i = 1, n do x = o.value end return x end")
        + "class Obj:\n    value = 42\nobj = Obj()\n",
        f"loop(obj, {LUA_LOOP})",
        "Lua reads an attribute of a Python object (per read)",
        ops=LUA_LOOP,
        check=f"loop(obj, {LUA_LOOP}) == 42",
    ),
    Case(
        "lua_setattr",
        _lua_loop("function(o, n) for i = 1, n do o.value = i end end")
        + "class Obj:\n    value = 0\nobj = Obj()\n",
        f"loop(obj, {LUA_LOOP})",
        "Lua writes an attribute of a Python object (per write)",
        ops=LUA_LOOP,
        check=f"loop(obj, {LUA_LOOP}) is None and obj.value == {LUA_LOOP}",
    ),
    Case(
        "lua_index_dict",
        _lua_loop("function(d, n) local x for i = 1, n do x = d['key'] end return x end")
        + "d = {'key': 42}\n",
        f"loop(d, {LUA_LOOP})",
        "Lua indexes a Python dict with a str key (per lookup)",
        ops=LUA_LOOP,
        check=f"loop(d, {LUA_LOOP}) == 42",
    ),
    Case(
        "lua_index_list",
        _lua_loop("function(l, n) local x for i = 1, n do x = l[5] end return x end")
        + "lst = list(range(10))\n",
        f"loop(lst, {LUA_LOOP})",
        "Lua indexes a Python list (per lookup)",
        ops=LUA_LOOP,
        check=f"loop(lst, {LUA_LOOP}) == 5",
    ),
    # Lua tables from Python
    Case(
        "table_getitem",
        "t = lua.eval('{10, 20, 30, key = \"v\"}')\n",
        "t[2]",
        "t[2] on a Lua table",
        check="t[2] == 20",
    ),
    Case("table_setitem", "t = lua.eval('{10, 20, 30}')\n", "t[2] = 5", "t[2] = 5 on a Lua table"),
    Case(
        "table_len",
        "t = lua.eval('{10, 20, 30}')\n",
        "len(t)",
        "len() of a Lua table",
        check="len(t) == 3",
    ),
    Case(
        "table_getattr",
        "t = lua.eval('{key = \"v\"}')\n",
        "t.key",
        "t.key on a Lua table",
        check="t.key == 'v'",
    ),
    Case(
        "table_setattr",
        "t = lua.eval('{key = \"v\"}')\n",
        "t.key = 'w'",
        "t.key = 'w' on a Lua table",
    ),
    Case(
        "table_iter_keys_1000",
        BIG_TABLE,
        "for _k in big.keys(): pass",
        "one pass over keys() of a 1000-entry table",
        check="len(list(big.keys())) == 1000",
    ),
    Case(
        "table_iter_values_1000",
        BIG_TABLE,
        "for _v in big.values(): pass",
        "one pass over values() of a 1000-entry table",
        check="sum(big.values()) == 500500",
    ),
    Case(
        "table_iter_items_1000",
        BIG_TABLE,
        "for _k, _v in big.items(): pass",
        "one pass over items() of a 1000-entry table",
        check="dict(big.items())['k7'] == 7",
    ),
    # table_from
    Case(
        "table_from_list_1000",
        "lst = list(range(1000))\n",
        "lua.table_from(lst)",
        "table_from() of a 1000-item list",
        check="len(lua.table_from(lst)) == 1000",
    ),
    Case(
        "table_from_dict_1000",
        "d = {f'k{i}': i for i in range(1000)}\n",
        "lua.table_from(d)",
        "table_from() of a 1000-item dict",
        check="lua.table_from(d)['k999'] == 999",
    ),
    Case(
        "table_from_nested",
        "nested = [{'id': i, 'tags': ['a', 'b'], 'pos': {'x': i, 'y': -i}} for i in range(100)]\n",
        "lua.table_from(nested, recursive=True)",
        "table_from(recursive=True) of 100 dicts holding a list and a dict",
        check="lua.table_from(nested, recursive=True)[100]['pos']['y'] == -99",
    ),
    # big strings and bytes
    *_string_cases(),
    # misc API
    Case(
        "eval_small",
        "",
        "lua.eval('1 + 2 * 3')",
        "eval() of a small expression (compiles each time)",
        check="lua.eval('1 + 2 * 3') == 7",
    ),
    Case("globals_call", "", "lua.globals()", "lua.globals()"),
    Case(
        "globals_lookup",
        "g = lua.globals()\n",
        "g.print",
        "lookup of a global function in globals()",
    ),
    Case(
        "coroutine_send",
        "co = lua.eval('function() local v = 0 while true do v = coroutine.yield(v) end end')"
        ".coroutine()\nco.send(None)\n",
        "co.send(1)",
        "send() round trip into a Lua coroutine",
        check="co.send(7) == 7",
    ),
    Case(
        "coroutine_iter_1000",
        "gen = lua.eval('function(n) for i = 1, n do coroutine.yield(i) end end')\n",
        "for _x in gen.coroutine(1000): pass",
        "one pass over a Lua coroutine yielding 1000 values",
        check="sum(gen.coroutine(1000)) == 500500",
    ),
    Case(
        "python_iter_1000",
        "f = lua.eval('function(l) local s = 0 for x in python.iter(l) do s = s + x end "
        "return s end')\nlst = list(range(1000))\n" + COLLECT,
        f"for _i in range({BATCH_1000}):\n    f(lst)\ncollect()",
        "one Lua loop over python.iter() of a 1000-item list",
        ops=BATCH_1000,
        check="f(lst) == 499500",
    ),
    Case(
        "python_enumerate_1000",
        "f = lua.eval('function(l) local s = 0 for i, x in python.enumerate(l) do "
        "s = s + x end return s end')\nlst = list(range(1000))\n" + COLLECT,
        f"for _i in range({BATCH_1000}):\n    f(lst)\ncollect()",
        "one Lua loop over python.enumerate() of a 1000-item list",
        ops=BATCH_1000,
        check="f(lst) == 499500",
    ),
    Case(
        "mandelbrot_256",
        f"mandelbrot = LuaRuntime(encoding=None).execute({MANDELBROT!r})\n",
        "mandelbrot(256, 1, 1)",
        "README mandelbrot, N=256, one thread",
        check="len(mandelbrot(256, 1, 1)) == 256 * 256 // 8",
    ),
    # errors
    Case(
        "lua_error_caught",
        "f = lua.eval('function() error(\"boom\") end')\n",
        "try:\n    f()\nexcept lupa.LuaError:\n    pass",
        "Lua error() caught as LuaError in Python",
    ),
    Case(
        "py_exception_through_lua",
        "call = lua.eval('function(f) return f() end')\n"
        + COLLECT
        + "def raiser():\n    raise ValueError('boom')\n",
        f"for _i in range({BATCH}):\n"
        "    try:\n        call(raiser)\n    except ValueError:\n        pass\n"
        "collect()",
        "Python exception raised in a callback, propagated through Lua",
        ops=BATCH,
    ),
    Case(
        "py_exception_pcall_in_lua",
        _lua_loop(
            "function(f, n) local k = 0 for i = 1, n do if not pcall(f) then k = k + 1 end end "
            "collectgarbage() return k end"
        )
        + LUA_COLLECT
        + "def raiser():\n    raise ValueError('boom')\n",
        f"loop(raiser, {LUA_LOOP})",
        "Python exception raised in a callback, caught by pcall in Lua (per call)",
        ops=LUA_LOOP,
        check=f"loop(raiser, {LUA_LOOP}) == {LUA_LOOP}",
    ),
    # threads sharing one runtime
    Case(
        "shared_runtime_4_threads",
        "f = lua.eval('function(x) return x end')\n"
        + THREADS.format(n=4, work="target(i)", target="f"),
        "run_all()",
        "4 threads calling a Lua function of one runtime (per call, all threads)",
        ops=4 * THREAD_CALLS,
        check="run_all() is None and f(3) == 3",
    ),
    Case(
        "shared_coroutine_2_threads",
        "gen = lua.eval('function() local i = 0 while true do i = i + 1 coroutine.yield(i) "
        "end end').coroutine()\n" + THREADS.format(n=2, work="next(target)", target="gen"),
        "run_all()",
        "2 threads resuming one Lua coroutine in turns (per resume, both threads)",
        ops=2 * THREAD_CALLS,
        check="run_all() is None and next(gen) > 0",
    ),
    # Lua's pattern functions (lupa-rs: lua-patterns' matcher, which the limits can stop)
    Case(
        "string_gsub_words",
        "f = lua.eval(\"(function() local text = ('the quick brown fox jumps over the lazy dog ')"
        ":rep(250) return function() return select(2, text:gsub('%w+', '<%0>')) end end)()\")\n",
        "f()",
        "string.gsub of the words of an 11 KB text with '<%0>' (per call)",
        check="f() == 2250",
    ),
    Case(
        "string_find_plain_1m",
        "f = lua.eval(\"(function() local s = ('a'):rep(1000000) .. 'b' "
        "return function() return (s:find('b', 1, true)) end end)()\")\n",
        "f()",
        "string.find of a rare byte in 1 MB, plain (per call)",
        check="f() == 1000001",
    ),
    # runtimes
    Case("runtime_create", "", "LuaRuntime()", "create and discard a LuaRuntime"),
]

CASES_BY_NAME = {case.name: case for case in CASES}


def select(patterns: str | None) -> list[Case]:
    """Cases matching comma-separated globs; a pattern without wildcards matches substrings."""
    if not patterns:
        return list(CASES)
    globs = []
    for pattern in filter(None, (p.strip() for p in patterns.split(","))):
        globs.append(pattern if any(c in pattern for c in "*?[") else f"*{pattern}*")
    return [case for case in CASES if any(fnmatch.fnmatchcase(case.name, g) for g in globs)]
