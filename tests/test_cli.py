"""``python -m lupa``, used as a user uses it: in subprocesses, and in a real terminal (tmux).

Every test runs once per flavour (``--flavour``).  The command line follows ``lua`` (Lua 5.4's
``lua.c``): the ``arg`` table, ``-e``/``-l`` in order, ``lua: <message>`` on stderr and exit
status 1 on an error, stdin as the script when it is not a terminal, and the REPL's ``> ``
and ``>> `` prompts, results printed as Lua's ``print`` prints them.
"""

import doctest
import os
import pathlib
import re
import select
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid

import lupa as lupa_package
import pytest

pytestmark = pytest.mark.improvement

#: Deadline for a subprocess or a screen to show what is expected (debug builds on a loaded
#: 2-core machine are slow to start).
DEADLINE = 60


def _env(**extra):
    """The environment of a user's shell: lupa importable, Python's output buffered."""
    env = dict(os.environ)
    env.pop("PYTHONUNBUFFERED", None)
    site_dir = os.path.dirname(os.path.dirname(os.path.abspath(lupa_package.__file__)))
    env["PYTHONPATH"] = site_dir + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def flavour_name(lupa):
    return lupa.__name__.rpartition(".")[2]


def run_lupa(*args, stdin="", flavour=None, cwd=None):
    """Runs ``python -m lupa [--flavour F] args...``; the completed process (text output)."""
    command = [sys.executable, "-m", "lupa"]
    if flavour is not None:
        command += ["--flavour", flavour_name(flavour)]
    return subprocess.run(
        command + list(args),
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(),
        cwd=cwd,
        timeout=DEADLINE,
    )


def supports_max_memory(lupa):
    try:
        lupa.LuaRuntime(max_memory=0)
    except lupa.LuaError:
        return False
    return True


# -e, scripts, arg ---------------------------------------------------------------------------


def test_e_chunks_run_in_order_and_print_like_lua(lupa):
    result = run_lupa(
        "-e",
        "x = 6",
        "-e",
        'print(x * 7, nil, true, "text", 0.5, 10 / 2)',
        "-e",
        "print(type({}), tostring({}):match('^table: ') ~= nil)",
        flavour=lupa,
    )
    assert result.returncode == 0, result.stderr
    # Lua 5.3 and later print a float that is a whole number with ".0".
    five = "5.0" if lupa.LUA_VERSION >= (5, 3) else "5"
    assert result.stdout == f"42\tnil\ttrue\ttext\t0.5\t{five}\ntable\ttrue\n"
    assert result.stderr == ""


def test_a_script_gets_arg_and_its_arguments(lupa, tmp_path):
    script = tmp_path / "script.lua"
    script.write_text(
        "#!/usr/bin/env lua\n"
        "print(select('#', ...), ...)\n"
        "print(arg[0], arg[1], arg[2], #arg)\n"
        "print(arg[-1], arg[-2], arg[-3])\n"
        "error('line 5')\n"
    )
    # (A relative name: Lua shortens long file names in messages.)
    result = run_lupa("-e", "x = 1", "script.lua", "one", "-e", flavour=lupa, cwd=tmp_path)
    assert result.stdout.splitlines() == [
        "2\tone\t-e",
        "script.lua\tone\t-e\t2",
        # Before the script: python -m lupa --flavour NAME -e "x = 1".
        "x = 1\t-e\t" + flavour_name(lupa),
    ]
    # The #! line is skipped but counted: the error is on line 5 of the file.
    assert result.stderr.startswith("lua: script.lua:5: line 5\nstack traceback:\n")
    assert result.returncode == 1


def test_options_with_attached_values(lupa):
    result = run_lupa("-ex = 2", "--timeout=5", "-eprint(x)", "--", flavour=lupa)
    assert (result.returncode, result.stdout) == (0, "2\n"), result.stderr


def test_arg_without_a_script(lupa):
    result = run_lupa("-e", "print(arg[0], arg[-1], arg[1], arg[2])", flavour=lupa)
    assert result.stdout == "lupa\t-m\t--flavour\t" + flavour_name(lupa) + "\n"


def test_stdin_is_the_script_when_it_is_not_a_terminal(lupa):
    result = run_lupa(stdin="print('from stdin', ...)\n", flavour=lupa)
    assert (result.returncode, result.stdout, result.stderr) == (0, "from stdin\n", "")
    result = run_lupa("-", "a", "b", stdin="print(arg[0], ...)\n", flavour=lupa)
    assert result.stdout == "-\ta\tb\n"


