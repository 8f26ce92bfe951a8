"""The interactive prompt of ``python -m lupa``: lua.c's REPL (Lua 5.4), run by lupa.

* A line is first tried as an expression (``return <line>``); its values are printed with the
  global ``print``, as Lua formats them.  Otherwise it is a statement, and while Lua says the
  code only ended too early (``LuaSyntaxError.incomplete``), more lines are read with the
  prompt ``>>``.  All chunks are named ``stdin``, as in ``lua``.
* Errors print their Lua message (and Lua traceback), not a Python traceback.
* Ctrl-C stops the running Lua code (lupa raises ``KeyboardInterrupt`` in the main thread) and
  returns to the prompt; at the prompt it discards the input.  Ctrl-D (end of input) exits.
* With readline, lines are edited and kept in ``~/.lupa_history``.

LuaJIT: code that its trace compiler has turned into machine code calls no hooks, so Ctrl-C
could not stop a compiled loop.  The prompt's lines therefore run inside ``limits()`` with a
time limit too far away to trip: while a limit applies, lupa keeps LuaJIT's compiler off (and
``jit.on()`` has no effect).  A script run before the prompt (``-i``) runs with the compiler.
"""

import contextlib
import os
import sys

PROMPT = "> "
PROMPT2 = ">> "
HISTORY_FILE = os.path.join("~", ".lupa_history")
HISTORY_LENGTH = 1000

#: The time limit of the prompt's lines on LuaJIT (see the module's docstring): 100 years.
FAR_TIMEOUT = 100 * 365 * 24 * 3600.0

#: How the REPL names its chunks (as lua.c).
CHUNK_NAME = "=stdin"


class Repl:
    """The prompt, around the runtime of a ``lupa._cli.Interpreter``."""

    def __init__(self, interpreter):
        self.interpreter = interpreter
        self.lua = interpreter.lua
        self.syntax_error = interpreter.flavour.LuaSyntaxError
        self.luajit = self.lua.lua_implementation.startswith("LuaJIT")

    def loop(self):
        """Reads, runs and prints until the end of input."""
        save_history = _open_history() if _is_terminal(sys.stdin) else None
        try:
            with self._interruptible():
                while True:
                    try:
                        if not self.step():
                            break
                    except KeyboardInterrupt:
                        # At the prompt (or between steps): drop the input, prompt again.
                        self._write("\n")
        finally:
            if save_history is not None:
                save_history()
        self._write("\n")

    def step(self):
        """One chunk: read, compile, run, print.  False at the end of input."""
        try:
            function = self.read_chunk()
        except EOFError:
            return False
        except self.syntax_error as exc:
            self.report(exc)
            return True
        try:
            self.interpreter.run_and_show(function)
        except (Exception, KeyboardInterrupt) as exc:
            self.report(exc)
        self.interpreter.flush()
        return True

    def read_chunk(self):
        """Reads lines until they compile (or fail for another reason than their end): the
        compiled chunk.  lua.c 5.4's ``loadline``: ``=expr`` is ``return expr``; an expression
        on the first line is returned; a statement may go on over more lines."""
        line = self.read(PROMPT)
        if line.startswith("="):
            line = "return " + line[1:]
        for expression in self._expression_chunks(line):
            try:
                return self.compile(expression)
            except self.syntax_error:
                pass
        code = line
        while True:
            try:
                return self.compile(code)
            except self.syntax_error as exc:
                if not exc.incomplete:
                    raise
                error = exc
            try:
                code += "\n" + self.read(PROMPT2)
            except EOFError:
                self.report(error)  # what lua reports for input that ends inside a chunk
                raise

    def _expression_chunks(self, line):
        """The chunks that return the values of *line* as an expression, to try in order.

        LuaJIT replaces the chunk's frame when it ends in a tail call, even of a built-in:
        ``return error("x")`` would report the error at the position of the REPL's helper,
        and the chunk's line would be missing from the traceback.  So on LuaJIT the values go
        through a vararg function first, which keeps the call out of tail position (the
        closing parenthesis goes on a line of its own, after a comment the line may end in).
        """
        if self.luajit:
            yield f"local function lupa_values(...) return ... end return lupa_values({line}\n)"
        yield "return " + line

    def compile(self, code):
        return self.lua.compile(code.encode("utf-8", "surrogateescape"), name=CHUNK_NAME)

    def read(self, prompt):
        self.interpreter.flush()
        return input(prompt)

    def report(self, exc):
        """Prints an error as lua.c's REPL does: on stderr, without the program name, and
        without the frames of the helper that ran the line."""
        self.interpreter.flush()
        text = _without_helper_frames(self.interpreter.error_message(exc))
        sys.stderr.write(text + "\n")
        sys.stderr.flush()

    def _interruptible(self):
        if self.luajit:
            return self.lua.limits(timeout=FAR_TIMEOUT)
        return contextlib.nullcontext()

    @staticmethod
    def _write(text):
        sys.stdout.write(text)
        sys.stdout.flush()


def _without_helper_frames(message):
    """Drops the traceback lines of ``lupa._cli``'s helper chunk (``[lupa]``), which ran the
    line.  A traceback left with C functions only belongs to an error of the helper itself
    (``error calling 'print'``): lua.c prints its message alone."""
    from lupa._cli import HELPERS_CHUNK

    helper = "\t" + HELPERS_CHUNK[1:] + ":"
    lines = message.split("\n")
    kept = [line for line in lines if not line.startswith(helper)]
    if len(kept) == len(lines):
        return message
    if "stack traceback:" in kept:
        start = kept.index("stack traceback:")
        if all(line.startswith("\t[C]:") for line in kept[start + 1 :]):
            kept = kept[:start]
    return "\n".join(kept)


def _is_terminal(stream):
    try:
        return stream is not None and stream.isatty()
    except ValueError:  # closed
        return False


def _open_history():
    """Loads the history into readline; returns the function that saves it (None without
    readline: the prompt then works without line editing)."""
    try:
        import readline
    except ImportError:
        return None
    path = os.path.expanduser(HISTORY_FILE)
    try:
        readline.read_history_file(path)
    except OSError:  # none yet, or unreadable: start without
        pass
    readline.set_history_length(HISTORY_LENGTH)

    def save():
        try:
            readline.write_history_file(path)
        except OSError:
            pass

    return save
