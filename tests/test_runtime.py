"""LuaRuntime: constructor, eval/execute/compile, require, globals, tables, GC helpers,
version properties and the standard libraries opened per version.

The memory methods (max_memory accounting, set_max_memory, get_memory_used, ...) are covered
in their own test module.
"""

import collections.abc
import copy
import pickle
import re

import pytest
from helpers import skip_on_luau


def _is_luajit(lupa):
    return lupa.__name__.endswith(("luajit20", "luajit21"))


def _is_luajit20(lupa):
    return lupa.__name__.endswith("luajit20")


def _mode_is_applied(lua, lupa):
    """``mode=`` is passed to luaL_loadbufferx on 5.2+ (and applied by lupa.luau); Lua 5.1
    and LuaJIT ignore it."""
    if lupa.__name__.endswith(".luau"):
        return True
    return lua.lua_version >= (5, 2) and not _is_luajit(lupa)


# ---------------------------------------------------------------------------------------------
# Constructor: signature
# ---------------------------------------------------------------------------------------------

CONSTRUCTOR_DEFAULTS = dict(
    encoding="UTF-8",
    source_encoding=None,
    attribute_filter=None,
    attribute_handlers=None,
    register_eval=True,
    unpack_returned_tuples=False,
    register_builtins=True,
    overflow_handler=None,
    max_memory=None,
    string_hash_seed=None,
)


class TestConstructorSignature:
    def test_no_arguments(self, lupa):
        assert lupa.LuaRuntime().eval("1 + 1") == 2

    def test_all_keywords_with_defaults(self, lupa):
        assert lupa.LuaRuntime(**CONSTRUCTOR_DEFAULTS).eval("1 + 1") == 2

    def test_all_ten_positional_arguments(self, lupa):
        runtime = lupa.LuaRuntime(*CONSTRUCTOR_DEFAULTS.values())
        assert runtime.eval("1 + 1") == 2

    def test_unknown_keyword(self, lupa):
        with pytest.raises(
            TypeError, match=r"^(\w+\.)?\w+\(\) got an unexpected keyword argument 'foo'$"
        ):
            lupa.LuaRuntime(foo=1)

    def test_too_many_positional_arguments(self, lupa):
        with pytest.raises(TypeError, match="11"):
            lupa.LuaRuntime(*CONSTRUCTOR_DEFAULTS.values(), None)

    def test_repr_is_default_object_repr(self, lupa, lua):
        assert re.match(
            rf"^<{re.escape(lupa.__name__)}\.LuaRuntime object at 0x[0-9a-f]+>$", repr(lua)
        )


class TestConstructorPositionalOrder:
    """Upstream's parameters are positional in this order; each position is probed."""

    def test_position_0_is_encoding(self, lupa):
        assert lupa.LuaRuntime(None).eval("'a'") == b"a"

    def test_position_1_is_source_encoding(self, lupa):
        with pytest.raises(ValueError, match=re.escape("expected string, got <class 'int'>")):
            lupa.LuaRuntime("UTF-8", 1)
        # the source is encoded with latin-1: 'é' is a single byte in Lua
        assert lupa.LuaRuntime("UTF-8", "latin-1").eval("#'\xe9'") == 1

    def test_position_2_is_attribute_filter(self, lupa):
        with pytest.raises(ValueError, match="^attribute_filter must be callable$"):
            lupa.LuaRuntime("UTF-8", None, 1)

    def test_position_3_is_attribute_handlers(self, lupa):
        with pytest.raises(
            ValueError, match="^attribute_handlers must be a sequence of two callables$"
        ):
            lupa.LuaRuntime("UTF-8", None, None, 1)

    def test_position_4_is_register_eval(self, lupa):
        runtime = lupa.LuaRuntime("UTF-8", None, None, None, False)
        assert runtime.eval("python.eval") is None
        assert runtime.eval("python.builtins") is not None

    def test_position_5_is_unpack_returned_tuples(self, lupa):
        runtime = lupa.LuaRuntime("UTF-8", None, None, None, True, True)
        assert runtime.eval("select('#', (...)())", lambda: (1, 2, 3)) == 3

    def test_position_6_is_register_builtins(self, lupa):
        runtime = lupa.LuaRuntime("UTF-8", None, None, None, True, False, False)
        assert runtime.eval("python.builtins") is None
        assert runtime.eval("python.eval") is not None

    def test_position_7_is_overflow_handler(self, lupa):
        with pytest.raises(ValueError, match="^overflow_handler must be callable$"):
            lupa.LuaRuntime("UTF-8", None, None, None, True, False, True, 1)

    def test_position_8_is_max_memory(self, lupa):
        if _is_luajit20(lupa):
            pytest.skip("LuaJIT 2.0 (64 bit) cannot create a runtime with a custom allocator")
        message = "^'>' not supported between instances of 'str' and 'int'$"
        with pytest.raises(TypeError, match=message):
            lupa.LuaRuntime("UTF-8", None, None, None, True, False, True, None, "x")

    def test_position_9_is_string_hash_seed(self, lupa):
        with pytest.raises(OverflowError, match="^can't convert negative value to unsigned int$"):
            lupa.LuaRuntime("UTF-8", None, None, None, True, False, True, None, None, -1)


# ---------------------------------------------------------------------------------------------
# Constructor: validation
# ---------------------------------------------------------------------------------------------