def test_output_keeps_its_order(lupa):
    """Lua's print and io.write share C's stdout; what Python code writes is in order with
    it from one chunk to the next (both are flushed after every chunk)."""
    code = "io.write('a') print('b') io.write('c\\n')"
    chunks = ["-e", code, "-e", "python.builtins.print('d')", "-e", "print('e')"]
    result = run_lupa(*chunks, "-e", "error('f', 0)", flavour=lupa)
    assert result.stdout == "ab\nc\nd\ne\n"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lupa",
            "--flavour",
            flavour_name(lupa),
            *chunks,
            "-e",
            "error('f', 0)",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
        timeout=DEADLINE,
    )
    # An error comes after the output.
    assert result.stdout.startswith("ab\nc\nd\ne\nlua: f\nstack traceback:\n")
    result = run_lupa("--sandbox", "-e", "print('a')", "-e", "error('b', 0)", flavour=lupa)
    assert result.stdout == "a\n"
    assert result.stderr.startswith("lua: b\n")


def test_l_requires_a_module_into_a_global(lupa, tmp_path):
    (tmp_path / "greeting.lua").write_text("return {text = 'hello'}\n")
    result = run_lupa("-l", "greeting", "-e", "print(greeting.text)", flavour=lupa, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "hello\n"), result.stderr


# Errors and exit status ----------------------------------------------------------------------


