"""The fuzzer's child-process machinery (fuzz/supervisor.py) tells crashes from exceptions.

The fuzzer itself runs apart from the test suite (``python fuzz/run.py --seconds 180``); this
only checks, on one flavour and in a few seconds, that a program which kills its process is
reported as a confirmed crash with its diagnosis, and that the child goes on running programs
after Python exceptions.  The crash is made on purpose (``os.abort()`` from a Python callback),
not by a bug of lupa-rs.
"""

import os
import sys

import pytest

FUZZ_DIRECTORY = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fuzz")
sys.path.insert(0, FUZZ_DIRECTORY)

from conftest import FLAVOURS  # noqa: E402
from failure import is_lua_false_alarm  # noqa: E402
from program import Program  # noqa: E402
from supervisor import Runner  # noqa: E402

pytestmark = pytest.mark.skipif(not FLAVOURS, reason="no flavour built")


@pytest.fixture
def runner():
    runner = Runner(timeout=10, debugger=False)
    yield runner
    runner.close()


def test_exceptions_are_outcomes_and_an_abort_is_a_confirmed_crash(runner):
    flavour = FLAVOURS[0]
    assert runner.run(Program(flavour, "return 1 + 1")).outcome == "ok"
    assert runner.run(Program(flavour, "error('boom')")).outcome == "LuaError"
    worker = runner.worker
    assert runner.run(Program(flavour, "python.builtins.len(1)")).outcome == "TypeError"
    assert runner.worker is worker, "a Python exception must not cost a new child"

    result = runner.run(Program(flavour, "python.eval('__import__(\"os\").abort()')"))

    assert result.failure is not None
    assert result.failure.kind == "crash"
    assert result.failure.ending == "SIGABRT"
    assert "Fatal Python error: Aborted" in result.failure.stderr
    assert result.confirmed, "the program crashes alone too"
    assert runner.run(Program(flavour, "return 1")).outcome == "ok"


def test_a_slow_program_is_not_a_hang_and_an_endless_one_is():
    """A program that outlives the timeout is run alone with more time: one that then ends is
    counted as slow (debug builds make some programs slow), one that does not is a hang."""
    runner = Runner(timeout=0.5, debugger=False)
    try:
        flavour = FLAVOURS[0]
        slow = runner.run(Program(flavour, "python.eval('__import__(\"time\").sleep(1)')"))
        assert (slow.failure, slow.outcome) == (None, "slow")
        endless = runner.run(Program(flavour, "while true do end"))
        assert endless.failure is not None and endless.failure.kind == "hang"
        assert endless.confirmed
    finally:
        runner.close()


def test_lua_assertions_that_lua_itself_trips_are_no_failures():
    """Debug builds of Lua 5.2.4 abort on a `coroutine.wrap` function that calls itself, and
    LuaJIT's on an accounting slip after failed string allocations (in plain Lua too):
    no bugs of lupa, so no failures."""
    lua52 = (
        "python: /root/.cargo/registry/src/lua-src-551.0.2/lua-5.2.4/ldo.c:542: lua_resume: "
        "Assertion `(((L->status == 0) ? nargs + 1 : nargs) < (L->top - L->ci->func)) && "
        '"not enough elements in the stack"\' failed.\nFatal Python error: Aborted\n'
    )
    other = "python: .../lua-5.4.9/lapi.c:727: gettable: Assertion `...' failed.\n"
    luajit = "LuaJIT ASSERT lj_state.c:235: close_state: memory leak of 8 bytes\n"
    assert is_lua_false_alarm(lua52)
    assert is_lua_false_alarm(luajit)
    assert not is_lua_false_alarm(other)