class TestConstructorValidation:
    @pytest.mark.parametrize("keyword", ["encoding", "source_encoding"])
    def test_encoding_non_ascii_str(self, lupa, keyword):
        with pytest.raises(UnicodeEncodeError):
            lupa.LuaRuntime(**{keyword: "\xe4\xf6"})

    @pytest.mark.parametrize("keyword", ["encoding", "source_encoding"])
    @pytest.mark.parametrize("value", [b"\xff", bytearray(b"\xff")])
    def test_encoding_non_ascii_bytes(self, lupa, keyword, value):
        with pytest.raises(
            ValueError, match="^byte string input has unknown encoding, only ASCII is allowed$"
        ):
            lupa.LuaRuntime(**{keyword: value})

    @pytest.mark.parametrize("keyword", ["encoding", "source_encoding"])
    @pytest.mark.parametrize("value, type_name", [(1, "int"), (1.5, "float"), (["UTF-8"], "list")])
    def test_encoding_wrong_type(self, lupa, keyword, value, type_name):
        with pytest.raises(
            ValueError, match=re.escape(f"expected string, got <class '{type_name}'>")
        ):
            lupa.LuaRuntime(**{keyword: value})

    @pytest.mark.parametrize("value", ["latin-1", b"latin-1", bytearray(b"latin-1")])
    def test_encoding_accepts_ascii_str_bytes_bytearray(self, lupa, value):
        assert lupa.LuaRuntime(encoding=value).eval("'\\255'") == "\xff"

    @pytest.mark.parametrize("value", ["latin-1", b"latin-1", bytearray(b"latin-1")])
    def test_source_encoding_accepts_ascii_str_bytes_bytearray(self, lupa, value):
        assert lupa.LuaRuntime(source_encoding=value).eval("#'\xff'") == 1

    def test_unknown_codec_detected_at_the_latest_on_use(self, lupa):
        with pytest.raises(LookupError, match="^unknown encoding: no-such-codec$"):
            lupa.LuaRuntime(encoding="no-such-codec").eval("'x'")

    @pytest.mark.parametrize("value", [1, "len", object()])
    def test_attribute_filter_not_callable(self, lupa, value):
        with pytest.raises(ValueError, match="^attribute_filter must be callable$"):
            lupa.LuaRuntime(attribute_filter=value)

    @pytest.mark.parametrize(
        "value",
        [5, "ab", (1, 2), (len, 2), (2, len), (len,), (len, len, len), [len, 1]],
        ids=["int", "str", "ints", "len-2", "2-len", "one", "three", "list-len-1"],
    )
    def test_attribute_handlers_bad_shape(self, lupa, value):
        with pytest.raises(
            ValueError, match="^attribute_handlers must be a sequence of two callables$"
        ):
            lupa.LuaRuntime(attribute_handlers=value)

    @pytest.mark.parametrize(
        "value",
        [None, (), 0, [], (None, None), (len, None), (None, len), [len, len]],
        ids=["None", "empty-tuple", "zero", "empty-list", "nones", "getter", "setter", "list"],
    )
    def test_attribute_handlers_accepted(self, lupa, value):
        assert lupa.LuaRuntime(attribute_handlers=value).eval("1") == 1

    def test_attribute_handlers_accepts_iterator(self, lupa):
        assert lupa.LuaRuntime(attribute_handlers=iter([None, len])).eval("1") == 1

    @pytest.mark.parametrize("handlers", [(len, None), (None, len), (len, len)])
    def test_attribute_filter_and_handlers_are_mutually_exclusive(self, lupa, handlers):
        with pytest.raises(
            ValueError, match="^attribute_filter and attribute_handlers are mutually exclusive$"
        ):
            lupa.LuaRuntime(attribute_filter=len, attribute_handlers=handlers)

    @pytest.mark.parametrize("handlers", [(None, None), (), None])
    def test_attribute_filter_with_empty_handlers_accepted(self, lupa, handlers):
        runtime = lupa.LuaRuntime(attribute_filter=len, attribute_handlers=handlers)
        assert runtime.eval("1") == 1

    @pytest.mark.parametrize("value", [1, "float", object()])
    def test_overflow_handler_not_callable(self, lupa, value):
        with pytest.raises(ValueError, match="^overflow_handler must be callable$"):
            lupa.LuaRuntime(overflow_handler=value)

    def test_max_memory_is_compared_with_zero(self, lupa):
        if _is_luajit20(lupa):
            pytest.skip("LuaJIT 2.0 (64 bit) fails to create a runtime with a custom allocator")
        with pytest.raises(
            TypeError, match="^'>' not supported between instances of 'str' and 'int'$"
        ):
            lupa.LuaRuntime(max_memory="x")

    def test_string_hash_seed_negative(self, lupa):
        with pytest.raises(OverflowError, match="^can't convert negative value to unsigned int$"):
            lupa.LuaRuntime(string_hash_seed=-1)

    def test_string_hash_seed_too_large(self, lupa):
        with pytest.raises(OverflowError, match="^value too large to convert to unsigned int$"):
            lupa.LuaRuntime(string_hash_seed=2**32)

    def test_string_hash_seed_not_an_integer(self, lupa):
        with pytest.raises(TypeError):
            lupa.LuaRuntime(string_hash_seed="x")

    def test_string_hash_seed_max_value_accepted(self, lupa):
        if _is_luajit20(lupa):
            pytest.skip("LuaJIT 2.0 (64 bit) fails to create a runtime with a custom allocator")
        assert lupa.LuaRuntime(string_hash_seed=2**32 - 1).eval("'a' .. 'b'") == "ab"


# ---------------------------------------------------------------------------------------------
# Constructor: what the options do (the basics; details are tested with the features)
# ---------------------------------------------------------------------------------------------


