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