def test_errors_exit_with_status_1_and_lua_prefix(lupa, tmp_path):
    result = run_lupa("-e", "error('boom')", "-e", "print('not reached')", flavour=lupa)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("lua: (command line):1: boom\nstack traceback:\n")

    (tmp_path / "bad.lua").write_text("local x = 1\nx = = 2\n")
    result = run_lupa("bad.lua", flavour=lupa, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "lua: bad.lua:2: unexpected symbol near '='\n"

    result = run_lupa("missing.lua", flavour=lupa, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == "lua: cannot open missing.lua (No such file or directory)\n"


def test_error_objects_that_are_not_strings(lupa):
    result = run_lupa("-e", "error({})", flavour=lupa)
    assert (result.returncode, result.stderr) == (1, "lua: (error object is a table value)\n")
    code = "error(setmetatable({}, {__tostring = function() return 'described' end}))"
    result = run_lupa("-e", code, flavour=lupa)
    assert result.stderr == "lua: described\n"


def test_python_exceptions_are_shown_without_a_python_traceback(lupa):
    result = run_lupa("-e", "python.eval('1/0')", flavour=lupa)
    assert result.returncode == 1
    assert result.stderr == "lua: ZeroDivisionError: division by zero\n"


def test_ctrl_c_stops_a_script(lupa):
    """SIGINT while the script runs: ``lua: interrupted!`` and status 1, as lua.  (On LuaJIT a
    loop that its compiler has turned into machine code cannot be stopped: off here.)"""
    command = [sys.executable, "-m", "lupa", "--flavour", flavour_name(lupa), "-"]
    script = (
        "if jit then jit.off() end print('running') "
        # (Luau has no io: its print writes through Python's stdout.)
        "if io then io.stdout:flush() else python.builtins.__import__('sys').stdout.flush() end "
        "while true do end\n"
    )
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(),
    ) as process:
        try:
            process.stdin.write(script.encode())
            process.stdin.close()
            ready, _, _ = select.select([process.stdout], [], [], DEADLINE)
            assert ready, "the script did not start"
            assert process.stdout.readline() == b"running\n"
            process.send_signal(signal.SIGINT)
            assert process.wait(DEADLINE) == 1
            assert process.stderr.read() == b"lua: interrupted!\n"
        finally:
            if process.poll() is None:
                process.kill()


def test_a_keyboard_interrupt_inside_python_eval_ends_with_status_1(lupa):
    """CPython marks a KeyboardInterrupt that leaves eval()'d code as unhandled even when it
    is caught later, and `python -m` then ends by SIGINT instead of its exit status."""
    result = run_lupa(
        "-e",
        "python.eval('(_ for _ in ()).throw(KeyboardInterrupt)')",
        flavour=lupa,
    )
    assert (result.returncode, result.stderr) == (1, "lua: interrupted!\n")


# Options -------------------------------------------------------------------------------------


def test_sandbox_has_print_and_nothing_else(lupa):
    code = 'print(io, os.execute, python, require, 1, "x") print("\\255\\0raw")'
    command = [sys.executable, "-m", "lupa", "--flavour", flavour_name(lupa), "--sandbox"]
    result = subprocess.run(
        command + ["-e", code], capture_output=True, env=_env(), timeout=DEADLINE
    )
    assert result.returncode == 0, result.stderr
    # Bytes that are not UTF-8 are written as they are.
    assert result.stdout == b"nil\tnil\tnil\tnil\t1\tx\n\xff\x00raw\n"
    result = run_lupa("--sandbox", "-e", "io.write('x')", flavour=lupa)
    assert result.returncode == 1
    assert result.stderr.startswith("lua: (command line):1: attempt to index ")
    assert "'io'" in result.stderr and "nil value" in result.stderr


def test_timeout_stops_each_chunk(lupa):
    started = time.monotonic()
    result = run_lupa("--timeout", "0.3", "-e", "while true do end", flavour=lupa)
    assert time.monotonic() - started < DEADLINE
    assert result.returncode == 1
    assert result.stderr.startswith("lua: ")
    assert "time limit (0.3 s)" in result.stderr
    result = run_lupa("--timeout=5", "-e", "print(1)", flavour=lupa)
    assert (result.returncode, result.stdout) == (0, "1\n")


def test_max_memory(lupa):
    if not supports_max_memory(lupa):
        pytest.skip(f"{lupa.__name__} cannot create a runtime with max_memory")
    # (Luau allocates in pages of 16-32 KiB: a runtime needs more to start with.)
    limit = "600000" if flavour_name(lupa) == "luau" else "200000"
    code = "local t = {} for i = 1, 1e7 do t[i] = i end"
    result = run_lupa("--max-memory", limit, "-e", code, flavour=lupa)
    assert (result.returncode, result.stderr) == (1, "lua: not enough memory\n")
    code = "print(#string.rep('x', 1000))"
    result = run_lupa("--max-memory", limit, "-e", code, flavour=lupa)
    assert result.stdout == "1000\n"


def test_flavours(lupa):
    result = run_lupa("-v", flavour=lupa)
    assert result.returncode == 0
    assert result.stdout.startswith("lupa-rs ")
    assert result.stdout.endswith(f"(lupa.{flavour_name(lupa)})\n")

    result = run_lupa("--flavour", "lua99", "-e", "print(1)")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("lua: unknown flavour 'lua99' (available: ")
    assert flavour_name(lupa) in result.stderr


def test_the_default_flavour_is_the_packages(lupa):
    default = lupa_package._import_default_module().__name__
    result = run_lupa("-v")
    assert result.stdout.endswith(f"({default})\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["-x"], "lua: unrecognized option '-x'"),
        (["-e"], "lua: '-e' needs argument"),
        (["--timeout", "soon"], "lua: '--timeout' needs a number, not 'soon'"),
        (["--timeout", "0"], "lua: '--timeout' needs a positive number, not '0'"),
        (["--max-memory", "1.5"], "lua: '--max-memory' needs a number, not '1.5'"),
        (["--sandbox=yes"], "lua: unrecognized option '--sandbox=yes'"),
    ],
)
def test_usage_errors(args, message):
    result = run_lupa(*args)
    assert result.returncode == 1
    assert result.stderr.startswith(message + "\nusage: python -m lupa [options]")


def test_help():
    result = run_lupa("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m lupa [options] [script [args]]\n")
    for option in ("--flavour", "--sandbox", "--timeout", "--max-memory", "-e", "-i", "-v"):
        assert re.search(f"^  {option}[ ,]", result.stdout, re.MULTILINE), option


# The REPL over a pipe ------------------------------------------------------------------------


def test_repl_reads_expressions_statements_and_continued_lines(lupa):
    lines = [
        "1 + 1",
        "'a', nil, false",
        "=10",
        "function twice(x)",
        "  return 2 * x",
        "end",
        "twice(21)",
        "local t = {",
        "  n = 3 }",
        "x = = 1",
        "error('boom')",
        "print = nil",
        "1",
        "for i = 1, 2 do",
    ]
    result = run_lupa("-i", stdin="\n".join(lines) + "\n", flavour=lupa)
    assert result.returncode == 0, result.stderr
    version, prompts = result.stdout.split("\n", 1)
    assert version.endswith(f"(lupa.{flavour_name(lupa)})")
    # Prompts are written without the typed lines (stdin is a pipe, there is no echo).
    assert prompts == (
        "> 2\n"
        "> a\tnil\tfalse\n"
        "> 10\n"
        "> >> >> > 42\n"
        "> >> "  # local t = {...}
        "> "  # x = = 1
        "> "  # error
        "> > "  # print = nil; 1
        "> >> \n"  # the end of input inside the for loop
    )
    assert result.stderr.split("\n") == [
        "stdin:1: unexpected symbol near '='",
        "stdin:1: boom",
        "stack traceback:",
        "\t[C]: in function 'error'" if lupa.LUA_VERSION < (5, 5) else "\t[C]: in global 'error'",
        "\tstdin:1: in main chunk",
        "error calling 'print' (attempt to call a nil value)",
        # What lua reports: the error of the code read before the end of input.
        "stdin:1: 'end' expected near "
        + ("<eof>" if lupa.LUA_VERSION >= (5, 2) and "jit" not in lupa.__name__ else "'<eof>'"),
        "",
    ]


def test_repl_after_a_script_sees_its_globals(lupa, tmp_path):
    (tmp_path / "setup.lua").write_text("greeting = 'hi'\n")
    result = run_lupa("-i", "setup.lua", stdin="greeting .. '!'\n", flavour=lupa, cwd=tmp_path)
    assert result.stdout.split("\n")[1:] == ["> hi!", "> ", ""]


def test_repl_in_a_sandbox_prints_with_its_print(lupa):
    result = run_lupa("--sandbox", "-i", stdin="io\n{}\n", flavour=lupa)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[1] == "> nil"
    assert lines[2].startswith("> table: ")


# The REPL in a terminal ------------------------------------------------------------------------


#: What the shell in the terminal prints after the program, with its exit status.
EXIT_LINE = "exit status: "