class TestConstructorOptions:
    def test_encoding_none_returns_bytes(self, lupa):
        runtime = lupa.LuaRuntime(encoding=None)
        assert runtime.eval("'abc'") == b"abc"

    def test_encoding_none_wraps_str_as_userdata(self, lupa):
        runtime = lupa.LuaRuntime(encoding=None)
        assert runtime.eval("type(...)", "x") == b"userdata"
        assert runtime.eval("type(...)", b"x") == b"string"
        # the wrapped str comes back as the original object
        assert runtime.eval("...", "x") == "x"

    def test_encoding_none_source_is_utf8(self, lupa):
        runtime = lupa.LuaRuntime(encoding=None)
        assert runtime.eval("'\xe9'") == "\xe9".encode()

    def test_encoding_latin1_roundtrip(self, lupa):
        runtime = lupa.LuaRuntime(encoding="latin-1")
        assert runtime.eval("'\\255'") == "\xff"
        assert runtime.eval("#...", "\xff") == 1

    def test_source_encoding_defaults_to_encoding(self, lupa):
        assert lupa.LuaRuntime(encoding="latin-1").eval("#'\xe9'") == 1
        assert lupa.LuaRuntime().eval("#'\xe9'") == 2

    def test_source_encoding_independent_of_encoding(self, lupa):
        runtime = lupa.LuaRuntime(encoding="latin-1", source_encoding="UTF-8")
        # the UTF-8 source bytes of 'é' come back decoded as latin-1
        assert runtime.eval("'\xe9'") == "\xc3\xa9"

    @pytest.mark.parametrize("flag", [False, 0, "", [], None])
    def test_register_eval_and_builtins_falsy(self, lupa, flag):
        runtime = lupa.LuaRuntime(register_eval=flag, register_builtins=flag)
        assert runtime.eval("python.eval == nil, python.builtins == nil") == (True, True)

    @pytest.mark.parametrize("flag", [True, 1, "yes", [0]])
    def test_register_eval_and_builtins_truthy(self, lupa, flag):
        import builtins

        runtime = lupa.LuaRuntime(register_eval=flag, register_builtins=flag)
        assert runtime.eval("python.eval") is eval
        assert runtime.eval("python.builtins") is builtins

    def test_register_defaults(self, lupa, lua):
        import builtins

        assert lua.eval("python.eval") is eval
        assert lua.eval("python.builtins") is builtins
        assert lua.eval("python.eval('1 + 1')") == 2

    def test_unpack_returned_tuples_default_off(self, lupa, lua):
        assert lua.eval("select('#', (...)())", lambda: (1, 2, 3)) == 1

    @pytest.mark.parametrize("flag", [True, 1, "yes"])
    def test_unpack_returned_tuples_truthy(self, lupa, flag):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=flag)
        assert runtime.eval("select('#', (...)())", lambda: (1, 2, 3)) == 3

    def test_overflow_handler_keyword(self, lupa):
        runtime = lupa.LuaRuntime(overflow_handler=float)
        assert runtime.eval("...", 2**70) == float(2**70)

    def test_without_overflow_handler_big_int_fails(self, lupa, lua):
        with pytest.raises(OverflowError):
            lua.eval("...", 2**70)


class TestSubclassing:
    def test_subclass_with_methods(self, lupa):
        class MyRuntime(lupa.LuaRuntime):
            def double(self, value):
                return self.eval("... * 2", value)

        runtime = MyRuntime()
        assert isinstance(runtime, lupa.LuaRuntime)
        assert runtime.double(21) == 42

    def test_subclass_passes_constructor_arguments(self, lupa):
        class MyRuntime(lupa.LuaRuntime):
            pass

        assert MyRuntime(encoding=None).eval("'a'") == b"a"
        assert MyRuntime(None).eval("'a'") == b"a"

    def test_subclass_instances_have_a_dict(self, lupa):
        class MyRuntime(lupa.LuaRuntime):
            pass

        runtime = MyRuntime()
        runtime.tag = "x"
        assert runtime.tag == "x"

    def test_subclass_init_may_ignore_arguments(self, lupa):
        """The constructor arguments are consumed before ``__init__`` runs."""

        class MyRuntime(lupa.LuaRuntime):
            def __init__(self, *args, **kwargs):
                super().__init__()
                self.tag = "initialised"

        runtime = MyRuntime(encoding=None, unpack_returned_tuples=True)
        assert runtime.tag == "initialised"
        assert runtime.eval("'a'") == b"a"


# ---------------------------------------------------------------------------------------------
# eval / execute / compile
# ---------------------------------------------------------------------------------------------


class TestEvalResults:
    def test_single_value(self, lupa, lua):
        assert lua.eval("1 + 1") == 2

    def test_nothing_is_none(self, lupa, lua):
        assert lua.eval("nil") is None

    def test_several_values_are_a_tuple(self, lupa, lua):
        assert lua.eval("1, 2, 3") == (1, 2, 3)

    def test_nil_inside_several_values(self, lupa, lua):
        assert lua.eval("1, nil, 3") == (1, None, 3)

    def test_only_nils(self, lupa, lua):
        assert lua.eval("nil, nil") == (None, None)

    def test_table_value(self, lupa, lua):
        assert lupa.lua_type(lua.eval("{}")) == "table"

    def test_booleans_and_strings(self, lupa, lua):
        assert lua.eval("true, false, 's'") == (True, False, "s")

    def test_statements_are_a_syntax_error(self, lupa, lua):
        """eval() prepends 'return ', so a statement list does not compile."""
        with pytest.raises(lupa.LuaSyntaxError):
            lua.eval("1; 2")
        with pytest.raises(lupa.LuaSyntaxError):
            lua.eval("x = 1")


class TestEvalArguments:
    def test_varargs(self, lupa, lua):
        assert lua.eval("...", 1, "a", None) == (1, "a", None)

    def test_varargs_count_includes_trailing_nils(self, lupa, lua):
        assert lua.eval("select('#', ...)", 1, None, None) == 3

    def test_no_varargs(self, lupa, lua):
        assert lua.eval("select('#', ...)") == 0

    def test_args_are_converted(self, lupa, lua):
        assert lua.eval("type(...)", 1.5) == "number"
        assert lua.eval("type(...)", "x") == "string"
        assert lua.eval("type(...)", []) == "userdata"

    @pytest.mark.parametrize("code", [b"1 + 1", bytearray(b"1 + 1")])
    def test_code_as_bytes(self, lupa, lua, code):
        assert lua.eval(code) == 2

    @pytest.mark.parametrize("code, type_name", [(1, "int"), (1.5, "float"), (None, "NoneType")])
    def test_code_wrong_type(self, lupa, lua, code, type_name):
        message = f"Expected string, got <class '{type_name}'>"
        with pytest.raises(TypeError, match=re.escape(message)):
            lua.eval(code)

    def test_source_is_encoded(self, lupa, lua):
        assert lua.eval("'\xe9'") == "\xe9"

    def test_name_and_mode_are_keyword_only(self, lupa, lua):
        """Positional arguments after the code are Lua varargs, never name or mode."""
        assert lua.eval("...", "name", "t") == ("name", "t")

    def test_unknown_keyword(self, lupa, lua):
        with pytest.raises(TypeError, match=r"eval\(\) got an unexpected keyword argument 'foo'"):
            lua.eval("1", foo=1)

    def test_explicit_none_name_and_mode(self, lupa, lua):
        assert lua.eval("1", name=None, mode=None) == 1

    @pytest.mark.parametrize("name", [1, 1.5])
    def test_name_wrong_type(self, lupa, lua, name):
        with pytest.raises(TypeError, match=re.escape("Expected string, got <class ")):
            lua.eval("1", name=name)

    def test_name_is_cut_at_a_nul_character(self, lupa, lua):
        with pytest.raises(lupa.LuaError, match=re.escape('[string "a"]:1: x')):
            lua.execute('error("x")', name="a\0b")
        assert lua.compile("return 1", name="a\0b")() == 1

    def test_runtime_cannot_be_pickled_or_copied(self, lupa, lua):
        with pytest.raises(TypeError, match="^no default __reduce__ due to non-trivial __cinit__$"):
            pickle.dumps(lua)
        with pytest.raises(TypeError, match="^no default __reduce__"):
            copy.copy(lua)


