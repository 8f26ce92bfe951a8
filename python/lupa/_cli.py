"""``python -m lupa``: Lua's standalone interpreter (``lua``), run by lupa.

The command line, the ``arg`` table, the order in which ``-e``/``-l`` chunks and the script
run, the exit status and the ``lua: <message>`` error lines follow ``lua.c`` of Lua 5.4, so
that scripts (and tools that parse ``lua``'s output) see no difference; lupa adds the choice
of flavour and the runtime's limits.  The interactive part is in ``lupa._repl``.

Everything here uses only lupa's public API: the runtime is a plain ``LuaRuntime``.  Lua code
that the helpers need runs in Lua itself (results of the REPL, ``print`` in a sandbox), so
that values are printed exactly as Lua formats them, never converted to Python and back.
"""

import os
import sys

PROGNAME = "lua"

USAGE = """\
usage: python -m lupa [options] [script [args]]
Available options are:
  -e stat          execute string 'stat'
  -i               enter interactive mode after executing 'script'
  -l mod           require library 'mod' into global 'mod'
  -v, --version    show version information
  --flavour NAME   the Lua flavour (a module of lupa: {flavours}; default {default})
  --sandbox        run all code in LuaRuntime(sandbox=True)
  --timeout S      stop each chunk (and each line of the REPL) after S seconds
  --max-memory N   limit the memory Lua may allocate to N bytes
  -h, --help       show this help
  --               stop handling options
  -                stop handling options and execute stdin
"""

#: Lua helpers, run once in the new runtime (before any code of the user, so that what that
#: code does to the globals changes nothing here).  Its chunk name shows in tracebacks of
#: REPL errors, where `_repl` removes its frames.
HELPERS_CHUNK = "=[lupa]"
HELPERS = """
local globals, write, write_bytes = ...
local select, tostring, type, pcall, error = select, tostring, type, pcall, error
local concat, byte, format = table.concat, string.byte, string.format
local getmetatable = getmetatable
local stdout = globals.io and globals.io.stdout

-- Lua's own print writes to C's stdout: flushed before Python writes to the terminal (a
-- prompt, an error), so that output keeps its order when stdout is not a terminal.
local function flush()
  if stdout then pcall(stdout.flush, stdout) end
end

-- print() for a sandbox, which has none: what Lua's print writes, through Python's stdout.
-- A Lua string that is not UTF-8 cannot become a Python str: such text goes as bytes.
local function print(...)
  local n = select("#", ...)
  local parts = {}
  for i = 1, n do
    local s = tostring((select(i, ...)))
    if type(s) ~= "string" then error("'tostring' must return a string to 'print'") end
    parts[i] = s
  end
  local text = concat(parts, "\\t") .. "\\n"
  if not pcall(write, text) then
    for i = 1, #text, 4096 do write_bytes(byte(text, i, i + 4095)) end
  end
end

-- The REPL's results go to the global print, as in lua.c.
local function show(...)
  if select("#", ...) > 0 then
    local ok, err = pcall(globals.print, ...)
    if not ok then error(format("error calling 'print' (%s)", tostring(err)), 0) end
  end
end
-- The chunk is called as `(...)()`: a function without a name, which Lua's traceback then
-- calls "main chunk", as when lua.c runs it.
local function run_and_show(...)
  show((...)())
end

-- lua.c's message for error objects that are not strings.
local function describe(value)
  local mt = getmetatable(value)
  if type(mt) == "table" and mt.__tostring ~= nil then
    local ok, s = pcall(tostring, value)
    if ok and type(s) == "string" then return s end
  end
  return format("(error object is a %s value)", type(value))
end

local function require_global(name)
  globals[name] = globals.require(name)
end

return flush, print, run_and_show, describe, require_global
"""


class UsageError(Exception):
    """A wrong command line: reported with the usage text, exit status 1."""


class FlavourError(Exception):
    """A flavour that is not built: reported with the available ones, exit status 1."""


class Options:
    """The parsed command line (lua.c's order: options, then the script and its arguments)."""

    def __init__(self):
        self.chunks = []  # ("-e", code) and ("-l", module) in the order given
        self.interactive = False
        self.version = False
        self.help = False
        self.flavour = None
        self.sandbox = False
        self.timeout = None
        self.max_memory = None
        self.script = None  # a file name, "-" for stdin, None
        self.script_index = None  # the script's position in argv
        self.argv = []


def _number(option, value, kind):
    try:
        number = kind(value)
    except ValueError:
        raise UsageError(f"'{option}' needs a number, not {value!r}") from None
    if not number > 0:
        raise UsageError(f"'{option}' needs a positive number, not {value!r}")
    return number


def parse_args(argv):
    """Parses the arguments after ``python -m lupa`` (``argv[0]`` is the program)."""
    options = Options()
    options.argv = argv
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if arg == "-" or not arg.startswith("-"):
            break
        if arg.startswith("--"):  # --name=value
            name, sep, attached = arg.partition("=")
        elif arg[:2] in ("-e", "-l") and len(arg) > 2:  # -ecode, -lmodule
            name, sep, attached = arg[:2], "attached", arg[2:]
        else:
            name, sep, attached = arg, "", ""
        takes_value = name in ("--flavour", "--timeout", "--max-memory", "-e", "-l")
        if takes_value and not sep:
            i += 1
            if i >= len(argv):
                raise UsageError(f"'{name}' needs argument")
            attached = argv[i]
        elif sep and not takes_value:
            raise UsageError(f"unrecognized option '{arg}'")
        if name in ("-e", "-l"):
            options.chunks.append((name, attached))
        elif name == "-i":
            options.interactive = True
        elif name in ("-v", "--version"):
            options.version = True
        elif name in ("-h", "--help"):
            options.help = True
        elif name == "--flavour":
            options.flavour = attached
        elif name == "--sandbox":
            options.sandbox = True
        elif name == "--timeout":
            options.timeout = _number(name, attached, float)
        elif name == "--max-memory":
            options.max_memory = _number(name, attached, int)
        else:
            raise UsageError(f"unrecognized option '{arg}'")
        i += 1
    if i < len(argv):
        options.script = argv[i]
        options.script_index = i
    return options


def available_flavours():
    """The flavour modules built into this lupa package, in ``import lupa``'s order of
    preference (the default first)."""
    import re
    from importlib.machinery import EXTENSION_SUFFIXES

    import lupa

    package_dir = os.path.dirname(lupa.__file__)
    pattern = re.compile(lupa._FLAVOUR_FILE)
    files = [f for f in os.listdir(package_dir) if f.endswith(tuple(EXTENSION_SUFFIXES))]
    found = {match.groups() for match in map(pattern.match, files) if match}
    return [groups[0] for groups in sorted(found, key=lupa._flavour_preference, reverse=True)]


def _print_usage(stream):
    flavours = available_flavours()
    stream.write(USAGE.format(flavours=", ".join(flavours), default=flavours[0]))


def import_flavour(name):
    """The flavour module ``lupa.<name>``; the package's default one for None."""
    import importlib

    flavours = available_flavours()
    if name is None:
        if not flavours:
            raise FlavourError("no Lua flavour module is built in this lupa package")
        name = flavours[0]
    elif name not in flavours:
        raise FlavourError(f"unknown flavour '{name}' (available: {', '.join(flavours)})")
    return importlib.import_module(f"lupa.{name}")


