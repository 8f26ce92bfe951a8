"""string.find, string.match, string.gmatch and string.gsub: limits stop them, results stay.

Lua matches a pattern inside one C call: ``("a"):rep(40):find(("a?"):rep(40) .. ("a"):rep(40))``
backtracks 2^40 steps without executing a single VM instruction, so no debug hook fires and no
limit could stop it.  lupa-rs replaces the four functions with a port of each flavour's matcher
that polls the limits (crates/safe-lua/src/strlib).  These tests check that time limits,
instruction budgets, ``interrupt()`` and Ctrl-C stop such a match, and that ordinary results
and error messages are Lua's (crates/safe-lua/tests/strlib.rs compares many random cases with
the C functions).
"""

import re
import threading
import time

import pytest
from helpers import fresh_python, watchdog

#: Generous bound for "stops promptly" on a loaded 2-core machine (debug builds).
PROMPT = 5.0

#: 2^40 steps of backtracking (hours), whichever function runs the pattern.
CATASTROPHIC = "local s, p = ('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40)\n"

CALLS = {
    "find": "return s:find(p)",
    "match": "return string.match(s, p)",
    "gmatch": "for m in s:gmatch(p) do end",
    "gsub": "return s:gsub(p, '%0')",
    "gsub with a function": "return s:gsub(p, function(m) return m end)",
    "gsub with a table": "return s:gsub(p, {})",
}


def still_works(lua):
    assert lua.eval("select(2, ('abc'):find('b'))") == 2
    assert lua.eval("(('hello'):gsub('l', 'L'))") == "heLLo"


@pytest.mark.improvement
@pytest.mark.parametrize("call", list(CALLS))
def test_a_timeout_stops_a_catastrophic_pattern(lupa, call):
    lua = lupa.LuaRuntime(timeout=0.5)
    started = time.monotonic()
    with watchdog(), pytest.raises(lupa.LuaTimeoutError):
        lua.execute(CATASTROPHIC + CALLS[call])
    assert time.monotonic() - started < PROMPT
    still_works(lua)


@pytest.mark.improvement
@pytest.mark.parametrize("call", ["find", "gsub with a function"])
def test_pcall_does_not_catch_the_stop(lupa, call):
    lua = lupa.LuaRuntime(timeout=0.5)
    code = "while true do pcall(function() " + CALLS[call] + " end) end"
    with watchdog(), pytest.raises(lupa.LuaTimeoutError):
        lua.execute(CATASTROPHIC + code)
    still_works(lua)


@pytest.mark.improvement
@pytest.mark.parametrize("call", list(CALLS))
def test_an_instruction_budget_stops_a_catastrophic_pattern(lupa, call):
    lua = lupa.LuaRuntime(max_instructions=10**7)
    started = time.monotonic()
    with watchdog(), pytest.raises(lupa.LuaInstructionLimitError):
        lua.execute(CATASTROPHIC + CALLS[call])
    assert time.monotonic() - started < PROMPT
    still_works(lua)


@pytest.mark.improvement
def test_matching_is_charged_to_the_instruction_budget_but_normal_work_fits(lupa):
    lua = lupa.LuaRuntime(max_instructions=10**6)
    assert lua.eval("select(2, ('word '):rep(10000):gsub('%w+', '<%0>'))") == 10000


@pytest.mark.improvement
def test_interrupt_stops_a_catastrophic_pattern_from_another_thread(lupa):
    lua = lupa.LuaRuntime()
    matching = threading.Event()
    lua.globals().matching = matching.set

    def interrupter():
        matching.wait(30)
        lua.interrupt()

    thread = threading.Thread(target=interrupter)
    thread.start()
    started = time.monotonic()
    with watchdog(), pytest.raises(lupa.LuaInterruptError):
        lua.execute(CATASTROPHIC + "matching() return s:find(p)")
    thread.join(30)
    assert time.monotonic() - started < PROMPT
    still_works(lua)


@pytest.mark.improvement
def test_ctrl_c_stops_a_catastrophic_pattern_in_the_main_thread():
    result = fresh_python(
        """
        import importlib, os, re, signal, threading, time, lupa
        directory = os.path.dirname(lupa.__file__)
        names = sorted({m.group(1) for m in (re.match(r"^(lua[a-z]*[0-9]*)\\.(?:.+\\.)?so$", f)
                                            for f in os.listdir(directory)) if m})
        for name in names:
            module = importlib.import_module("lupa." + name)
            lua = module.LuaRuntime()
            matching = threading.Event()
            lua.globals().matching = matching.set
            def interrupt():
                matching.wait(30)
                os.kill(os.getpid(), signal.SIGINT)
            threading.Thread(target=interrupt).start()
            started = time.monotonic()
            try:
                lua.execute(CATASTROPHIC + "matching() return s:gsub(p, '')")
            except KeyboardInterrupt:
                print(name, "interrupted after", round(time.monotonic() - started, 2))
            assert lua.eval("(('abc'):gsub('b', 'B'))") == "aBc"
        """.replace("CATASTROPHIC", repr(CATASTROPHIC)),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.split("\n") if line]
    assert lines and all("interrupted" in line for line in lines), result.stdout
    for line in lines:
        assert float(line.split()[-1]) < PROMPT, line