class TestExecute:
    def test_returns_chunk_values(self, lupa, lua):
        assert lua.execute("return 1, 2") == (1, 2)

    def test_no_return_is_none(self, lupa, lua):
        assert lua.execute("x = 1") is None
        assert lua.eval("x") == 1

    def test_empty_return(self, lupa, lua):
        assert lua.execute("return") is None

    def test_varargs(self, lupa, lua):
        assert lua.execute("local a, b = ... return b, a", 1, 2) == (2, 1)
        assert lua.execute("return ...") is None
        assert lua.execute("return ...", None) is None

    def test_varargs_count(self, lupa, lua):
        assert lua.execute("return select('#', ...)", None, None) == 2

    def test_multiple_statements(self, lupa, lua):
        assert lua.execute("local a = 1; local b = 2; return a + b") == 3

    @pytest.mark.parametrize("code", [b"return 3", bytearray(b"return 3")])
    def test_code_as_bytes(self, lupa, lua, code):
        assert lua.execute(code) == 3

    def test_code_wrong_type(self, lupa, lua):
        with pytest.raises(TypeError, match=re.escape("Expected string, got <class 'NoneType'>")):
            lua.execute(None)

    def test_unknown_keyword(self, lupa, lua):
        with pytest.raises(TypeError, match=r"execute\(\) got an unexpected keyword argument 'x'"):
            lua.execute("return 1", x=1)


class TestCompile:
    def test_returns_function(self, lupa, lua):
        func = lua.compile("return 1 + 1")
        assert lupa.lua_type(func) == "function"
        assert func() == 2

    def test_compiled_function_takes_varargs(self, lupa, lua):
        assert lua.compile("return ...")(1, 2) == (1, 2)

    def test_not_run_on_compile(self, lupa, lua):
        func = lua.compile("counter = (counter or 0) + 1")
        assert lua.eval("counter") is None
        func()
        func()
        assert lua.eval("counter") == 2

    def test_name_and_mode_positional(self, lupa, lua):
        func = lua.compile("error('x')", "mychunk", "t")
        with pytest.raises(lupa.LuaError, match=re.escape('[string "mychunk"]:1: x')):
            func()

    def test_name_keyword(self, lupa, lua):
        with pytest.raises(lupa.LuaError, match=re.escape("=raw"[1:] + ":1: x")):
            lua.compile("error('x')", name="=raw")()

    def test_too_many_positional(self, lupa, lua):
        with pytest.raises(TypeError):
            lua.compile("return 1", "a", "t", "extra")

    @pytest.mark.parametrize("code", [b"return 3", bytearray(b"return 3")])
    def test_code_as_bytes(self, lupa, lua, code):
        assert lua.compile(code)() == 3

    def test_code_wrong_type(self, lupa, lua):
        with pytest.raises(TypeError, match=re.escape("Expected string, got <class 'int'>")):
            lua.compile(1)

    def test_unknown_keyword(self, lupa, lua):
        with pytest.raises(TypeError, match=r"compile\(\) got an unexpected keyword argument 'x'"):
            lua.compile("return 1", x=1)


class TestMode:
    @pytest.fixture
    def bytecode(self, lupa):
        skip_on_luau(lupa, "no string.dump (Luau bytecode comes from its compiler; test_luau.py)")
        dumper = lupa.LuaRuntime(encoding=None)
        code = dumper.eval("string.dump(function(...) return 42, ... end)")
        assert isinstance(code, bytes)
        return code

    @pytest.mark.parametrize("mode", ["t", "bt", b"t", bytearray(b"bt")])
    def test_text_modes_accept_source(self, lupa, lua, mode):
        assert lua.eval("1", mode=mode) == 1
        assert lua.execute("return 1", mode=mode) == 1
        assert lua.compile("return 1", mode=mode)() == 1

    def test_binary_chunk_loads_by_default(self, lupa, lua, bytecode):
        assert lua.execute(bytecode, 1) == (42, 1)
        assert lua.compile(bytecode)() == 42

    @pytest.mark.parametrize("mode", ["b", "bt"])
    def test_binary_chunk_with_binary_mode(self, lupa, lua, bytecode, mode):
        assert lua.execute(bytecode, mode=mode) == 42
        assert lua.compile(bytecode, mode=mode)() == 42

    def test_text_chunk_with_binary_mode(self, lupa, lua):
        if not _mode_is_applied(lua, lupa):
            assert lua.eval("1", mode="b") == 1
            assert lua.execute("return 1", mode="b") == 1
            assert lua.compile("return 1", mode="b")() == 1
            return
        message = "attempt to load a text chunk (mode is 'b')"
        with pytest.raises(lupa.LuaSyntaxError) as exc:
            lua.eval("1", mode="b")
        assert exc.value.args == ("error loading code: " + message,)
        with pytest.raises(lupa.LuaSyntaxError) as exc:
            lua.execute("return 1", mode="b")
        assert exc.value.args == ("error loading code: " + message,)
        with pytest.raises(lupa.LuaSyntaxError) as exc:
            lua.compile("return 1", mode="b")
        assert exc.value.args == (message,)

    def test_binary_chunk_with_text_mode(self, lupa, lua, bytecode):
        if not _mode_is_applied(lua, lupa):
            assert lua.execute(bytecode, mode="t") == 42
            return
        message = "attempt to load a binary chunk (mode is 't')"
        with pytest.raises(lupa.LuaSyntaxError) as exc:
            lua.execute(bytecode, mode="t")
        assert exc.value.args == ("error loading code: " + message,)
        with pytest.raises(lupa.LuaSyntaxError) as exc:
            lua.compile(bytecode, mode="t")
        assert exc.value.args == (message,)

    @pytest.mark.parametrize("mode", ["x", ""])
    def test_other_mode_strings(self, lupa, lua, mode):
        if not _mode_is_applied(lua, lupa):
            assert lua.execute("return 1", mode=mode) == 1
            return
        with pytest.raises(lupa.LuaSyntaxError) as exc:
            lua.execute("return 1", mode=mode)
        message = f"error loading code: attempt to load a text chunk (mode is '{mode}')"
        assert exc.value.args == (message,)

    def test_mode_wrong_type(self, lupa, lua):
        """The mode is validated on every version, even where it is ignored."""
        with pytest.raises(ValueError, match=re.escape("expected string, got <class 'int'>")):
            lua.eval("1", mode=1)

    def test_mode_non_ascii(self, lupa, lua):
        with pytest.raises(UnicodeEncodeError):
            lua.execute("return 1", mode="\xe4")