class Terminal:
    """A tmux server of our own (its own socket) with one window running a command; what the
    user sees is read with ``capture-pane``."""

    def __init__(self, command, env):
        self.socket = f"lupa-test-{uuid.uuid4().hex[:12]}"
        self.tmux = ["tmux", "-L", self.socket, "-f", os.devnull]
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # The shell prints the exit status; Ctrl-C, which reaches it too, must not end it (a
        # trap, unlike an ignored signal, is not inherited by the program).
        program = f"env -u PYTHONUNBUFFERED {assignments} {shlex.join(command)}"
        shell_command = f'trap : INT; {program}; echo "{EXIT_LINE}$?"'
        self._run("new-session", "-d", "-s", "repl", "-x", "120", "-y", "50", shell_command)
        # Keep the pane when the shell exits, to read the exit status.
        self._run("set-option", "-t", "repl", "remain-on-exit", "on")

    def _run(self, *args):
        return subprocess.run(
            self.tmux + list(args), check=True, capture_output=True, text=True, timeout=30
        ).stdout

    def type(self, text):
        """Types *text* and Enter."""
        self.press_literally(text)
        self._run("send-keys", "-t", "repl", "Enter")

    def press_literally(self, text):
        """Types *text* (literally: "end" is not the End key)."""
        self._run("send-keys", "-t", "repl", "-l", text)

    def press(self, key):
        self._run("send-keys", "-t", "repl", key)

    def screen(self):
        return [line.rstrip() for line in self._run("capture-pane", "-p", "-t", "repl").split("\n")]

    def wait_for(self, predicate, what):
        """Polls the screen until ``predicate(lines)`` holds; fails after the deadline."""
        deadline = time.monotonic() + DEADLINE
        while True:
            lines = self.screen()
            if predicate(lines):
                return lines
            if time.monotonic() > deadline:
                pytest.fail(f"the terminal never showed {what}; screen:\n" + "\n".join(lines))
            time.sleep(0.05)

    def wait_for_lines(self, *expected):
        """Waits until the screen's last non-empty lines are *expected* (a prompt last)."""

        def shown(lines):
            while lines and not lines[-1]:
                lines = lines[:-1]
            return lines[-len(expected) :] == list(expected)

        return self.wait_for(shown, repr(expected))

    def exit_status(self):
        """Waits until the program has exited; its exit status, which the shell prints (tmux's
        own ``pane_dead_status`` is sometimes never set)."""
        lines = self.wait_for(
            lambda lines: any(line.startswith(EXIT_LINE) for line in lines), "the program exit"
        )
        return int([line for line in lines if line.startswith(EXIT_LINE)][-1][len(EXIT_LINE) :])

    def close(self):
        subprocess.run(self.tmux + ["kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def terminal_factory():
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    terminals = []

    def start(command, env):
        terminal = Terminal(command, env)
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def test_repl_in_a_terminal(lupa, tmp_path, terminal_factory):
    """A user's session: an expression, a function typed over three lines, a runaway loop
    stopped with Ctrl-C, the prompt still working, Ctrl-C dropping typed input, Ctrl-D to
    leave; the history is saved."""
    env = {
        "HOME": str(tmp_path),
        "PYTHONPATH": _env()["PYTHONPATH"],
        "TERM": "xterm",
        "LANG": "C.UTF-8",
    }
    command = [sys.executable, "-m", "lupa", "--flavour", flavour_name(lupa)]
    terminal = terminal_factory(command, env)
    screen = terminal.wait_for_lines(">")
    assert screen[0].startswith("lupa-rs ") and screen[0].endswith(f"(lupa.{flavour_name(lupa)})")

    terminal.type("1 + 1")
    terminal.wait_for_lines("> 1 + 1", "2", ">")

    terminal.type("function double(x)")
    terminal.wait_for_lines("> function double(x)", ">>")
    terminal.type("  return x * 2")
    terminal.wait_for_lines(">>   return x * 2", ">>")
    terminal.type("end")
    terminal.wait_for_lines(">> end", ">")
    terminal.type("double(21)")
    terminal.wait_for_lines("> double(21)", "42", ">")

    # The loop announces that it runs, so that Ctrl-C reaches it and not the prompt.
    terminal.type("print('looping') while true do end")
    terminal.wait_for_lines("> print('looping') while true do end", "looping")
    terminal.press("C-c")
    # The terminal echoes Ctrl-C as ^C; the REPL says what lua says.
    terminal.wait_for_lines("looping", "^Cinterrupted!", ">")

    terminal.type("double(2) + 1")
    terminal.wait_for_lines("> double(2) + 1", "5", ">")

    # Ctrl-C at the prompt drops what was typed, also in a continued statement.
    terminal.press_literally("this is never run")
    terminal.wait_for_lines("> this is never run")
    terminal.press("C-c")
    terminal.wait_for_lines("> this is never run", ">")
    terminal.type("function unfinished()")
    terminal.wait_for_lines("> function unfinished()", ">>")
    terminal.press("C-c")
    terminal.wait_for_lines("> function unfinished()", ">>", ">")
    terminal.type("unfinished")
    terminal.wait_for_lines("> unfinished", "nil", ">")

    terminal.press("C-d")
    assert terminal.exit_status() == 0
    history = (tmp_path / ".lupa_history").read_text().split("\n")
    assert "function double(x)" in history
    assert "double(2) + 1" in history


# The guide's command lines -------------------------------------------------------------------


def _guide_console_blocks():
    guide = pathlib.Path(__file__).resolve().parent.parent / "docs" / "guide.md"
    text = guide.read_text(encoding="utf-8")
    start = text.index("## The command line: python -m lupa\n")
    section = text[start : text.index("\n## ", start + 1)]
    return re.findall(r"```console\n(.*?)```", section, re.DOTALL)


def test_the_guides_command_lines(tmp_path):
    """Each ``$ command`` of the guide's console blocks shows what it prints (stdout and
    stderr as a terminal shows them), run with the package's default flavour."""
    blocks = _guide_console_blocks()
    assert blocks
    checker = doctest.OutputChecker()
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    for block in blocks:
        commands = re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]
        for command in commands:
            line, _, expected = command.partition("\n")
            # `python` is the Python that runs the tests.
            script = f'python() {{ "{sys.executable}" "$@"; }}\n{line}\n'
            result = subprocess.run(
                ["bash", "-c", script],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=_env(),
                cwd=tmp_path,
                timeout=DEADLINE,
            )
            assert checker.check_output(expected, result.stdout, flags), (
                f"$ {line}\nexpected:\n{expected}\ngot:\n{result.stdout}"
            )
