"""Python callables called from Lua.

* the ``unpacks_lua_table`` / ``unpacks_lua_table_method`` decorators (spec 1.5, README
  "named parameters");
* Python exceptions raised inside callbacks (spec 7.2).
"""

import functools
import operator
import traceback

import pytest


def record_args(*args, **kwargs):
    return (args, sorted(kwargs.items()))


def frame_names(exc):
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


# ---------------------------------------------------------------------------------------------
# unpacks_lua_table
# ---------------------------------------------------------------------------------------------


class TestUnpacksLuaTable:
    def test_readme_keyword_arguments(self, lupa, lua):
        @lupa.unpacks_lua_table
        def add(a, b):
            return a + b

        lua_func = lua.eval("function(a, b, py_func) return py_func{a=a, b=b} end")
        assert lua_func(5, 6, add) == 11
        lua_func = lua.eval("function(a, b, py_func) return py_func{a, b=b} end")
        assert lua_func(5, 6, add) == 11

    def test_readme_wrapping_a_foreign_callable(self, lupa, lua):
        wrapped_py_add = lupa.unpacks_lua_table(operator.add)
        lua_func = lua.eval("function(a, b, py_func) return py_func{a, b} end")
        assert lua_func(5, 6, wrapped_py_add) == 11

    def test_plain_call_syntax_still_works(self, lupa, lua):
        add = lupa.unpacks_lua_table(lambda a, b: a + b)
        assert lua.eval("function(a, b, py_func) return py_func(a, b) end")(5, 6, add) == 11

    def test_wrapper_keeps_function_metadata(self, lupa):
        def documented(a):
            """Docstring."""
            return a

        wrapper = lupa.unpacks_lua_table(documented)
        assert wrapper.__name__ == "documented"
        assert wrapper.__doc__ == "Docstring."
        assert wrapper.__wrapped__ is documented

    def test_wrapper_copies_all_wraps_attributes(self, lupa):
        """`functools.wraps` is used: `functools.update_wrapper` attributes are copied."""

        def original(a, b=1):
            return a + b

        original.custom = "attr"
        wrapper = lupa.unpacks_lua_table(original)
        for name in functools.WRAPPER_ASSIGNMENTS:
            if hasattr(original, name):
                assert getattr(wrapper, name) == getattr(original, name)
        assert wrapper.custom == "attr"
        assert wrapper(1, 2) == 3

    def test_positional_and_keyword_entries(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f{1, 2, a=3}", func) == ((1, 2), [("a", 3)])
        assert lua.execute("local f = ... return f({1, 2, a=3})", func) == ((1, 2), [("a", 3)])

    def test_empty_table_and_no_arguments(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f{}", func) == ((), [])
        assert lua.execute("local f = ... return f()", func) == ((), [])

    def test_single_non_table_argument_passes_through(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f(5)", func) == ((5,), [])

    def test_table_with_other_arguments_is_not_unpacked(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        args, kwargs = lua.execute("local f = ... return f({1}, 2)", func)
        assert kwargs == []
        assert lupa.lua_type(args[0]) == "table"
        assert list(args[0].values()) == [1]
        assert args[1] == 2

    def test_python_none_value_and_nil_value(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f{x=python.none, y=nil}", func) == (
            (),
            [("x", None)],
        )
        assert lua.execute("local f = ... return f{python.none}", func) == ((None,), [])

    def test_integral_float_key_is_an_index(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f{[2.0]=1, 5}", func) == ((5, 1), [])

    @pytest.mark.parametrize("key", ["[3]", "[0]", "[-1]"])
    def test_index_out_of_range(self, lupa, lua, key):
        func = lupa.unpacks_lua_table(record_args)
        with pytest.raises(IndexError, match="^table index out of range$"):
            lua.execute("local f = ... return f{" + key + "=1}", func)

    @pytest.mark.parametrize("key", ["[1.5]", "[true]", "[{}]"])
    def test_invalid_key_type(self, lupa, lua, key):
        func = lupa.unpacks_lua_table(record_args)
        with pytest.raises(TypeError, match="^table key is neither an integer nor a string$"):
            lua.execute("local f = ... return f{" + key + "=1}", func)

    def test_unknown_keyword_reaches_the_function(self, lupa, lua):
        func = lupa.unpacks_lua_table(lambda a, b: a + b)
        with pytest.raises(TypeError, match="got an unexpected keyword argument 'c'"):
            lua.execute("local f = ... return f{a=5, c=6}", func)

    def test_called_from_python_with_lua_table(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert func(lua.table(1, 2, a=3)) == ((1, 2), [("a", 3)])
        assert func(lua.eval("{}")) == ((), [])

    def test_called_from_python_with_other_arguments(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert func([1, 2]) == (([1, 2],), [])
        assert func(1, 2) == ((1, 2), [])
        table = lua.table(1)
        assert func(table, 3) == ((table, 3), [])

    def test_table_from_another_runtime_of_the_same_module(self, lupa, lua):
        other = lupa.LuaRuntime()
        func = lupa.unpacks_lua_table(record_args)
        assert func(other.table(1, a=2)) == ((1,), [("a", 2)])

    def test_string_keys_are_str_with_encoding_none(self, lupa):
        lua = lupa.LuaRuntime(encoding=None)
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f{1, a='x'}", func) == ((1,), [("a", b"x")])

    def test_keys_are_decoded_with_source_encoding(self, lupa):
        func = lupa.unpacks_lua_table(record_args)
        code = "local f = ... return f{[string.char(233)] = 1}"
        assert lupa.LuaRuntime(encoding="latin-1").execute(code, func) == ((), [("\xe9", 1)])
        lua = lupa.LuaRuntime(encoding=None, source_encoding="latin-1")
        assert lua.execute(code, func) == ((), [("\xe9", 1)])

    def test_python_args_still_work(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f(python.args{1, 2})", func) == ((1, 2), [])

    def test_single_table_from_python_args_is_unpacked(self, lupa, lua):
        func = lupa.unpacks_lua_table(record_args)
        assert lua.execute("local f = ... return f(python.args{{1, a=2}})", func) == (
            (1,),
            [("a", 2)],
        )

    def test_tuple_result_with_unpack_returned_tuples(self, lupa):
        lua = lupa.LuaRuntime(unpack_returned_tuples=True)
        func = lupa.unpacks_lua_table(lambda *args: args)
        assert lua.execute("local f = ... return select('#', f{1, 2}), f{1, 2}", func) == (
            2,
            1,
            2,
        )

    @pytest.mark.improvement
    def test_table_with_holes_does_not_crash(self, lupa, lua):
        """A2: upstream segfaults when `#t` covers a hole; holes must become None."""
        func = lupa.unpacks_lua_table(lambda *args: args)
        length, ok, result = lua.execute(
            "local f = ... local t = {5, nil, 6} return #t, pcall(f, t)", func
        )
        assert length in (1, 3)
        if length == 3:
            assert (ok, result) == (True, (5, None, 6))
        else:
            assert ok is False
            assert isinstance(result, IndexError)
            assert str(result) == "table index out of range"


class TestUnpacksLuaTableMethod:
    @pytest.fixture
    def obj(self, lupa):
        class Obj:
            @lupa.unpacks_lua_table_method
            def meth(self, *args, **kwargs):
                return (self, args, sorted(kwargs.items()))

        return Obj()

    def test_colon_call_with_table(self, lua, obj):
        assert lua.execute("local o = ... return o:meth{1, b=2}", obj) == (obj, (1,), [("b", 2)])

    def test_dot_call_with_table(self, lua, obj):
        assert lua.execute("local o = ... return o.meth{1, b=2}", obj) == (obj, (1,), [("b", 2)])

    def test_colon_call_with_plain_arguments(self, lua, obj):
        assert lua.execute("local o = ... return o:meth(1, 2)", obj) == (obj, (1, 2), [])

    def test_called_from_python(self, lua, obj):
        table = lua.table(1, b=2)
        assert obj.meth(table) == (obj, (1,), [("b", 2)])
        assert type(obj).meth(obj, table) == (obj, (1,), [("b", 2)])

    def test_keeps_method_metadata(self, lupa):
        def meth(self, a):
            """Method doc."""

        wrapper = lupa.unpacks_lua_table_method(meth)
        assert wrapper.__name__ == "meth"
        assert wrapper.__doc__ == "Method doc."

    def test_readme_style_keyword_method(self, lupa, lua):
        class Calc:
            @lupa.unpacks_lua_table_method
            def add(self, a, b=0):
                return a + b

        assert lua.execute("local c = ... return c:add{a=1, b=2}, c:add{5}", Calc()) == (3, 5)

    def test_errors_for_bad_keys(self, lua, obj):
        with pytest.raises(IndexError, match="^table index out of range$"):
            lua.execute("local o = ... return o:meth{[2]=1}", obj)
        with pytest.raises(TypeError, match="^table key is neither an integer nor a string$"):
            lua.execute("local o = ... return o:meth{[false]=1}", obj)


# ---------------------------------------------------------------------------------------------
# Python exceptions raised inside callbacks
# ---------------------------------------------------------------------------------------------


class CallbackError(Exception):
    pass


def make_raiser(exc):
    def raiser(*args):
        raise exc

    return raiser


class TestExceptionPropagation:
    def test_same_exception_object_reaches_python(self, lua):
        err = CallbackError("boom")
        with pytest.raises(CallbackError) as exc:
            lua.eval("(...)()", make_raiser(err))
        assert exc.value is err

    def test_same_exception_object_through_execute_and_function_call(self, lua):
        err = CallbackError("boom")
        with pytest.raises(CallbackError) as exc:
            lua.execute("local f = ... local x = f() return x", make_raiser(err))
        assert exc.value is err
        err2 = CallbackError("again")
        with pytest.raises(CallbackError) as exc:
            lua.eval("function(f) f() end")(make_raiser(err2))
        assert exc.value is err2

    def test_traceback_contains_the_callback_frame(self, lua):
        err = CallbackError("boom")
        with pytest.raises(CallbackError) as exc:
            lua.eval("(...)()", make_raiser(err))
        assert frame_names(exc.value)[-1] == "raiser"

    def test_nested_python_lua_python_calls(self, lua):
        err = CallbackError("inner")
        inner = lua.eval("function(f) f() end")

        def middle():
            inner(make_raiser(err))

        with pytest.raises(CallbackError) as exc:
            lua.execute("local g = ... g()", middle)
        assert exc.value is err
        names = frame_names(exc.value)
        assert names.index("middle") < names.index("raiser")
        assert names[-1] == "raiser"

    def test_lua_error_inside_callback_propagates_as_same_object(self, lupa, lua):
        raised = []

        def callback():
            try:
                lua.execute("error('inner')")
            except lupa.LuaError as exc:
                raised.append(exc)
                raise

        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local f = ... f()", callback)
        assert exc.value is raised[0]
        assert str(exc.value).startswith('[string "<python>"]:1: inner\n')

    @pytest.mark.parametrize(
        "exc_type, args",
        [(KeyboardInterrupt, ()), (SystemExit, (7,)), (GeneratorExit, ())],
    )
    def test_base_exceptions_propagate(self, lua, exc_type, args):
        err = exc_type(*args)
        with pytest.raises(exc_type) as exc:
            lua.execute("local f = ... f()", make_raiser(err))
        assert exc.value is err

    def test_system_exit_code_is_kept(self, lua):
        with pytest.raises(SystemExit) as exc:
            lua.execute("local f = ... f()", make_raiser(SystemExit(3)))
        assert exc.value.code == 3

    def test_exception_in_attribute_read(self, lua):
        err = CallbackError("prop")

        class Obj:
            @property
            def prop(self):
                raise err

        with pytest.raises(CallbackError) as exc:
            lua.eval("(...).prop", Obj())
        assert exc.value is err

    def test_exception_in_attribute_write(self, lua):
        err = CallbackError("set")

        class Obj:
            def __setattr__(self, name, value):
                raise err

        with pytest.raises(CallbackError) as exc:
            lua.execute("local o = ... o.x = 1", Obj())
        assert exc.value is err

    def test_exception_in_item_access(self, lua):
        err = CallbackError("item")

        class Obj:
            def __getitem__(self, key):
                raise err

        with pytest.raises(CallbackError) as exc:
            lua.eval("(...)[1]", Obj())
        assert exc.value is err

    def test_exception_in_iterator(self, lua):
        err = CallbackError("next")

        def gen():
            yield 1
            raise err

        with pytest.raises(CallbackError) as exc:
            lua.execute("for x in python.iter(...) do end", gen())
        assert exc.value is err

    def test_exception_when_creating_iterator(self, lua):
        err = CallbackError("iter")

        class Obj:
            def __iter__(self):
                raise err

        for helper in ("iter", "iterex", "enumerate"):
            with pytest.raises(CallbackError) as exc:
                lua.execute(f"for x in python.{helper}(...) do end", Obj())
            assert exc.value is err

    def test_exception_in_attribute_getter_handler(self, lupa):
        err = CallbackError("getter")
        lua = lupa.LuaRuntime(attribute_handlers=(make_raiser(err), None))
        with pytest.raises(CallbackError) as exc:
            lua.eval("(...).x", object())
        assert exc.value is err


class TestExceptionsCaughtInLua:
    def test_pcall_gets_the_exception_object(self, lua):
        err = CallbackError("boom")
        result = lua.execute(
            "local f = ... local ok, e = pcall(f) return ok, type(e), tostring(e)",
            make_raiser(err),
        )
        assert result == (False, "userdata", "boom")

    def test_pcall_result_in_python_is_the_same_instance(self, lua):
        err = CallbackError("boom")
        ok, caught = lua.eval("pcall(...)", make_raiser(err))
        assert ok is False
        assert caught is err

    def test_tostring_matches_str_of_exception(self, lua):
        err = KeyError("key")
        assert lua.execute(
            "local f = ... local ok, e = pcall(f) return tostring(e)", make_raiser(err)
        ) == str(err)

    @pytest.mark.improvement
    @pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
    def test_keyboard_interrupt_and_system_exit_cannot_be_caught_by_pcall(self, lua, exc_type):
        # Upstream lets pcall catch them; here they end the call from Python (see
        # test_limits.py), like Ctrl-C ends Python code.
        err = exc_type()
        with pytest.raises(exc_type) as exc:
            lua.eval("pcall(...)", make_raiser(err))
        assert exc.value is err

    def test_other_base_exceptions_can_be_caught_by_pcall(self, lua):
        err = GeneratorExit()
        ok, caught = lua.eval("pcall(...)", make_raiser(err))
        assert ok is False
        assert caught is err

    def test_call_returns_normally_after_pcall(self, lua):
        result = lua.execute(
            "local f = ... local ok = pcall(f) return ok, 'continued'",
            make_raiser(CallbackError("x")),
        )
        assert result == (False, "continued")
        assert lua.eval("1 + 1") == 2

    def test_lua_error_after_intercepted_exception_is_a_normal_lua_error(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local f = ... pcall(f) error('plain')", make_raiser(CallbackError("x")))
        assert type(exc.value) is lupa.LuaError
        assert str(exc.value).startswith('[string "<python>"]:1: plain\nstack traceback:\n')

    def test_non_string_error_after_intercepted_exception(self, lupa, lua):
        lua.execute("local f = ... pcall(f)", make_raiser(CallbackError("x")))
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("error({})")
        assert type(exc.value) is lupa.LuaError
        assert str(exc.value) == ""

    def test_rethrowing_the_caught_exception(self, lua):
        err = CallbackError("boom")
        with pytest.raises(CallbackError) as exc:
            lua.execute("local f = ... local ok, e = pcall(f) error(e)", make_raiser(err))
        assert exc.value is err

    @pytest.mark.improvement
    def test_rethrow_raises_the_object_actually_thrown(self, lua):
        """A6: upstream re-raises the most recently stored exception (E2), not E1."""
        e1, e2 = ValueError("E1"), TypeError("E2")
        with pytest.raises(ValueError) as exc:
            lua.execute(
                "local f1, f2 = ... local ok1, x1 = pcall(f1) local ok2, x2 = pcall(f2) error(x1)",
                make_raiser(e1),
                make_raiser(e2),
            )
        assert exc.value is e1

    @pytest.mark.improvement
    def test_rethrow_of_exception_caught_in_an_earlier_call(self, lua):
        """A6 across calls: the stored exception of a later pcall must not win."""
        e1, e2 = ValueError("E1"), TypeError("E2")
        lua.execute("local f = ... local ok; ok, saved = pcall(f)", make_raiser(e1))
        lua.execute("local f = ... pcall(f)", make_raiser(e2))
        with pytest.raises(ValueError) as exc:
            lua.execute("error(saved)")
        assert exc.value is e1