class Interpreter:
    """A runtime set up as the ``lua`` program sets up its state, and how to run and report
    chunks in it."""

    def __init__(self, flavour, options):
        self.flavour = flavour
        self.options = options
        kwargs = {}
        if options.sandbox:
            kwargs["sandbox"] = True
        if options.timeout is not None:
            kwargs["timeout"] = options.timeout
        if options.max_memory is not None:
            kwargs["max_memory"] = options.max_memory
        self.lua = flavour.LuaRuntime(**kwargs)
        helpers = self.lua.compile(HELPERS, name=HELPERS_CHUNK)
        globals_table = self.lua.globals()
        functions = helpers(globals_table, self._write, self._write_bytes)
        self.flush_lua, sandbox_print, self.run_and_show, self.describe, self.require = functions
        # A sandbox has no print; Luau's writes to C's stdout, which it cannot flush (no io):
        # both get the print that writes through Python's stdout.
        if options.sandbox or globals_table.io is None:
            globals_table.print = sandbox_print
        globals_table.arg = self.lua.table_from(self._arg_table())

    def _arg_table(self):
        """lua.c's ``arg``: the script at 0, its arguments at 1, 2, ..., and what came before
        it (``python -m lupa`` and the options) at negative indices.  Without a script, index 0
        is the program (``lupa`` of ``python -m lupa``).  Arguments are passed as the bytes
        the operating system gave (``os.fsencode``), as ``lua`` does."""
        argv = [sys.executable, "-m", "lupa"] + self.options.argv[1:]
        if self.options.script_index is None:
            script = 2
        else:
            script = self.options.script_index + 2
        return {i - script: os.fsencode(value) for i, value in enumerate(argv)}

    def script_args(self):
        if self.options.script_index is None:
            return []
        return [os.fsencode(a) for a in self.options.argv[self.options.script_index + 1 :]]

    # Output -------------------------------------------------------------------------------

    def _write(self, text):
        self._write_bytes_out(text.encode("utf-8", "surrogateescape"))

    def _write_bytes(self, *values):
        self._write_bytes_out(bytes(values))

    @staticmethod
    def _write_bytes_out(data):
        stdout = sys.stdout
        buffer = getattr(stdout, "buffer", None)
        if buffer is None:
            stdout.write(data.decode("utf-8", "replace"))
            return
        stdout.flush()
        buffer.write(data)
        if stdout.isatty():
            buffer.flush()

    def flush(self):
        """Writes out what Lua's C stdout and Python's stdout have buffered."""
        try:
            self.flush_lua()
        except BaseException:  # the runtime is stopped or broken: nothing to flush
            pass
        try:
            sys.stdout.flush()
        except (OSError, ValueError):
            pass

    # Errors -------------------------------------------------------------------------------

    def error_message(self, exc):
        """What ``lua`` prints for an error: the Lua message (with the Lua traceback, as lupa
        gives it), a description of a non-string error object, or a Python exception's
        one-line summary when Python code called by Lua raised it."""
        if isinstance(exc, KeyboardInterrupt):
            return "interrupted!"
        if not isinstance(exc, self.flavour.LuaError):
            import traceback

            return "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")
        message = exc.args[0] if exc.args else ""
        if isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        message = str(message)
        if message == "" and isinstance(exc, self.flavour.LuaMemoryError):
            return "not enough memory"  # lupa raises Lua's memory errors without a message
        if message == "" and exc.value is not None:
            try:
                return self.describe(exc.value)
            except Exception:
                return f"(error object is a {type(exc.value).__name__} value)"
        if message.startswith("stack traceback:"):  # error(nil)
            return "(error object is a nil value)\n" + message
        return message

    def report(self, exc, prefix=PROGNAME + ": "):
        self.flush()
        text = self.error_message(exc)
        sys.stderr.write(f"{prefix}{text}\n" if prefix else f"{text}\n")
        sys.stderr.flush()

    # Running chunks -----------------------------------------------------------------------

    def run(self, code, name, *args):
        """Compiles and runs a chunk; reports an error and returns False if it fails."""
        try:
            self.lua.compile(code, name=name)(*args)
        except (Exception, KeyboardInterrupt) as exc:
            self.report(exc)
            return False
        finally:
            self.flush()
        return True

    def require_global(self, name):
        try:
            self.require(os.fsencode(name))
        except (Exception, KeyboardInterrupt) as exc:
            self.report(exc)
            return False
        return True

    def run_script(self, path):
        """Runs a file (``-`` or None: standard input) with the script's arguments as
        ``...``, as ``luaL_loadfile`` reads it: a first line starting with ``#`` (``#!``) is
        skipped, keeping the line numbers."""
        if path is None or path == "-":
            name = "=stdin"
            code = sys.stdin.buffer.read()
        else:
            name = "@" + path
            try:
                with open(path, "rb") as file:
                    code = file.read()
            except OSError as exc:
                reason = exc.strerror or str(exc)
                sys.stderr.write(f"{PROGNAME}: cannot open {path} ({reason})\n")
                return False
        if code.startswith(b"#"):
            newline = code.find(b"\n")
            code = b"" if newline < 0 else code[newline:]
        return self.run(code, name, *self.script_args())

    def version_line(self):
        return (
            f"{self.flavour._IMPLEMENTATION} (lupa {_lupa_version()}) with "
            f"{self.lua.lua_implementation} (lupa.{self.flavour.__name__.rpartition('.')[2]})"
        )


def _lupa_version():
    from lupa.version import __version__

    return __version__


def main(argv=None):
    """Runs the command line; returns the exit status."""
    try:
        return _run(argv)
    finally:
        _forget_caught_keyboard_interrupts()


def _forget_caught_keyboard_interrupts():
    """CPython marks a ``KeyboardInterrupt`` that leaves code run by ``eval``/``exec`` of a
    string (Lua's ``python.eval``) as unhandled, even when it is caught later, and a program
    run with ``python -m`` then ends by SIGINT at exit instead of with its exit status.  Each
    such ``eval`` clears the mark before it runs: this one does nothing else."""
    eval("None")


def _run(argv):
    argv = list(sys.argv if argv is None else argv)
    try:
        options = parse_args(argv)
    except UsageError as exc:
        sys.stderr.write(f"{PROGNAME}: {exc}\n")
        _print_usage(sys.stderr)
        return 1
    if options.help:
        _print_usage(sys.stdout)
        return 0
    try:
        flavour = import_flavour(options.flavour)
    except FlavourError as exc:
        sys.stderr.write(f"{PROGNAME}: {exc}\n")
        return 1
    try:
        interpreter = Interpreter(flavour, options)
    except (flavour.LuaError, TypeError, ValueError) as exc:
        sys.stderr.write(f"{PROGNAME}: cannot create the Lua runtime: {exc}\n")
        return 1

    no_script = options.script is None
    stdin_is_tty = sys.stdin is not None and sys.stdin.isatty()
    interactive = options.interactive or (
        no_script and not options.chunks and not options.version and stdin_is_tty
    )
    if options.version or interactive:
        print(interpreter.version_line())
        sys.stdout.flush()
    for kind, value in options.chunks:
        if kind == "-e":
            ok = interpreter.run(os.fsencode(value), "=(command line)")
        else:
            ok = interpreter.require_global(value)
        if not ok:
            return 1
    if options.script is not None:
        if not interpreter.run_script(options.script):
            return 1
    elif not interactive and not options.chunks and not options.version:
        # lua.c: no arguments and stdin is not a terminal: run stdin as a script.
        if not interpreter.run_script(None):
            return 1
    if interactive:
        from lupa._repl import Repl

        Repl(interpreter).loop()
    interpreter.flush()
    return 0
