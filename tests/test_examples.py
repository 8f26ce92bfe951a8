"""The programs in examples/ run as their docstrings say, and the guide's copies of their code
are the real code.

The guide's section "Many scripts on many cores" shows the core of examples/many_cores.py in
``python`` code blocks (a process pool cannot run functions defined in a doctest: its workers
import them); the test below checks that every such block is part of the example verbatim, and
the example itself runs here, in subprocesses, on every flavour.
"""

import os
import pathlib
import re
import subprocess
import sys

import lupa as lupa_package
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GUIDE = ROOT / "docs" / "guide.md"
MANY_CORES_SECTION = "## Many scripts on many cores"

pytestmark = pytest.mark.improvement  # sandbox and time limits are lupa-rs'


def run_example(name, *args, timeout=300):
    env = dict(os.environ)
    site_dir = os.path.dirname(os.path.dirname(os.path.abspath(lupa_package.__file__)))
    env["PYTHONPATH"] = site_dir + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def flavour_name(lupa):
    return lupa.__name__.rpartition(".")[2]


def needs_max_memory(lupa):
    try:
        lupa.LuaRuntime(max_memory=0)
    except lupa.LuaError:
        pytest.skip(f"{lupa.__name__} cannot create a runtime with max_memory")


def test_many_cores_demonstration(lupa):
    needs_max_memory(lupa)
    result = run_example("many_cores.py", "--flavour", flavour_name(lupa), "--timeout", "0.5")
    assert result.returncode == 0, result.stderr
    eof = "<eof>" if lupa.LUA_VERSION >= (5, 2) and "jit" not in lupa.__name__ else "'<eof>'"
    syntax_error = f"unexpected symbol near {eof}"
    if flavour_name(lupa) == "luau":
        syntax_error = "Expected identifier when parsing expression, got <eof>"
    lines = result.stdout.splitlines()
    assert lines.pop(3).startswith("not data: error: the result is not plain data: ")
    assert lines == [
        "word count: ok: {'and': 1, 'cat': 1, 'hat': 1, 'the': 2}",
        "fibonacci: ok: [1, 1, 2, 3, 5, 8, 13, 21, 34, 55]",
        "order: ok: {'total': 10}" if lupa.LUA_VERSION < (5, 3) else "order: ok: {'total': 10.0}",
        "runaway: error: Lua code ran past its time limit (0.5 s)",
        f'not Lua: error: [string "<python>"]:1: {syntax_error}',
    ]


def test_many_cores_benchmark(lupa):
    """A small batch: the pool's results are those of one process (the example asserts it)."""
    needs_max_memory(lupa)
    args = ["--benchmark", "--tasks", "4", "--size", "500", "--workers", "2"]
    result = run_example("many_cores.py", *args, "--flavour", flavour_name(lupa))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("4 tasks, 303 primes below 2000, ")
    assert re.match(r"speed-up: +\d+\.\d\dx$", lines[-1])


def _guide_section(title):
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(title + "\n")
    end = text.find("\n## ", start + len(title))
    return text[start : end if end >= 0 else len(text)]


def test_the_guide_shows_the_examples_code():
    blocks = re.findall(r"```python\n(.*?)```", _guide_section(MANY_CORES_SECTION), re.DOTALL)
    assert len(blocks) >= 2
    example = (EXAMPLES / "many_cores.py").read_text(encoding="utf-8")
    for block in blocks:
        assert block in example, f"not in examples/many_cores.py:\n{block}"
