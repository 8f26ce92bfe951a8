"""Helpers shared by the thread-related tests (imported as ``helpers``: pytest puts this
directory on ``sys.path``)."""

import contextlib
import faulthandler
import os
import subprocess
import sys
import textwrap
import threading

import lupa

WATCHDOG_SECONDS = 60
JOIN_TIMEOUT = 30


@contextlib.contextmanager
def watchdog():
    """Dump all tracebacks and exit if the block does not finish in time (deadlock guard)."""
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def busy_in_another_thread(lua):
    """Keeps `lua` busy in another thread for the duration of the block: a Lua call there
    waits in a Python callback, holding the runtime's lock.  Under a `watchdog`."""
    started = threading.Event()
    release = threading.Event()

    def blocker():
        started.set()
        release.wait(10)

    lua.globals().blocker = blocker
    with watchdog():
        thread = threading.Thread(target=lua.execute, args=("blocker()",))
        thread.start()
        try:
            assert started.wait(JOIN_TIMEOUT)
            yield
        finally:
            release.set()
            thread.join(JOIN_TIMEOUT)
    assert not thread.is_alive()


def fresh_python(code, timeout=120, environment=None):
    """Runs *code* in a fresh interpreter that imports the same ``lupa``; returns the
    completed process (stdout and stderr as text).  *environment* adds variables."""
    env = dict(os.environ)
    site_dir = os.path.dirname(os.path.dirname(os.path.abspath(lupa.__file__)))
    env["PYTHONPATH"] = site_dir + os.pathsep + env.get("PYTHONPATH", "")
    env.update(environment or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def ctrl_c_in_every_flavour(lua_code, check_after="", timeout=120):
    """Sends SIGINT to a fresh interpreter while the main thread runs *lua_code* in a runtime
    of each built flavour (the code calls the global ``started()`` when it is under way), and
    runs the Python statements *check_after* (with ``lua``) after the interrupt.  Asserts that
    every flavour raised ``KeyboardInterrupt``; returns the seconds from the start of the call
    to the exception, per flavour."""
    result = fresh_python(
        f"""
        import importlib, os, re, signal, threading, time, lupa
        directory = os.path.dirname(lupa.__file__)
        names = sorted({{m.group(1) for m in (re.match(r"^(lua[a-z]*[0-9]*)\\.(?:.+\\.)?so$", f)
                                            for f in os.listdir(directory)) if m}})
        for name in names:
            lua = importlib.import_module("lupa." + name).LuaRuntime()
            started = threading.Event()
            lua.globals().started = started.set
            def interrupt():
                started.wait(30)
                os.kill(os.getpid(), signal.SIGINT)
            threading.Thread(target=interrupt).start()
            begin = time.monotonic()
            try:
                lua.execute({lua_code!r})
            except KeyboardInterrupt:
                print(name, round(time.monotonic() - begin, 2))
            else:
                print(name, "not interrupted")
            {check_after}
        """,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.split("\n") if line]
    assert lines and all(len(line) == 2 for line in lines), result.stdout
    return {name: float(seconds) for name, seconds in lines}


def is_luau(lupa):
    """Whether ``lupa`` is the Luau flavour: a language derived from Lua 5.1, with its own
    standard library, no ``debug`` hooks, ``load``, ``string.dump`` or ``collectgarbage``,
    and its own wording of some messages (see the guide's "Luau" section)."""
    return lupa.__name__.rsplit(".", 1)[-1] == "luau"


def skip_on_luau(lupa, reason):
    """Skips the running test on the Luau flavour, saying why."""
    import pytest

    if is_luau(lupa):
        pytest.skip(f"Luau: {reason}")


def bad_argument(lupa):
    """How an argument error starts: "bad argument" in Lua, "invalid argument" in Luau."""
    return "invalid argument" if is_luau(lupa) else "bad argument"


def run_isolated(flavour, code, timeout=60):
    """Runs *code* in a fresh interpreter, for behaviour whose failure is a crash or a hang:
    the flavour module under test is bound to ``lupa``, Python's debug allocator is on (a use
    after free or a double free then ends the process where it happens), and a program that
    does not finish in *timeout* seconds fails the test.  Asserts that the process exited
    normally; returns its standard output."""
    prologue = f"import importlib\nlupa = importlib.import_module({flavour.__name__!r})\n"
    try:
        result = fresh_python(
            prologue + textwrap.dedent(code),
            timeout=timeout,
            environment={"PYTHONMALLOC": "debug", "PYTHONFAULTHANDLER": "1"},
        )
    except subprocess.TimeoutExpired as hang:
        raise AssertionError(f"did not finish in {timeout} s (a hang)") from hang
    assert result.returncode == 0, (
        f"exit status {result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout
