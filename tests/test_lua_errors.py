"""Lua errors raised in Python.

Messages are ``tostring(error)`` plus Lua's ``stack traceback:``, with the traceback lines
reversed by lupa so that the innermost frame comes last (as in Python tracebacks).
"""

import pytest
from helpers import is_luau

PY = '[string "<python>"]'


def _is_luajit(lupa):
    return lupa.__name__.endswith(("luajit20", "luajit21"))


def _is_puc_52_plus(lupa, lua):
    """Lua 5.2+ from PUC-Rio, whose messages differ from Lua 5.1's and LuaJIT's."""
    return lua.lua_version >= (5, 2) and not _is_luajit(lupa)


def _eof(lupa, lua):
    """How the parser names the end of input: quoted on Lua 5.1 and LuaJIT."""
    return "<eof>" if _is_puc_52_plus(lupa, lua) else "'<eof>'"


def _error_frame(lua):
    """The traceback line of the C function ``error``: Lua 5.5 says 'global', older 'function'."""
    return "[C]: in global 'error'" if lua.lua_version >= (5, 5) else "[C]: in function 'error'"


def _raises(exc_type, func, *args, **kwargs):
    """Call *func*, expect exactly *exc_type* (not a subclass) and return the exception."""
    with pytest.raises(exc_type) as exc:
        func(*args, **kwargs)
    assert type(exc.value) is exc_type
    return exc.value


def _set_traceback_result(lua, text):
    """Replace debug.traceback by a function returning *text* (a fixed string)."""
    lua.globals().TRACEBACK_RESULT = text
    lua.execute("debug.traceback = function(msg) return TRACEBACK_RESULT end")


# ---------------------------------------------------------------------------------------------
# Load (syntax) errors
# ---------------------------------------------------------------------------------------------


class TestLoadErrors:
    def test_execute_prefix(self, lupa, lua):
        exc = _raises(lupa.LuaSyntaxError, lua.execute, "x = = 1")
        assert exc.args == (f"error loading code: {PY}:1: unexpected symbol near '='",)

    def test_eval_prefix(self, lupa, lua):
        exc = _raises(lupa.LuaSyntaxError, lua.eval, "= 1")
        assert exc.args == (f"error loading code: {PY}:1: unexpected symbol near '='",)

    def test_compile_has_no_prefix(self, lupa, lua):
        exc = _raises(lupa.LuaSyntaxError, lua.compile, "x = = 1")
        assert exc.args == (f"{PY}:1: unexpected symbol near '='",)

    def test_syntax_error_is_lua_error(self, lupa, lua):
        with pytest.raises(lupa.LuaError):
            lua.execute("x = = 1")

    def test_eval_of_statements(self, lupa, lua):
        """eval() prepends 'return ', so '1; 2' fails where the second statement starts."""
        exc = _raises(lupa.LuaSyntaxError, lua.eval, "1; 2")
        expected = f"{PY}:1: {_eof(lupa, lua)} expected near '2'"
        assert exc.args == ("error loading code: " + expected,)

    def test_unexpected_eof(self, lupa, lua):
        exc = _raises(lupa.LuaSyntaxError, lua.eval, "1 +")
        expected = f"{PY}:1: unexpected symbol near {_eof(lupa, lua)}"
        assert exc.args == ("error loading code: " + expected,)

    def test_line_number(self, lupa, lua):
        exc = _raises(lupa.LuaSyntaxError, lua.execute, "local a = 1\nlocal b = 2\nx = = 1")
        assert exc.args == (f"error loading code: {PY}:3: unexpected symbol near '='",)

    def test_chunk_name_in_syntax_error(self, lupa, lua):
        exc = _raises(lupa.LuaSyntaxError, lua.execute, "x = = 1", name="mychunk")
        message = "[string \"mychunk\"]:1: unexpected symbol near '='"
        assert exc.args == ("error loading code: " + message,)
        exc = _raises(lupa.LuaSyntaxError, lua.compile, "x = = 1", name="=raw")
        assert exc.args == ("raw:1: unexpected symbol near '='",)

    def test_compiled_function_errors_are_runtime_errors(self, lupa, lua):
        func = lua.compile("error('boom', 0)")
        exc = _raises(lupa.LuaError, func)
        assert exc.args[0].startswith("boom\nstack traceback:\n")

    def test_invalid_utf8_in_load_error_uses_latin1(self, lupa, lua):
        """eval/execute decode load errors with a latin-1 fallback."""
        message = f"{PY}:1: unfinished string near '\"\xff'"
        exc = _raises(lupa.LuaSyntaxError, lua.execute, b'x = "\xff\n')
        assert exc.args == ("error loading code: " + message,)
        exc = _raises(lupa.LuaSyntaxError, lua.eval, b'"\xff\n')
        assert exc.args == ("error loading code: " + message,)

    @pytest.mark.improvement
    def test_invalid_utf8_in_compile_error_uses_latin1(self, lupa, lua):
        """Upstream raises UnicodeDecodeError from compile() here (spec A10)."""
        exc = _raises(lupa.LuaSyntaxError, lua.compile, b'x = "\xff\n')
        assert exc.args == (f"{PY}:1: unfinished string near '\"\xff'",)


class TestLoadErrorsEncodingNone:
    @pytest.fixture
    def bytes_lua(self, lupa):
        return lupa.LuaRuntime(encoding=None)

    def test_eval_and_execute_errors_are_str(self, lupa, bytes_lua):
        exc = _raises(lupa.LuaSyntaxError, bytes_lua.execute, "x = = 1")
        assert exc.args == (f"error loading code: {PY}:1: unexpected symbol near '='",)
        exc = _raises(lupa.LuaSyntaxError, bytes_lua.eval, "= 1")
        assert exc.args == (f"error loading code: {PY}:1: unexpected symbol near '='",)

    def test_compile_error_is_bytes(self, lupa, bytes_lua):
        exc = _raises(lupa.LuaSyntaxError, bytes_lua.compile, "x = = 1")
        assert exc.args == (f"{PY}:1: unexpected symbol near '='".encode(),)

    def test_compile_error_keeps_raw_bytes(self, lupa, bytes_lua):
        exc = _raises(lupa.LuaSyntaxError, bytes_lua.compile, b'x = "\xff\n')
        assert exc.args == (f"{PY}:1: unfinished string near '\"".encode() + b"\xff'",)

    def test_load_error_decoded_as_latin1(self, lupa, bytes_lua):
        exc = _raises(lupa.LuaSyntaxError, bytes_lua.execute, b'x = "\xff\n')
        assert exc.args == (f"error loading code: {PY}:1: unfinished string near '\"\xff'",)


@pytest.mark.improvement
class TestSyntaxErrorDetails:
    """``LuaSyntaxError.lineno`` (the line in Lua's message) and ``.incomplete`` (the input
    only ended too early, so that a REPL can ask for more lines)."""

    #: Code cut short: every kind of construct Lua can leave open at the end of the input.
    INCOMPLETE = [
        "function f()",
        "for i = 1, 2 do\n  x = i\n",
        "if x then",
        "x = 1 +",
        "f(",
        "t = {1, 2,",
        'x = "abc',
        "x = 'abc",
        "x = [[abc",
        "x = [==[abc]]",
        "--[[ a comment",
        "--[=[ a comment",
        "local",
        "return",
    ]
    #: Wrong wherever the input ended (the last two are strings at the end of a line, whose
    #: text is quoted in the message: they are not the end of the input).
    COMPLETE = ["x = = 1", "end", "1 + 2", "x = 1 )", 'x = "a\n', "x = \"'<eof>\n"]

    @pytest.mark.parametrize("code", INCOMPLETE)
    def test_incomplete_input(self, lupa, lua, code):
        if code == "return":  # a complete chunk
            assert lua.compile(code)() is None
            return
        exc = _raises(lupa.LuaSyntaxError, lua.compile, code)
        assert exc.incomplete is True, exc
        assert exc.lineno == code.count("\n") + 1 or code.startswith("for")

    @pytest.mark.parametrize("code", COMPLETE)
    def test_errors_before_the_end_are_not_incomplete(self, lupa, lua, code):
        exc = _raises(lupa.LuaSyntaxError, lua.compile, code)
        assert exc.incomplete is False, exc
        assert exc.lineno == 1

    def test_lineno_is_the_line_of_the_message(self, lupa, lua):
        code = "local a = 1\nlocal b = 2\nx = = 1\n"
        for load in (lua.execute, lua.compile):
            exc = _raises(lupa.LuaSyntaxError, load, code)
            assert exc.lineno == 3
            assert ":3: unexpected symbol" in str(exc)
        exc = _raises(lupa.LuaSyntaxError, lua.compile, "for i = 1, 2 do\n\n\n")
        assert (exc.lineno, exc.incomplete) == (4, True)
        assert str(exc).startswith(f"{PY}:4: 'end' expected (to close 'for' at line 1)")

    @pytest.mark.parametrize(
        "name", ["chunk:7: name", "=stdin", "=", "@file.lua", '"]:9: ', "x" * 200]
    )
    def test_chunk_names_do_not_confuse_lineno(self, lupa, lua, name):
        exc = _raises(lupa.LuaSyntaxError, lua.compile, "\n\nx = = 1", name=name)
        assert exc.lineno == 3
        exc = _raises(lupa.LuaSyntaxError, lua.execute, "x = (", name=name)
        assert (exc.lineno, exc.incomplete) == (1, True)

    def test_defaults_on_the_class_and_other_instances(self, lupa):
        assert lupa.LuaSyntaxError.lineno is None
        assert lupa.LuaSyntaxError.incomplete is False
        made_by_python = lupa.LuaSyntaxError("message")
        assert (made_by_python.lineno, made_by_python.incomplete) == (None, False)
        assert not hasattr(lupa.LuaError("message"), "lineno")

    def test_errors_without_a_line(self, lupa):
        sandbox = lupa.LuaRuntime(sandbox=True)
        # (Luau's bytecode starts with its version byte.)
        bytecode = b"\0oops" if is_luau(lupa) else b"\x1bLua"
        exc = _raises(lupa.LuaSyntaxError, sandbox.execute, bytecode)
        assert (exc.lineno, exc.incomplete) == (None, False)

    def test_bytes_messages_have_them_too(self, lupa):
        exc = _raises(lupa.LuaSyntaxError, lupa.LuaRuntime(encoding=None).compile, "\nf(")
        assert isinstance(exc.args[0], bytes)
        assert (exc.lineno, exc.incomplete) == (2, True)


# ---------------------------------------------------------------------------------------------
# Chunk names in runtime errors
# ---------------------------------------------------------------------------------------------