# --------------------------------------------------------------------------------------------
# results and errors are Lua's (also against upstream lupa)


def test_find_and_match(lupa):
    lua = lupa.LuaRuntime()
    assert lua.eval("('THE (quick) fox'):find('%f[%a]%a+', 5)") == (6, 10)
    assert lua.eval("('x(a(b)c)y'):match('%b()')") == "(a(b)c)"
    assert lua.eval("('hello'):match('()ll()')") == (3, 5)
    assert lua.eval("('key = value'):match('(%w+)%s*=%s*(%w+)')") == ("key", "value")
    assert lua.eval("('a.b'):find('.', 1, true)") == (2, 2)
    assert lua.eval("('abc'):find('b', -1)") is None
    assert lua.eval("string.find(12345, 34)") == (3, 4)
    assert lua.eval("('aaa'):match('^(a-)a$')") == "aa"


def test_gmatch(lupa):
    lua = lupa.LuaRuntime()
    words = lua.eval(
        "(function() local t = {} for k, v in ('a=1, b=2'):gmatch('(%w+)=(%w+)') do "
        "t[#t + 1] = k .. v end return table.concat(t, ' ') end)()"
    )
    assert words == "a1 b2"


def test_gsub_with_strings_tables_and_functions(lupa):
    lua = lupa.LuaRuntime()
    assert lua.eval("('hello world'):gsub('(%w+)', '<%1>')") == ("<hello> <world>", 2)
    assert lua.eval("('hello world'):gsub('%w+', {hello = 'HI'})") == ("HI world", 2)
    assert lua.eval("('hello world'):gsub('%w+', string.upper, 1)") == ("HELLO world", 1)
    assert lua.eval("('abc'):gsub('()', '%1')") == ("1a2b3c4", 4)
    assert lua.eval("('abc'):gsub('', '-')") == ("-a-b-c-", 4)
    assert lua.eval("('x = 1'):gsub('%d', function(d) return d + 1 end)") == ("x = 2", 1)


@pytest.mark.parametrize(
    "code, message",
    [
        ("('x'):find('[a')", "malformed pattern (missing ']')"),
        ("('x'):find('%')", "malformed pattern (ends with '%')"),
        ("('x'):match('(')", "unfinished capture"),
        ("('x'):match('%1')", "invalid capture index"),
        ("('x'):gsub('x', '%2')", "invalid capture index"),
        ("('x'):gsub('x', function() return {} end)", "invalid replacement value (a table)"),
        ("('x'):gsub('x', true)", "bad argument #2 to 'gsub'"),
        ("string.find()", "bad argument #1 to"),
        ("(('a'):rep(300)):find(('a?'):rep(300))", "pattern too complex"),
    ],
)
def test_errors_are_the_c_library_s(lupa, code, message):
    lua = lupa.LuaRuntime()
    if "too complex" in message and lupa.LUA_VERSION == (5, 1) and "jit" not in lupa.__name__:
        pytest.skip("Lua 5.1 has no recursion limit in its matcher")
    with pytest.raises(lupa.LuaError, match=re.escape(message)):
        # (Not a tail call: LuaJIT names no function in the message then.)
        lua.execute("local r = " + code + " return r")


def test_an_error_in_a_replacement_function_keeps_its_traceback(lupa):
    lua = lupa.LuaRuntime()
    traceback = lua.eval(
        "select(2, xpcall(function() local r = ('x'):gsub('x', function() error('boom') end) "
        "return r end, debug.traceback))"
    )
    # The handler ran where the error was raised, inside the replacement function.
    lines = traceback.split("\n")
    assert lines[0].endswith("boom")
    assert "in function 'error'" in lines[2]
    assert "in function 'gsub'" in lines[4] or "in function 'string.gsub'" in lines[4]


def test_gsub_results_count_against_the_memory_limit(lupa):
    if lupa.__name__.endswith("luajit20"):
        pytest.skip("LuaJIT 2.0 (64 bit) cannot create a runtime with a custom allocator")
    lua = lupa.LuaRuntime(max_memory=10_000_000)
    code = "local s = ('x'):rep(1000000) return #s:gsub('x', ('%0'):rep(20))"
    if lupa.LUA_VERSION == (5, 3):
        # Lua 5.3's luaL_Buffer raises a runtime error of its own.
        with pytest.raises(lupa.LuaError, match="not enough memory for buffer allocation"):
            lua.execute(code)
    else:
        with pytest.raises(lupa.LuaMemoryError):
            lua.execute(code)
    assert lua.eval("#(('x'):rep(1000):gsub('x', '%0%0'))") == 2000