# ---------------------------------------------------------------------------------------------
# require
# ---------------------------------------------------------------------------------------------


class TestRequire:
    def test_loaded_library(self, lupa, lua):
        assert lua.eval("rawequal")(lua.require("string"), lua.eval("string"))

    def test_bytes_name(self, lupa, lua):
        assert lua.eval("rawequal")(lua.require(b"table"), lua.eval("table"))

    def test_python_module_is_loaded(self, lupa, lua):
        assert lua.eval("rawequal")(lua.require("python"), lua.eval("python"))

    @pytest.mark.parametrize("name", [1, None, bytearray(b"string"), ["string"]])
    def test_name_wrong_type(self, lupa, lua, name):
        with pytest.raises(TypeError, match="^modulename must be a string$"):
            lua.require(name)

    def test_preloaded_module_gets_its_name(self, lupa, lua):
        lua.execute("package.preload.mymod = function(...) return {name = (...)} end")
        result = lua.require("mymod")
        if lua.lua_version >= (5, 4):
            # Lua 5.4+ require() returns the loader data as a second value
            assert isinstance(result, tuple)
            module, loader_data = result
            assert loader_data == ":preload:"
        else:
            module = result
        assert module.name == "mymod"

    def test_module_is_cached(self, lupa, lua):
        lua.execute("package.preload.counted = function() n = (n or 0) + 1 return {} end")
        lua.require("counted")
        lua.require("counted")
        assert lua.eval("n") == 1

    def test_missing_module(self, lupa, lua):
        with pytest.raises(lupa.LuaError, match="^module 'no_such_module_xyz' not found:"):
            lua.require("no_such_module_xyz")

    def test_calls_current_global_require_with_one_argument(self, lupa, lua):
        lua.execute("function require(...) return select('#', ...), ... end")
        assert lua.require("abc") == (1, "abc")
        assert lua.require(b"abc") == (1, "abc")

    def test_require_not_defined(self, lupa, lua):
        lua.execute("require = nil")
        with pytest.raises(lupa.LuaError) as exc:
            lua.require("string")
        assert exc.value.args == ("require is not defined",)
        assert type(exc.value) is lupa.LuaError

    def test_encoding_none_needs_bytes_name(self, lupa):
        runtime = lupa.LuaRuntime(encoding=None)
        assert runtime.eval("rawequal")(runtime.require(b"string"), runtime.eval("string"))
        # a str is passed to Lua as userdata, which require() rejects
        with pytest.raises(lupa.LuaError, match="string expected, got "):
            runtime.require("string")


# ---------------------------------------------------------------------------------------------
# globals
# ---------------------------------------------------------------------------------------------


class TestGlobals:
    def test_is_the_globals_table(self, lupa, lua):
        g = lua.globals()
        assert lupa.lua_type(g) == "table"
        assert lua.eval("rawequal(_G, ...)", g) is True

    def test_reading_globals(self, lupa, lua):
        lua.execute("x = 42")
        assert lua.globals().x == 42
        assert lua.globals()["x"] == 42

    def test_writing_globals(self, lupa, lua):
        g = lua.globals()
        g.y = "set from python"
        g["z"] = 3
        assert lua.eval("y, z") == ("set from python", 3)

    def test_standard_functions_visible(self, lupa, lua):
        g = lua.globals()
        assert lupa.lua_type(g.print) == "function"
        assert lupa.lua_type(g.string) == "table"


# ---------------------------------------------------------------------------------------------
# table() and table_from()
# ---------------------------------------------------------------------------------------------


def _items(table):
    return sorted(table.items(), key=lambda item: (str(type(item[0])), str(item[0])))


class TestTable:
    def test_empty(self, lupa, lua):
        table = lua.table()
        assert lupa.lua_type(table) == "table"
        assert list(table.items()) == []

    def test_positional_items(self, lupa, lua):
        assert list(lua.table(1, "a", 2.5).items()) == [(1, 1), (2, "a"), (3, 2.5)]

    def test_none_item_leaves_a_hole(self, lupa, lua):
        assert list(lua.table(1, None, 3).items()) == [(1, 1), (3, 3)]

    def test_keyword_items(self, lupa, lua):
        table = lua.table(a=1, b="x")
        assert _items(table) == [("a", 1), ("b", "x")]

    def test_keyword_none_value_absent(self, lupa, lua):
        assert list(lua.table(a=None).items()) == []

    def test_positional_and_keyword(self, lupa, lua):
        table = lua.table(5, 6, x=7)
        assert _items(table) == [(1, 5), (2, 6), ("x", 7)]

    def test_containers_are_stored_as_they_are(self, lupa, lua):
        """A dict or list given positionally is not unpacked: it becomes userdata."""
        d, lst = {"a": 1}, [1]
        table = lua.table(d, lst)
        assert table[1] is d
        assert table[2] is lst
        assert lua.eval("type(...)", table[1]) == "userdata"
        assert lua.eval("function(t) return type(t[1]) end")(table) == "userdata"

    def test_lua_tables_as_items(self, lupa, lua):
        inner = lua.table(1)
        outer = lua.table(inner)
        assert lua.eval("rawequal")(outer[1], inner)

    def test_encoding_none_keywords_are_userdata_keys(self, lupa):
        runtime = lupa.LuaRuntime(encoding=None)
        table = runtime.table(a=1)
        assert runtime.eval("function(t) return t.a end")(table) is None
        assert runtime.eval("function(t) return type((next(t))) end")(table) == b"userdata"
        assert list(table.items()) == [("a", 1)]

    def test_new_table_each_call(self, lupa, lua):
        assert not lua.eval("rawequal")(lua.table(), lua.table())


class TestTableFrom:
    def test_no_arguments(self, lupa, lua):
        table = lua.table_from()
        assert lupa.lua_type(table) == "table"
        assert list(table.items()) == []

    def test_list(self, lupa, lua):
        assert list(lua.table_from([1, 2, 3]).items()) == [(1, 1), (2, 2), (3, 3)]

    def test_dict(self, lupa, lua):
        assert _items(lua.table_from({"a": 1, "b": 2})) == [("a", 1), ("b", 2)]

    def test_dict_none_value_is_absent(self, lupa, lua):
        assert _items(lua.table_from({"a": None, "b": 2})) == [("b", 2)]

    def test_dict_none_key_becomes_python_none(self, lupa, lua):
        table = lua.table_from({None: 2})
        assert lua.eval("function(t) return t[python.none] end")(table) == 2
        assert list(table.items()) == [(None, 2)]

    def test_dict_non_string_keys(self, lupa, lua):
        table = lua.table_from({1: "x", 2.5: "y", False: "z"})
        assert lua.eval("function(t) return t[1], t[2.5], t[false] end")(table) == ("x", "y", "z")

    def test_counter_continues_across_arguments(self, lupa, lua):
        assert list(lua.table_from([1], [2]).items()) == [(1, 1), (2, 2)]

    def test_mixed_arguments(self, lupa, lua):
        table = lua.table_from({"a": 1}, [5, 6], {"b": 2}, [7])
        assert _items(table) == [(1, 5), (2, 6), (3, 7), ("a", 1), ("b", 2)]

    def test_same_list_twice(self, lupa, lua):
        shared = [1, 2]
        assert list(lua.table_from(shared, shared).items()) == [(1, 1), (2, 2), (3, 1), (4, 2)]

    def test_str_is_iterated(self, lupa, lua):
        assert list(lua.table_from("ab").items()) == [(1, "a"), (2, "b")]

    def test_bytes_is_iterated(self, lupa, lua):
        assert list(lua.table_from(b"ab").items()) == [(1, 97), (2, 98)]

    def test_generator_and_range(self, lupa, lua):
        assert list(lua.table_from(x for x in [3, 4]).items()) == [(1, 3), (2, 4)]
        assert list(lua.table_from(range(3)).items()) == [(1, 0), (2, 1), (3, 2)]

    def test_tuple(self, lupa, lua):
        assert list(lua.table_from((1, "a")).items()) == [(1, 1), (2, "a")]

    def test_custom_mapping(self, lupa, lua):
        class Doubler(collections.abc.Mapping):
            def __getitem__(self, key):
                return key * 2

            def __iter__(self):
                return iter([1, 2])

            def __len__(self):
                return 2

        assert list(lua.table_from(Doubler()).items()) == [(1, 2), (2, 4)]

    def test_not_iterable(self, lupa, lua):
        with pytest.raises(TypeError, match="^'int' object is not iterable$"):
            lua.table_from(5)

    def test_unknown_keyword(self, lupa, lua):
        with pytest.raises(TypeError):
            lua.table_from([], foo=1)

    def test_nested_containers_become_userdata(self, lupa, lua):
        inner_list, inner_dict = [1, 2], {"a": 1}
        table = lua.table_from([inner_list, inner_dict])
        assert table[1] is inner_list
        assert table[2] is inner_dict
        # Lua indexing of the userdata uses Python semantics (0-based lists)
        assert lua.eval("function(t) return t[1][0], t[2].a end")(table) == (1, 1)

    def test_copy_of_lua_table(self, lupa, lua):
        source = lua.eval("setmetatable({1, 2, x = 'y'}, {__index = function() return 1 end})")
        copy = lua.table_from(source)
        assert _items(copy) == [(1, 1), (2, 2), ("x", "y")]
        assert not lua.eval("rawequal")(copy, source)
        # the copy has no metatable
        assert lua.eval("getmetatable(...)", copy) is None

    def test_lua_table_and_python_arguments(self, lupa, lua):
        table = lua.table_from([1], lua.table(x=2))
        assert _items(table) == [(1, 1), ("x", 2)]

    def test_new_table_each_call(self, lupa, lua):
        lst = [1]
        assert not lua.eval("rawequal")(lua.table_from(lst), lua.table_from(lst))


class TestTableFromRecursive:
    def test_nested_list_and_dict(self, lupa, lua):
        table = lua.table_from([[1, [2]], {"a": {"b": 1}}], recursive=True)
        assert lupa.lua_type(table[1]) == "table"
        assert table[1][1] == 1
        assert list(table[1][2].items()) == [(1, 2)]
        assert list(table[2].a.items()) == [("b", 1)]

    def test_nested_tuple(self, lupa, lua):
        table = lua.table_from([(5, 6)], recursive=True)
        assert list(table[1].items()) == [(1, 5), (2, 6)]

    def test_strings_stay_strings(self, lupa, lua):
        table = lua.table_from(["s", b"b", {"k": "v"}], recursive=True)
        assert table[1] == "s"
        assert table[2] == "b"
        assert list(table[3].items()) == [("k", "v")]

    def test_sets_are_not_sequences(self, lupa, lua):
        s = {1, 2}
        table = lua.table_from([s], recursive=True)
        assert table[1] is s

    @pytest.mark.improvement
    def test_containers_made_on_the_fly_stay_distinct(self, lupa, lua):
        # the generator drops each list after converting it; CPython then reuses its address
        table = lua.table_from(([i] for i in range(5)), recursive=True)
        assert [list(table[i].values()) for i in range(1, 6)] == [[0], [1], [2], [3], [4]]

    def test_lua_table_inside(self, lupa, lua):
        inner = lua.table(9)
        table = lua.table_from([inner], recursive=True)
        assert lua.eval("rawequal")(table[1], inner)

    def test_recursive_false_keyword(self, lupa, lua):
        inner = [1]
        assert lua.table_from([inner], recursive=False)[1] is inner

    @pytest.mark.parametrize(
        "flag, converted", [(1, True), ("yes", True), (0, False), (None, False)]
    )
    def test_recursive_is_taken_by_truth_value(self, lupa, lua, flag, converted):
        table = lua.table_from([[1]], recursive=flag)
        assert (lupa.lua_type(table[1]) == "table") is converted

    def test_dict_cycle(self, lupa, lua):
        d = {"x": 1}
        d["self"] = d
        table = lua.table_from(d, recursive=True)
        assert lua.eval("function(t) return rawequal(t.self, t) and t.self.x end")(table) == 1

    def test_list_cycle(self, lupa, lua):
        lst = [1]
        lst.append(lst)
        table = lua.table_from(lst, recursive=True)
        assert lua.eval("function(t) return rawequal(t[2], t) end")(table) is True

    def test_nested_cycle(self, lupa, lua):
        outer = {"inner": {}}
        outer["inner"]["outer"] = outer
        table = lua.table_from(outer, recursive=True)
        assert lua.eval("function(t) return rawequal(t.inner.outer, t) end")(table) is True

    @pytest.mark.improvement
    def test_shared_sub_container_in_dict_is_same_table(self, lupa, lua):
        """Upstream turns the second reference into an empty table (spec A4)."""
        shared = [1, 2]
        table = lua.table_from({"x": shared, "y": shared}, recursive=True)
        assert list(table.x.items()) == [(1, 1), (2, 2)]
        assert lua.eval("function(t) return rawequal(t.x, t.y) end")(table) is True

    @pytest.mark.improvement
    def test_shared_sub_container_in_list_is_same_table(self, lupa, lua):
        shared = {"a": 1}
        table = lua.table_from([shared, shared], recursive=True)
        assert list(table[2].items()) == [("a", 1)]
        assert lua.eval("function(t) return rawequal(t[1], t[2]) end")(table) is True

    @pytest.mark.improvement
    def test_repeated_top_level_argument(self, lupa, lua):
        """Upstream stops at the repeated argument (spec A4); the items continue instead."""
        shared = [1, 2]
        table = lua.table_from(shared, shared, recursive=True)
        assert list(table.items()) == [(1, 1), (2, 2), (3, 1), (4, 2)]


class TestMixingRuntimes:
    @pytest.fixture
    def other(self, lupa):
        return lupa.LuaRuntime()

    def test_eval_argument_from_other_runtime(self, lupa, lua, other):
        with pytest.raises(lupa.LuaError) as exc:
            lua.eval("...", other.table())
        assert exc.value.args == ("cannot mix objects from different Lua runtimes",)

    def test_function_from_other_runtime(self, lupa, lua, other):
        with pytest.raises(lupa.LuaError, match="^cannot mix objects from different Lua runtimes$"):
            lua.execute("return ...", other.eval("print"))

    def test_table_item_from_other_runtime(self, lupa, lua, other):
        with pytest.raises(lupa.LuaError, match="^cannot mix objects from different Lua runtimes$"):
            lua.table(other.table())

    def test_table_from_list_item_from_other_runtime(self, lupa, lua, other):
        with pytest.raises(lupa.LuaError, match="^cannot mix objects from different Lua runtimes$"):
            lua.table_from([other.table(1, 2)])

    def test_table_from_dict_value_from_other_runtime(self, lupa, lua, other):
        with pytest.raises(lupa.LuaError, match="^cannot mix objects from different Lua runtimes$"):
            lua.table_from({"a": other.table(1, 2)})

    @pytest.mark.improvement
    def test_table_from_lua_table_of_other_runtime(self, lupa, lua, other):
        """Upstream copies some unrelated table or says 'lost reference' (spec A5)."""
        with pytest.raises(lupa.LuaError, match="^cannot mix objects from different Lua runtimes$"):
            lua.table_from(other.table(1, 2))

    def test_same_module_other_runtime_works_with_own_objects(self, lupa, lua, other):
        assert other.eval("...", other.table(1))[1] == 1
        assert lua.eval("...", lua.table(2))[1] == 2


# ---------------------------------------------------------------------------------------------
# GC helpers
# ---------------------------------------------------------------------------------------------


def _can_query_gc_running(lua, lupa):
    return lua.lua_version >= (5, 2) or lupa.__name__.endswith("luajit21")


GARBAGE_LOOP = "for i = 1, 20000 do garbage = {i, i, i, i} end garbage = nil"


class TestNoGC:
    def test_enter_returns_none(self, lupa, lua):
        with lua.nogc() as value:
            assert value is None

    def test_type_name(self, lupa, lua):
        assert type(lua.nogc()).__name__ == "_LuaNoGC"

    def test_stops_and_restarts_gc(self, lupa, lua):
        if not _can_query_gc_running(lua, lupa):
            pytest.skip("collectgarbage('isrunning') is not available")
        assert lua.eval("collectgarbage('isrunning')") is True
        with lua.nogc():
            assert lua.eval("collectgarbage('isrunning')") is False
        assert lua.eval("collectgarbage('isrunning')") is True

    def test_memory_only_grows_while_stopped(self, lupa, lua):
        lua.gccollect()
        with lua.nogc():
            before = lua.eval("(collectgarbage('count'))")
            lua.execute(GARBAGE_LOOP)
            grown = lua.eval("(collectgarbage('count'))") - before
        lua.gccollect()
        before = lua.eval("(collectgarbage('count'))")
        lua.execute(GARBAGE_LOOP)
        grown_with_gc = lua.eval("(collectgarbage('count'))") - before
        # 20000 small tables are at least 20000 * 40 bytes = 781 KiB
        assert grown > 700
        assert grown_with_gc < grown / 4

    def test_does_not_nest(self, lupa, lua):
        """The inner block's exit restarts the GC although the outer block is still open."""
        if not _can_query_gc_running(lua, lupa):
            pytest.skip("collectgarbage('isrunning') is not available")
        with lua.nogc():
            with lua.nogc():
                pass
            assert lua.eval("collectgarbage('isrunning')") is True

    def test_does_not_suppress_exceptions(self, lupa, lua):
        with pytest.raises(KeyError):
            with lua.nogc():
                raise KeyError("k")
        if _can_query_gc_running(lua, lupa):
            assert lua.eval("collectgarbage('isrunning')") is True

    def test_manual_enter_exit(self, lupa, lua):
        nogc = lua.nogc()
        assert nogc.__enter__() is None
        if _can_query_gc_running(lua, lupa):
            assert lua.eval("collectgarbage('isrunning')") is False
        assert not nogc.__exit__(None, None, None)
        if _can_query_gc_running(lua, lupa):
            assert lua.eval("collectgarbage('isrunning')") is True


class TestGCCollect:
    def test_returns_none(self, lupa, lua):
        assert lua.gccollect() is None

    def test_collects_unreachable_objects(self, lupa, lua):
        lua.execute("weak = setmetatable({}, {__mode = 'v'}); weak[1] = {}")
        assert lua.eval("weak[1] ~= nil") is True
        lua.gccollect()
        assert lua.eval("weak[1] == nil") is True

    def test_collects_even_when_stopped(self, lupa, lua):
        lua.execute("weak = setmetatable({}, {__mode = 'v'}); weak[1] = {}")
        with lua.nogc():
            lua.gccollect()
            assert lua.eval("weak[1] == nil") is True

    def test_takes_no_arguments(self, lupa, lua):
        with pytest.raises(TypeError):
            lua.gccollect(1)


# ---------------------------------------------------------------------------------------------
# Version properties
# ---------------------------------------------------------------------------------------------


class TestVersionProperties:
    def test_lua_version_matches_constant(self, lupa, lua):
        assert lua.lua_version == lupa.LUA_VERSION
        assert type(lua.lua_version) is tuple

    def test_lua_version_per_flavour(self, lupa, lua):
        name = lupa.__name__.rpartition(".")[2]
        if name == "lua":
            # Built against an installed Lua: the name does not tell, _VERSION does.
            expected = (5, int(lua.eval("_VERSION").split(".")[1]))
        else:
            luau_or_jit = name.startswith("luajit") or name == "luau"
            expected = (5, 1) if luau_or_jit else (5, int(name[4:]))
        assert lua.lua_version == expected

    def test_lua_version_read_only(self, lupa, lua):
        with pytest.raises(AttributeError):
            lua.lua_version = (1, 0)

    def test_lua_implementation(self, lupa, lua):
        if _is_luajit(lupa):
            version = lupa.__name__[-2] + "." + lupa.__name__[-1]
            assert re.match(rf"^LuaJIT {re.escape(version)}\.\d+$", lua.lua_implementation)
            assert lua.lua_implementation == lua.eval("jit.version")
        elif lupa.__name__.endswith(".luau"):
            assert lua.lua_implementation == "Luau"
        else:
            assert lua.lua_implementation == "Lua {}.{}".format(*lua.lua_version)

    def test_lua_implementation_read_only(self, lupa, lua):
        with pytest.raises(AttributeError):
            lua.lua_implementation = "x"

    def test_lua_implementation_runs_lua_code(self, lupa, lua):
        """It reports jit.version if a global jit table exists, else _VERSION."""
        if _is_luajit(lupa):
            lua.execute("jit.version = 'changed'")
            assert lua.lua_implementation == "changed"
            lua.execute("jit = nil")
        lua.execute("_VERSION = 'X'")
        assert lua.lua_implementation == "X"


# ---------------------------------------------------------------------------------------------
# Standard libraries
# ---------------------------------------------------------------------------------------------

BASE_LIBRARIES = {
    "_G",
    "coroutine",
    "debug",
    "io",
    "math",
    "os",
    "package",
    "string",
    "table",
    "python",
}


LUAU_LIBRARIES = {
    "_G",
    "bit32",
    "buffer",
    "coroutine",
    "debug",
    "math",
    "os",
    "package",  # lupa.luau's (Luau's VM has none)
    "python",
    "string",
    "table",
    "utf8",
    "vector",
}


def _expected_libraries(lua, lupa):
    if lupa.__name__.endswith(".luau"):
        return LUAU_LIBRARIES
    if _is_luajit(lupa):
        return BASE_LIBRARIES | {"bit", "jit"}
    if lua.lua_version == (5, 2):
        return BASE_LIBRARIES | {"bit32"}
    if lua.lua_version >= (5, 3):
        return BASE_LIBRARIES | {"utf8"}
    return BASE_LIBRARIES


class TestLibraries:
    def test_global_library_tables(self, lupa, lua):
        names = lua.execute(
            "local r = {} for k, v in pairs(_G) do "
            "if type(v) == 'table' then r[#r + 1] = k end end return table.concat(r, ' ')"
        )
        assert set(names.split()) == _expected_libraries(lua, lupa)

    def test_libraries_are_registered_in_package_loaded(self, lupa, lua):
        for name in _expected_libraries(lua, lupa):
            assert lua.eval("rawequal(package.loaded[...], _G[...])", name) is True, name

    def test_unsandboxed_functions(self, lupa, lua):
        for name in [
            "io.open",
            "os.execute",
            "os.getenv",
            "debug.getinfo",
            "debug.traceback",
            "package.loadlib",
            "require",
            "dofile",
            "loadfile",
            "load",
        ]:
            assert lua.eval(f"type({name})") == "function", name

    def test_require_python(self, lupa, lua):
        assert lua.eval("rawequal(require('python'), python)") is True

    def test_luajit_ffi_is_available_through_require(self, lupa, lua):
        if not _is_luajit(lupa):
            pytest.skip("ffi exists only in LuaJIT")
        assert lua.eval("type(require('ffi').new)") == "function"
        assert lua.eval("package.loaded['jit.opt'] ~= nil") is True

    def test_math_type_exists_on_53_and_later(self, lupa, lua):
        has_math_type = lua.eval("math.type ~= nil")
        assert has_math_type is (lua.lua_version >= (5, 3))