class TestChunkNames:
    def test_default_name(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert str(exc).startswith(f"{PY}:1: x\n")

    @pytest.mark.parametrize("name", ["myname", b"myname", "\xf1ame"])
    def test_string_name(self, lupa, lua, name):
        shown = name.decode() if isinstance(name, bytes) else name
        exc = _raises(lupa.LuaError, lua.execute, "error('x')", name=name)
        chunk = f'[string "{shown}"]'
        assert exc.args == (
            f"{chunk}:1: x\nstack traceback:\n\t{chunk}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    def test_at_name_is_a_file_name(self, lupa, lua):
        """The traceback line 'file.lua:1: ...' is not '\\t[', so the order is kept."""
        exc = _raises(lupa.LuaError, lua.execute, "error('x')", name="@file.lua")
        assert exc.args == (
            f"file.lua:1: x\nstack traceback:\n\t{_error_frame(lua)}\n\tfile.lua:1: in main chunk",
        )

    def test_equals_name_is_raw(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('x')", name="=raw")
        assert exc.args == (
            f"raw:1: x\nstack traceback:\n\t{_error_frame(lua)}\n\traw:1: in main chunk",
        )

    def test_eval_name(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.eval, "nil + 1", name="calc")
        message = '[string "calc"]:1: attempt to perform arithmetic on a nil value'
        assert str(exc).startswith(message)

    def test_compile_name(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.compile("error('x')", name="compiled"))
        assert str(exc).startswith('[string "compiled"]:1: x\n')


# ---------------------------------------------------------------------------------------------
# Runtime errors and their reversed tracebacks
# ---------------------------------------------------------------------------------------------


class TestRuntimeErrorMessages:
    def test_error_in_main_chunk(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('abc')")
        assert exc.args == (
            f"{PY}:1: abc\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    def test_str_of_exception(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('abc')")
        assert str(exc) == exc.args[0]

    def test_error_level_0(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('abc', 0)")
        assert exc.args == (
            f"abc\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    def test_error_level_2_from_main_chunk(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('abc', 2)")
        assert exc.args[0].startswith("abc\nstack traceback:\n")

    def test_nested_functions_innermost_last(self, lupa, lua):
        exc = _raises(
            lupa.LuaError,
            lua.execute,
            "local function g() error('deep') end\nlocal function f() g() end\nf()",
        )
        if lua.lua_version >= (5, 3):
            f_frame, g_frame = "local 'f'", "upvalue 'g'"
        else:
            f_frame, g_frame = "function 'f'", "function 'g'"
        assert exc.args == (
            f"{PY}:1: deep\nstack traceback:\n"
            f"\t{PY}:3: in main chunk\n"
            f"\t{PY}:2: in {f_frame}\n"
            f"\t{PY}:1: in {g_frame}\n"
            f"\t{_error_frame(lua)}",
        )

    def test_error_in_called_function(self, lupa, lua):
        func = lua.eval("function() error('y') end")
        exc = _raises(lupa.LuaError, func)
        assert exc.args == (
            f"{PY}:1: y\nstack traceback:\n\t{PY}:1: in function <{PY}:1>\n\t{_error_frame(lua)}",
        )

    def test_error_from_callable_table(self, lupa, lua):
        func = lua.eval("setmetatable({}, {__call = function() error('in call') end})")
        exc = _raises(lupa.LuaError, func)
        assert exc.args == (
            f"{PY}:1: in call\nstack traceback:\n"
            f"\t{PY}:1: in function <{PY}:1>\n"
            f"\t{_error_frame(lua)}",
        )

    def test_calling_a_non_callable(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.eval("{}"))
        assert exc.args == ("attempt to call a table value\nstack traceback:",)

    def test_arithmetic_error_without_c_frame(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "local x = nil + 1")
        assert exc.args == (
            f"{PY}:1: attempt to perform arithmetic on a nil value\nstack traceback:\n"
            f"\t{PY}:1: in main chunk",
        )

    def test_call_nil_global(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "nil_global()")
        if lua.lua_version >= (5, 3):
            what = "attempt to call a nil value (global 'nil_global')"
        else:
            what = "attempt to call global 'nil_global' (a nil value)"
        assert exc.args == (f"{PY}:1: {what}\nstack traceback:\n\t{PY}:1: in main chunk",)

    def test_tail_call_traceback(self, lupa, lua):
        """A '(...tail calls...)' line ends the reversal: Lua's own order is kept."""
        exc = _raises(lupa.LuaError, lua.execute, "local function f() error('in f') end return f()")
        header = f"{PY}:1: in f\nstack traceback:\n"
        if _is_luajit(lupa):
            # LuaJIT writes no tail-call line, so the traceback is reversed as usual
            expected = header + f"\t{PY}:1: in function <{PY}:1>\n\t{_error_frame(lua)}"
        elif lua.lua_version == (5, 1):
            expected = (
                header + f"\t{_error_frame(lua)}\n\t{PY}:1: in function <{PY}:1>\n\t(tail call): ?"
            )
        else:
            expected = (
                header + f"\t{_error_frame(lua)}\n\t{PY}:1: in function <{PY}:1>\n"
                "\t(...tail calls...)"
            )
        assert exc.args == (expected,)

    def test_error_while_reading_table_item(self, lupa, lua):
        """Protected table/attribute reads also get the traceback handler."""
        table = lua.eval("setmetatable({}, {__index = function(t, k) error('idx ' .. k, 0) end})")
        exc = _raises(lupa.LuaError, lambda: table.foo)
        assert exc.args[0].startswith("idx foo\nstack traceback:\n")
        assert exc.args[0].endswith("\n\t" + _error_frame(lua))
        exc = _raises(lupa.LuaError, lambda: table["bar"])
        assert exc.args[0].startswith("idx bar\nstack traceback:\n")

    def test_multiline_message(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('line1\\nline2', 0)")
        assert exc.args == (
            f"line1\nline2\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )


class TestTracebackReordering:
    """The reordering algorithm, driven by a debug.traceback that returns fixed text."""

    @pytest.mark.parametrize(
        "text, expected",
        [
            (
                "msg\nstack traceback:\n\t[a]\n\t[b]\n\t[c]",
                "msg\nstack traceback:\n\t[c]\n\t[b]\n\t[a]",
            ),
            ("stack traceback:\n\t[a]\n\t[b]", "stack traceback:\n\t[b]\n\t[a]"),
            (
                "line1\nline2\nstack traceback:\n\t[a]\n\t[b]",
                "line1\nline2\nstack traceback:\n\t[b]\n\t[a]",
            ),
            # any leading whitespace before '[' counts
            (
                "msg\nstack traceback:\n\t[a]\n\t\t[b]\n \t[c]",
                "msg\nstack traceback:\n \t[c]\n\t\t[b]\n\t[a]",
            ),
            ("msg\nstack traceback:\n  [a]\n [b]", "msg\nstack traceback:\n [b]\n  [a]"),
            # each 'stack traceback:' header starts a new section
            (
                "msg\nstack traceback:\n\t[a]\n\t[b]\nstack traceback:\n\t[c]\n\t[d]",
                "msg\nstack traceback:\n\t[b]\n\t[a]\nstack traceback:\n\t[d]\n\t[c]",
            ),
            (
                "msg\nstack traceback:\n\t[a]\n\t[b]\nmore\nstack traceback:\n\t[c]\n\t[d]",
                "msg\nstack traceback:\n\t[b]\n\t[a]\nmore\nstack traceback:\n\t[d]\n\t[c]",
            ),
            # a section cut short by an odd line stays as it is if a later section follows
            (
                "msg\nstack traceback:\n\t[a]\n\t(x)\n\t[c]\nstack traceback:\n\t[d]\n\t[e]",
                "msg\nstack traceback:\n\t[a]\n\t(x)\n\t[c]\nstack traceback:\n\t[e]\n\t[d]",
            ),
            ("msg\nstack traceback:\n\t[a]", "msg\nstack traceback:\n\t[a]"),
            ("msg\nstack traceback:", "msg\nstack traceback:"),
        ],
        ids=[
            "three-frames",
            "header-first",
            "multiline-message",
            "mixed-indent",
            "space-indent",
            "two-headers",
            "two-headers-text-between",
            "odd-section-then-good-section",
            "one-frame",
            "header-only",
        ],
    )
    def test_reversed(self, lupa, lua, text, expected):
        _set_traceback_result(lua, text)
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert exc.args == (expected,)

    @pytest.mark.parametrize(
        "text",
        [
            "msg\nstack traceback:\n\t[a]\n\tX\n\t[c]",
            "msg\nstack traceback:\n\t[a]\n\t[b]\n\tX",
            "msg\nstack traceback:\n\tX\n\t[b]\n\t[c]",
            "msg\nstack traceback:\n\t[a]\n\t[b]\n\t[c]\nafter",
            "msg\nstack traceback:\n\t[a]\n\n\t[b]",
            "msg\nstack traceback:\n[a]\n[b]",
            "msg\nstack traceback: \n\t[a]\n\t[b]",
            "msg\n stack traceback:\n\t[a]\n\t[b]",
            "no header\n\t[a]\n\t[b]",
            "msg\nstack traceback:\n\t[a]\n\t[b]\nstack traceback:\n\tX",
            "",
        ],
        ids=[
            "odd-line-middle",
            "odd-line-end",
            "odd-line-start",
            "unindented-line-end",
            "empty-line",
            "no-indent",
            "header-trailing-space",
            "header-indented",
            "no-header",
            "last-section-odd",
            "empty",
        ],
    )
    def test_kept_as_is(self, lupa, lua, text):
        """If the last section ends in an odd line, the whole reordering is discarded."""
        _set_traceback_result(lua, text)
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert exc.args == (text,)


class TestTracebackHandler:
    def test_custom_traceback_function_formats_message(self, lupa, lua):
        lua.execute("debug.traceback = function(msg) return 'CUSTOM:' .. tostring(msg) end")
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert exc.args == (f"CUSTOM:{PY}:1: x",)

    def test_custom_handler_receives_error_object(self, lupa, lua):
        lua.execute("debug.traceback = function(e) return type(e) end")
        assert _raises(lupa.LuaError, lua.execute, "error({})").args == ("table",)
        assert _raises(lupa.LuaError, lua.execute, "error(nil)").args == ("nil",)

    def test_custom_handler_used_for_function_calls(self, lupa, lua):
        lua.execute("debug.traceback = function(msg) return 'C:' .. tostring(msg) end")
        exc = _raises(lupa.LuaError, lua.eval("function() error('x', 0) end"))
        assert exc.args == ("C:x",)

    def test_custom_handler_used_for_table_reads(self, lupa, lua):
        table = lua.eval("setmetatable({}, {__index = function(t, k) error('idx ' .. k, 0) end})")
        lua.execute("debug.traceback = function(msg) return 'C:' .. tostring(msg) end")
        assert _raises(lupa.LuaError, lambda: table.foo).args == ("C:idx foo",)
        assert _raises(lupa.LuaError, lambda: table["bar"]).args == ("C:idx bar",)

    def test_custom_handler_used_for_require(self, lupa, lua):
        lua.execute("debug.traceback = function(msg) return 'C:' .. tostring(msg) end")
        exc = _raises(lupa.LuaError, lua.require, "no_such_module_xyz")
        assert exc.args[0].startswith("C:module 'no_such_module_xyz' not found:")

    def test_handler_is_looked_up_when_the_call_starts(self, lupa, lua):
        """Replacing debug.traceback inside the failing chunk affects only later calls."""
        exc = _raises(
            lupa.LuaError,
            lua.execute,
            "debug.traceback = function(msg) return 'CUSTOM' end error('x')",
        )
        assert exc.args[0].startswith(f"{PY}:1: x\nstack traceback:\n")
        assert _raises(lupa.LuaError, lua.execute, "error('x')").args == ("CUSTOM",)

    def test_restoring_the_original_handler(self, lupa, lua):
        lua.execute("orig = debug.traceback; debug.traceback = function() return 'C' end")
        lua.execute("debug.traceback = orig")
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert exc.args[0].startswith(f"{PY}:1: x\nstack traceback:\n")

    def test_no_traceback_when_debug_traceback_removed(self, lupa, lua):
        lua.execute("debug.traceback = nil")
        assert _raises(lupa.LuaError, lua.execute, "error('x')").args == (f"{PY}:1: x",)

    def test_no_traceback_when_debug_removed(self, lupa, lua):
        lua.execute("debug = nil")
        assert _raises(lupa.LuaError, lua.execute, "error('x')").args == (f"{PY}:1: x",)
        exc = _raises(lupa.LuaError, lua.eval("function() error('y') end"))
        assert exc.args == (f"{PY}:1: y",)

    def test_non_function_traceback_is_ignored(self, lupa, lua):
        lua.execute("debug.traceback = 5")
        assert _raises(lupa.LuaError, lua.execute, "error('x')").args == (f"{PY}:1: x",)

    def test_handler_returning_number(self, lupa, lua):
        lua.execute("debug.traceback = function() return 42 end")
        assert _raises(lupa.LuaError, lua.execute, "error('x')").args == ("42",)

    def test_handler_returning_table(self, lupa, lua):
        lua.execute("debug.traceback = function() return {} end")
        assert _raises(lupa.LuaError, lua.execute, "error('x')").args == ("",)

    def test_error_inside_handler(self, lupa, lua):
        lua.execute("debug.traceback = function() error('in handler') end")
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert exc.args == ("error in error handling",)

    def test_wrapping_original_traceback(self, lupa, lua):
        lua.execute(
            "local orig = debug.traceback\n"
            "debug.traceback = function(e) return orig('W:' .. tostring(e), 2) end"
        )
        exc = _raises(lupa.LuaError, lua.execute, "error('x')")
        assert exc.args[0].startswith(f"W:{PY}:1: x\nstack traceback:\n\t{PY}:1: in main chunk")


# ---------------------------------------------------------------------------------------------
# Non-string error objects
# ---------------------------------------------------------------------------------------------


class TestNonStringErrors:
    @pytest.mark.parametrize(
        "code",
        [
            "error({})",
            "error(true)",
            "error(false)",
            "error(setmetatable({}, {__tostring = function() return 'TS' end}))",
            "error(python.builtins)",
            "error(io.stdout)",
            "error(print)",
        ],
        ids=["table", "true", "false", "tostring-table", "python-object", "userdata", "function"],
    )
    def test_message_is_empty(self, lupa, lua, code):
        exc = _raises(lupa.LuaError, lua.execute, code)
        assert exc.args == ("",)
        assert str(exc) == ""

    def test_from_function_call(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.eval("function() error({code = 1}) end"))
        assert exc.args == ("",)

    def test_table_with_memory_message_is_not_memory_error(self, lupa, lua):
        code = "error(setmetatable({}, {__tostring = function() return 'not enough memory' end}))"
        exc = _raises(lupa.LuaError, lua.execute, code)
        assert exc.args == ("",)

    @pytest.mark.parametrize("value, text", [("12", "12"), ("1.5", "1.5")])
    def test_number(self, lupa, lua, value, text):
        """Numbers are converted to strings; Lua < 5.3 also adds the position to them."""
        exc = _raises(lupa.LuaError, lua.execute, f"error({value})")
        prefix = "" if lua.lua_version >= (5, 3) else f"{PY}:1: "
        assert exc.args == (
            f"{prefix}{text}\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    def test_number_level_0(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error(7, 0)")
        assert exc.args[0].startswith("7\nstack traceback:\n")

    @pytest.mark.parametrize("code", ["error()", "error(nil)"])
    def test_error_nil(self, lupa, lua, code):
        """Lua 5.1/LuaJIT give ''; 5.2+ let debug.traceback(nil) produce a bare traceback."""
        exc = _raises(lupa.LuaError, lua.execute, code)
        if _is_puc_52_plus(lupa, lua):
            expected = f"stack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}"
        else:
            expected = ""
        assert exc.args == (expected,)

    def test_table_without_traceback_handler(self, lupa, lua):
        lua.execute("debug.traceback = nil")
        assert _raises(lupa.LuaError, lua.execute, "error({})").args == ("",)

    def test_error_nil_without_traceback_handler(self, lupa, lua):
        """Lua 5.5 itself replaces a nil error object by '<no error object>'."""
        lua.execute("debug.traceback = nil")
        exc = _raises(lupa.LuaError, lua.execute, "error()")
        assert exc.args == ("<no error object>" if lua.lua_version >= (5, 5) else "",)


# ---------------------------------------------------------------------------------------------
# LuaMemoryError
# ---------------------------------------------------------------------------------------------


def _skip_without_custom_allocator(lupa):
    if lupa.__name__.endswith("luajit20"):
        pytest.skip("LuaJIT 2.0 (64 bit) cannot create a runtime with max_memory")


class TestMemoryErrors:
    @pytest.mark.parametrize("text", ["not enough memory here", "xx not enough memory"])
    def test_message_containing_not_enough_memory(self, lupa, lua, text):
        exc = _raises(lupa.LuaMemoryError, lua.execute, f"error('{text}', 0)")
        assert exc.args == (
            f"{text}\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )
        assert isinstance(exc, MemoryError)

    def test_memory_message_from_function_call(self, lupa, lua):
        func = lua.eval("function() error('not enough memory!', 0) end")
        exc = _raises(lupa.LuaMemoryError, func)
        assert exc.args[0].startswith("not enough memory!\nstack traceback:\n")

    def test_out_of_memory_at_runtime(self, lupa):
        _skip_without_custom_allocator(lupa)
        lua = lupa.LuaRuntime(max_memory=50000)
        exc = _raises(lupa.LuaMemoryError, lua.execute, "x = string.rep('a', 100000)")
        if lua.lua_version == (5, 3):
            # Lua 5.3 raises a normal runtime error for a failed buffer allocation
            assert exc.args[0].startswith(
                f"{PY}:1: not enough memory for buffer allocation\nstack traceback:\n"
            )
        else:
            # the LUA_ERRMEM status gives an exception without arguments
            assert exc.args == ()
            assert str(exc) == ""

    def test_out_of_memory_in_eval(self, lupa):
        _skip_without_custom_allocator(lupa)
        lua = lupa.LuaRuntime(max_memory=50000)
        with pytest.raises(lupa.LuaMemoryError):
            lua.eval("string.rep('a', 100000)")

    @pytest.fixture
    def big_chunk(self):
        return "return {" + ",".join(str(i) for i in range(20000)) + "}"

    def test_out_of_memory_while_compiling(self, lupa, big_chunk):
        _skip_without_custom_allocator(lupa)
        lua = lupa.LuaRuntime(max_memory=50000)
        exc = _raises(lupa.LuaMemoryError, lua.compile, big_chunk)
        assert exc.args == ("not enough memory",)

    def test_out_of_memory_while_loading_has_no_prefix(self, lupa, big_chunk):
        """A load error that starts with 'not enough memory' is a LuaMemoryError as it is."""
        _skip_without_custom_allocator(lupa)
        lua = lupa.LuaRuntime(max_memory=50000)
        exc = _raises(lupa.LuaMemoryError, lua.execute, big_chunk)
        assert exc.args == ("not enough memory",)
        exc = _raises(lupa.LuaMemoryError, lua.eval, big_chunk[len("return ") :])
        assert exc.args == ("not enough memory",)


# ---------------------------------------------------------------------------------------------
# Decoding of error messages
# ---------------------------------------------------------------------------------------------


class TestErrorDecoding:
    def test_utf8_message(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('caf\\195\\169', 0)")
        assert exc.args == (
            f"caf\xe9\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    def test_utf8_source_text_in_message(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('\u20ac', 0)")
        assert exc.args[0].startswith("\u20ac\nstack traceback:")

    def test_latin1_runtime(self, lupa):
        lua = lupa.LuaRuntime(encoding="latin-1")
        exc = _raises(lupa.LuaError, lua.execute, "error('\\255', 0)")
        assert exc.args == (
            f"\xff\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    def test_encoding_none_decodes_as_latin1(self, lupa):
        lua = lupa.LuaRuntime(encoding=None)
        exc = _raises(lupa.LuaError, lua.execute, "error('caf\\195\\169', 0)")
        assert exc.args == (
            f"caf\xc3\xa9\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )
        exc = _raises(lupa.LuaError, lua.execute, "error('\\255', 0)")
        assert exc.args[0].startswith("\xff\nstack traceback:\n")

    def test_encoding_none_message_is_str(self, lupa):
        lua = lupa.LuaRuntime(encoding=None)
        exc = _raises(lupa.LuaError, lua.execute, "error('abc')")
        assert exc.args == (
            f"{PY}:1: abc\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    @pytest.mark.improvement
    def test_invalid_utf8_error_string_falls_back_to_latin1(self, lupa, lua):
        """Upstream raises UnicodeDecodeError instead of LuaError here (spec A10)."""
        exc = _raises(lupa.LuaError, lua.execute, "error('\\255', 0)")
        assert exc.args == (
            f"\xff\nstack traceback:\n\t{PY}:1: in main chunk\n\t{_error_frame(lua)}",
        )

    @pytest.mark.improvement
    def test_invalid_utf8_error_string_with_position(self, lupa, lua):
        exc = _raises(lupa.LuaError, lua.execute, "error('a\\128b')")
        assert exc.args[0].startswith(f"{PY}:1: a\x80b\nstack traceback:\n")
