"""The ``python`` table in Lua (spec section 5).

Every member: ``none``, ``eval``, ``builtins``, ``as_attrgetter``, ``as_itemgetter``,
``as_function``, ``iter``, ``iterex``, ``enumerate``, ``args``, ``set_overflow_handler``,
plus ``require("python")`` and the ``register_eval``/``register_builtins`` flags.
"""

import builtins
import re

import pytest
from helpers import bad_argument as bad_argument_wording

MODULE_GLOBAL = "module-global"

ALL_MEMBERS = (
    "args as_attrgetter as_function as_itemgetter builtins enumerate eval iter iterex "
    "none set_overflow_handler"
)

LIST_MEMBERS = """
    local r = {}
    for k in pairs(python) do r[#r + 1] = k end
    table.sort(r)
    return table.concat(r, ' ')
"""


def is_53_plus(lua):
    return lua.lua_version >= (5, 3)


def first_line(exc_info):
    return str(exc_info.value).split("\n")[0]


def record_args(*args, **kwargs):
    return (args, sorted(kwargs.items()))


def bad_argument(n, func, reason):
    """Regex for the `luaL_argerror` message of a `python.*` function called as a statement."""
    # (Luau says "invalid argument".)
    return "(?:bad|invalid) " + re.escape(f"argument #{n} to '{func}' ({reason})")


# Collects the loop variables of `for a, b, c in <iterator> do` as strings ('NONE' for
# python.none, 'nil' for nil), one 'a|b|c' entry per step.
COLLECT_LOOP = """
    local r = {}
    local function s(v)
        if v == python.none then return 'NONE' end
        return tostring(v)
    end
    for a, b, c in %s do
        r[#r + 1] = s(a) .. '|' .. s(b) .. '|' .. s(c)
    end
    return table.concat(r, ' ')
"""


# ---------------------------------------------------------------------------------------------
# The table itself
# ---------------------------------------------------------------------------------------------


class TestPythonTable:
    def test_members(self, lua):
        assert lua.execute(LIST_MEMBERS) == ALL_MEMBERS

    def test_members_without_eval_and_builtins(self, lupa):
        lua = lupa.LuaRuntime(register_eval=False, register_builtins=False)
        assert lua.execute(LIST_MEMBERS) == (
            "args as_attrgetter as_function as_itemgetter enumerate iter iterex "
            "none set_overflow_handler"
        )

    def test_require_python_returns_the_table(self, lua):
        assert lua.eval("require('python') == python, package.loaded.python == python") == (
            True,
            True,
        )

    def test_runtime_require_returns_the_table(self, lua):
        # wrappers compare by identity in Python, so compare in Lua
        assert lua.eval("function(t) return rawequal(t, python) end")(lua.require("python"))

    def test_python_none_member(self, lua):
        assert lua.eval("type(python.none)") == "userdata"
        assert lua.eval("python.none") is None


# ---------------------------------------------------------------------------------------------
# python.eval and python.builtins
# ---------------------------------------------------------------------------------------------


class TestEvalAndBuiltins:
    def test_eval_evaluates_python_expression(self, lua):
        assert lua.eval('python.eval(" 2 ** 2 ")') == 4

    def test_eval_reads_locals_of_the_calling_python_frame(self, lua):
        secret_local = 42  # noqa: F841 (read by python.eval)
        assert lua.eval("python.eval('secret_local + 1')") == 43

    def test_eval_reads_globals_of_the_calling_python_frame(self, lua):
        assert lua.eval("python.eval('MODULE_GLOBAL')") == MODULE_GLOBAL

    def test_eval_uses_the_frame_that_calls_into_lua(self, lua):
        """Not the frame that created the Lua function."""

        def make():
            defining_local = 1  # noqa: F841
            return lua.eval("function() return python.eval('calling_local') end")

        func = make()

        def call():
            calling_local = 7  # noqa: F841
            return func()

        assert call() == 7
        with pytest.raises(NameError):
            lua.eval("function() return python.eval('defining_local') end")()

    def test_eval_errors_propagate(self, lua):
        with pytest.raises(SyntaxError):
            lua.eval("python.eval('1 +')")

    def test_builtins_is_the_builtins_module(self, lua):
        assert lua.eval("python.builtins") is builtins
        assert lua.eval("python.builtins.str(4)") == "4"

    def test_register_eval_false_removes_only_python_eval(self, lupa):
        lua = lupa.LuaRuntime(register_eval=False)
        assert lua.eval("python.eval") is None
        assert lua.eval("python.builtins.eval('1+1')") == 2

    def test_register_builtins_false(self, lupa):
        lua = lupa.LuaRuntime(register_builtins=False)
        assert lua.eval("python.builtins") is None
        assert lua.eval("python.eval('1+1')") == 2

    def test_register_flags_are_truth_tested(self, lupa):
        lua = lupa.LuaRuntime(register_eval=0, register_builtins=[])
        assert lua.eval("python.eval, python.builtins") == (None, None)
        lua = lupa.LuaRuntime(register_eval="yes", register_builtins=1)
        assert lua.eval("type(python.eval), type(python.builtins)") == ("userdata", "userdata")


# ---------------------------------------------------------------------------------------------
# python.as_attrgetter / python.as_itemgetter / python.as_function
# ---------------------------------------------------------------------------------------------


class TestProtocolFunctions:
    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter", "as_function"])
    @pytest.mark.parametrize("arg", ["", "1", "{}", "'x'", "print"])
    def test_non_python_argument(self, lupa, lua, func, arg):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"local r = python.{func}({arg})")
        assert re.search(bad_argument(1, func, "not a python object"), first_line(exc))

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter", "as_function"])
    def test_extra_argument(self, lupa, lua, func):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"local r = python.{func}(python.none, 1)")
        assert re.search(bad_argument(2, func, "invalid arguments"), first_line(exc))

    def test_as_attrgetter_uses_getattr(self, lua):
        d = {"get": 1}
        assert lua.eval("python.as_attrgetter(...).get", d) == d.get

    def test_as_itemgetter_uses_getitem(self, lua):
        class Both:
            attr = "attribute"

            def __getitem__(self, key):
                return "item:" + key

        assert lua.eval("python.as_itemgetter(...).attr", Both()) == "item:attr"
        assert lua.eval("(...).attr", Both()) == "item:attr"
        assert lua.eval("python.as_attrgetter(...).attr", Both()) == "attribute"

    def test_as_function_returns_a_lua_function(self, lua):
        assert lua.eval("type(python.as_function(python.builtins.len))") == "function"
        assert lua.eval("python.as_function(python.builtins.len)('abc')") == 3

    def test_as_function_converts_back_to_the_original_object(self, lupa, lua):
        result = lua.eval("python.as_function(python.builtins.len)")
        assert result is len
        assert lupa.lua_type(result) is None

        def func():
            pass

        assert lua.eval("python.as_function(...)", func) is func

    def test_as_function_as_table_sort_comparator(self, lua):
        result = lua.execute(
            "local cmp = ... local t = {3, 1, 2} "
            "table.sort(t, python.as_function(cmp)) return t[1], t[2], t[3]",
            lambda a, b: a > b,
        )
        assert result == (3, 2, 1)

    def test_table_sort_rejects_plain_python_callable(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local cmp = ... table.sort({3, 1, 2}, cmp)", lambda a, b: a > b)
        got = "POBJECT" if is_53_plus(lua) else "userdata"
        message = f"{bad_argument_wording(lupa)} #2 to 'sort' (function expected, got {got})"
        assert message in first_line(exc)

    def test_as_attrgetter_accepts_as_function_closure(self, lua):
        result = lua.eval("python.as_attrgetter(python.as_function(python.builtins.dict)).fromkeys")
        assert result == dict.fromkeys

    def test_as_function_accepts_as_function_closure(self, lua):
        assert lua.eval("python.as_function(python.as_function(python.builtins.dict))") is dict

    def test_as_function_splices_python_args(self, lua):
        result = lua.execute(
            "local f = ... return python.as_function(f)(1, python.args{2, k=3})", record_args
        )
        assert result == ((1, 2), [("k", 3)])

    def test_as_function_propagates_python_exceptions(self, lua):
        err = ValueError("x")

        def fail():
            raise err

        with pytest.raises(ValueError) as exc:
            lua.execute("local f = ... python.as_function(f)()", fail)
        assert exc.value is err


# ---------------------------------------------------------------------------------------------
# python.iter / python.iterex
# ---------------------------------------------------------------------------------------------


class TestIter:
    def test_returns_generic_for_triple(self, lua):
        result = lua.execute(
            "local l = ... local a, b, c = python.iter(l) "
            "return select('#', python.iter(l)), type(a), type(b), c",
            [1],
        )
        assert result == (3, "function", "userdata", None)

    def test_readme_copy_list(self, lua):
        lua_copy = lua.eval(
            """
            function(L)
                local t, i = {}, 1
                for item in python.iter(L) do
                    t[i] = item
                    i = i + 1
                end
                return t
            end
            """
        )
        table = lua_copy([1, 2, 3, 4])
        assert len(table) == 4
        assert list(table.values()) == [1, 2, 3, 4]

    def test_readme_none_items_become_python_none(self, lua):
        func = lua.eval(
            """
            function(items)
                local t = {}
                for value in python.iter(items) do
                    table.insert(t, value == python.none)
                end
                return t
            end
            """
        )
        assert list(func([1, None, 2]).values()) == [False, True, False]

    def test_tuple_items_are_not_unpacked(self, lua):
        result = lua.execute(COLLECT_LOOP % "python.iter(...)", [1, None, (2, None), (None, 3)])
        assert result == "1|nil|nil NONE|nil|nil (2, None)|nil|nil (None, 3)|nil|nil"

    def test_unpack_returned_tuples_makes_iter_unpack(self, lupa):
        lua = lupa.LuaRuntime(unpack_returned_tuples=True)
        result = lua.execute(COLLECT_LOOP % "python.iter(...)", [1, None, (2, None), (None, 3)])
        assert result == "1|nil|nil NONE|nil|nil 2|nil|nil NONE|3|nil"

    def test_iterates_dict_keys(self, lua):
        result = lua.execute(
            "local r = {} for k in python.iter(...) do r[#r + 1] = k end return r[1], r[2]",
            {"b": 1, "a": 2},
        )
        assert result == ("b", "a")

    def test_iterates_generator(self, lua):
        def gen():
            yield "x"
            yield "y"

        result = lua.execute(
            "local r = '' for v in python.iter(...) do r = r .. v end return r", gen()
        )
        assert result == "xy"

    def test_non_iterable_raises_python_typeerror(self, lua):
        with pytest.raises(TypeError, match="'builtin_function_or_method' object is not iterable"):
            lua.execute("local a = python.iter(python.builtins.len)")

    def test_non_iterable_error_is_catchable_in_lua(self, lua):
        ok, err = lua.execute("return pcall(python.iter, python.builtins.len)")
        assert ok is False
        assert isinstance(err, TypeError)

    def test_exception_in_next_propagates(self, lua):
        err = ValueError("gen-boom")

        def gen():
            yield 1
            raise err

        with pytest.raises(ValueError) as exc:
            lua.execute("for v in python.iter(...) do end", gen())
        assert exc.value is err

    @pytest.mark.parametrize("arg", ["", "5", "{}", "'abc'"])
    def test_non_python_argument(self, lupa, lua, arg):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"local a = python.iter({arg})")
        assert re.search(bad_argument(1, "iter", "not a python object"), first_line(exc))

    def test_extra_argument(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local a = python.iter(python.none, 2)")
        assert re.search(bad_argument(2, "iter", "invalid arguments"), first_line(exc))

    def test_exhausted_step_returns_one_nil(self, lua):
        """Called directly after the end, the step function returns one nil, as upstream."""
        count = lua.eval(
            "function(o) local f, s = python.iter(o) f(s) return select('#', f(s)) end"
        )
        assert count([1]) == 1


class TestIterex:
    def test_unpacks_tuple_items(self, lua):
        result = lua.execute(COLLECT_LOOP % "python.iterex(...)", [1, None, (2, None), (None, 3)])
        assert result == "1|nil|nil NONE|nil|nil 2|nil|nil NONE|3|nil"

    def test_readme_only_first_value_is_protected(self, lua):
        func = lua.eval(
            """
            function(items)
                for a, b, c, d in python.iterex(items) do
                    return {a == python.none, a == nil,
                            b == python.none, b == nil,
                            c == python.none, c == nil,
                            d == python.none, d == nil}
                end
            end
            """
        )
        expected = [True, False, False, True, False, True, False, True]
        assert list(func([(None, None, None, None)]).values()) == expected
        assert list(func([(None, None)]).values()) == expected

    def test_empty_tuple_item_ends_the_loop(self, lua):
        """An empty tuple gives no values, i.e. a nil first value."""
        result = lua.execute(COLLECT_LOOP % "python.iterex(...)", [(1, 2), (), (3, 4)])
        assert result == "1|2|nil"

    def test_readme_dict_items(self, lupa, lua):
        lua_copy = lua.eval(
            """
            function(d)
                local t = {}
                for key, value in python.iterex(d.items()) do
                    t[key] = value
                end
                return t
            end
            """
        )
        # README: `d.items` needs the attrgetter view
        table = lua_copy(lupa.as_attrgetter(dict(a=1, b=2, c=3)))
        assert sorted(table.items()) == [("a", 1), ("b", 2), ("c", 3)]

    def test_non_iterable_raises_python_typeerror(self, lua):
        with pytest.raises(TypeError, match="'builtin_function_or_method' object is not iterable"):
            lua.execute("local a = python.iterex(python.builtins.len)")

    def test_non_python_argument(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local a = python.iterex({})")
        assert re.search(bad_argument(1, "iterex", "not a python object"), first_line(exc))


# ---------------------------------------------------------------------------------------------
# python.enumerate
# ---------------------------------------------------------------------------------------------


class TestEnumerate:
    def test_readme_copy_list(self, lua):
        lua_copy = lua.eval(
            """
            function(L)
                local t = {}
                for index, item in python.enumerate(L) do
                    t[ index+1 ] = item
                end
                return t
            end
            """
        )
        table = lua_copy([1, 2, 3, 4])
        assert len(table) == 4
        assert table[1] == 1

    @pytest.mark.parametrize("control, index", [("", 1), (", 4", 5), (", '2'", 3)])
    def test_step_counts_on_from_the_control_value(self, lua, control, index):
        """The index is `control + 1`; a missing control value counts as 0 (as upstream)."""
        step = lua.eval(f"function(o) local f, s = python.enumerate(o) return f(s{control}) end")
        assert step(["x"]) == (index, "x")

    def test_none_and_tuple_items_are_passed_as_is(self, lua):
        """The index is never nil, so None items are not replaced by python.none."""
        result = lua.execute(COLLECT_LOOP % "python.enumerate(...)", [1, None, (2, None)])
        assert result == "0|1|nil 1|nil|nil 2|(2, None)|nil"

    def test_unpack_returned_tuples_unpacks_after_the_index(self, lupa):
        lua = lupa.LuaRuntime(unpack_returned_tuples=True)
        result = lua.execute(
            COLLECT_LOOP % "python.enumerate(...)", [1, None, (2, None), (None, 3)]
        )
        assert result == "0|1|nil 1|nil|nil 2|2|nil 3|nil|3"

    def test_index_is_a_lua_integer(self, lua):
        kind = lua.execute(
            "for i in python.enumerate(...) do return math.type and math.type(i) or type(i) end",
            ["x"],
        )
        assert kind == ("integer" if is_53_plus(lua) else "number")

    @pytest.mark.parametrize(
        "start, expected",
        [("5", "5|10 6|20"), ("-2", "-2|10 -1|20"), ("'3'", "3|10 4|20"), ("2.0", "2|10 3|20")],
    )
    def test_start(self, lua, start, expected):
        result = lua.execute(
            f"local r = {{}} for i, v in python.enumerate(..., {start}) do "
            "r[#r + 1] = i .. '|' .. v end return table.concat(r, ' ')",
            [10, 20],
        )
        assert result == expected

    def test_fractional_start_per_version(self, lupa, lua):
        """`lua_tointegerx` truncates on 5.1/5.2/LuaJIT and fails on 5.3+."""
        code = "local r = {} for i in python.enumerate(..., 2.5) do r[#r + 1] = i end return r[1]"
        if is_53_plus(lua):
            with pytest.raises(lupa.LuaError) as exc:
                lua.execute(code, [10])
            assert first_line(exc) == "Could not convert number to string"
        else:
            assert lua.execute(code, [10]) == 2

    @pytest.mark.parametrize(
        "start, type_name",
        [("{}", "table"), ("true", "boolean"), ("'x'", "string"), ("nil", "nil")],
    )
    def test_invalid_start(self, lupa, lua, start, type_name):
        """Upstream's (sic) message; an explicit nil is not the default."""
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"local a = python.enumerate(..., {start})", [10])
        assert first_line(exc) == f"Could not convert {type_name} to string"

    def test_third_argument(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local a = python.enumerate(..., 1, 2)", [10])
        assert re.search(bad_argument(3, "enumerate", "invalid arguments"), first_line(exc))

    @pytest.mark.parametrize("arg", ["", "5", "{}"])
    def test_non_python_argument(self, lupa, lua, arg):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"local a = python.enumerate({arg})")
        assert re.search(bad_argument(1, "enumerate", "not a python object"), first_line(exc))

    def test_non_iterable_raises_python_typeerror(self, lua):
        with pytest.raises(TypeError, match="'builtin_function_or_method' object is not iterable"):
            lua.execute("local a = python.enumerate(python.builtins.len)")


# ---------------------------------------------------------------------------------------------
# python.args
# ---------------------------------------------------------------------------------------------


class TestArgs:
    def test_positional_and_keyword_arguments(self, lua):
        result = lua.execute("local f = ... return f(python.args{1, 2, a=3})", record_args)
        assert result == ((1, 2), [("a", 3)])

    def test_several_args_objects_are_merged(self, lua):
        result = lua.execute(
            "local f = ... return f(python.args{1, a=1}, python.args{2}, python.args{b=2})",
            record_args,
        )
        assert result == ((1, 2), [("a", 1), ("b", 2)])

    def test_args_are_spliced_between_plain_arguments(self, lua):
        result = lua.execute(
            "local f = ... return f(0, python.args{1, a=1}, 9, python.args{2}, python.args{b=2})",
            record_args,
        )
        assert result == ((0, 1, 9, 2), [("a", 1), ("b", 2)])

    def test_empty_table_gives_no_arguments(self, lua):
        assert lua.execute("local f = ... return f(python.args{})", record_args) == ((), [])

    def test_python_none_value_and_nil_value(self, lua):
        result = lua.execute(
            "local f = ... return f(python.args{x=python.none, y=nil})", record_args
        )
        assert result == ((), [("x", None)])

    def test_integral_float_key_is_an_index(self, lua):
        result = lua.execute("local f = ... return f(python.args{1, [2.0]=2})", record_args)
        assert result == ((1, 2), [])

    def test_keyword_arguments_reach_real_parameters(self, lua):
        def func(a, b=0, *, c):
            return (a, b, c)

        assert lua.execute("local f = ... return f(python.args{1, c=3})", func) == (1, 0, 3)

    def test_duplicate_keyword_raises_typeerror(self, lua):
        with pytest.raises(
            TypeError, match="^function\\(\\) got multiple values for keyword argument 'a'$"
        ):
            lua.execute("local f = ... return f(python.args{a=1}, python.args{a=2})", record_args)

    @pytest.mark.parametrize("key", ["[3]", "[0]", "[-1]"])
    def test_index_out_of_range(self, lua, key):
        with pytest.raises(IndexError, match="^table index out of range$"):
            lua.execute("local f = ... return f(python.args{" + key + "=1})", record_args)

    @pytest.mark.parametrize("key", ["[1.5]", "[true]", "[{}]"])
    def test_invalid_key_type(self, lua, key):
        with pytest.raises(TypeError, match="^table key is neither an integer nor a string$"):
            lua.execute("local f = ... return f(python.args{" + key + "=1})", record_args)

    def test_errors_are_raised_by_python_args_itself(self, lua):
        ok, err = lua.execute("return pcall(python.args, {[0]=1})")
        assert ok is False
        assert isinstance(err, IndexError)
        assert str(err) == "table index out of range"

    def test_no_argument(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local a = python.args()")
        assert re.search(bad_argument(1, "args", "table expected, got no value"), first_line(exc))

    def test_non_table_argument(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local a = python.args(1)")
        assert re.search(bad_argument(1, "args", "table expected, got number"), first_line(exc))

    def test_is_one_opaque_userdata_for_lua(self, lua):
        result = lua.execute(
            "local a = python.args{1, 2, 3} "
            "local function count(...) return select('#', ...) end "
            "return type(a), count(a)"
        )
        assert result == ("userdata", 1)

    def test_arrives_in_python_as_pyarguments_object(self, lua):
        result = lua.eval("python.args{1, a=2}")
        assert type(result).__name__ == "_PyArguments"
        assert not [name for name in dir(result) if not name.startswith("_")]

    def test_string_keys_are_decoded_with_encoding_none(self, lupa):
        lua = lupa.LuaRuntime(encoding=None)
        result = lua.execute("local f = ... return f(python.args{1, a='x'})", record_args)
        assert result == ((1,), [("a", b"x")])

    def test_nested_table_is_a_positional_argument(self, lua):
        seen = []
        lua.execute("local f = ... f(python.args{{1, 2}})", lambda *args: seen.append(args))
        ((table,),) = seen
        assert list(table.values()) == [1, 2]

    @pytest.mark.improvement
    @pytest.mark.parametrize(
        "constructor, full",
        [("{5, nil, 6}", (5, None, 6)), ("{[1]=1, [2]=2, [4]=4}", (1, 2, None, 4))],
    )
    def test_table_with_holes_does_not_crash(self, lua, constructor, full):
        """A2: upstream segfaults when `#t` covers a hole; holes must become None."""
        length, ok, result = lua.execute(
            f"local f = ... local t = {constructor} "
            "return #t, pcall(function() return f(python.args(t)) end)",
            lambda *args: args,
        )
        if length == len(full):
            assert ok is True
            assert result == full
        else:
            assert length < len(full)
            assert ok is False
            assert isinstance(result, IndexError)
            assert str(result) == "table index out of range"

    def test_table_with_holes_length(self, lua):
        """Guard for the A2 test above: `#{5, nil, 6}` is 3 or 1 depending on the version."""
        assert lua.eval("#{5, nil, 6}") in (1, 3)

    @pytest.mark.improvement
    @pytest.mark.parametrize(
        "keys",
        [
            # Filled from the top, these give `#t == 2^e` on Lua 5.3 and 5.4 (and a small
            # border elsewhere): 41 entries for 2^40, beyond any size for 2^62, and 21
            # entries that would make a million-element tuple.
            "for e = 40, 0, -1 do t[2^e] = e end",
            "for e = 62, 0, -1 do t[2^e] = e end",
            "for e = 20, 0, -1 do t[2^e] = e end",
        ],
    )
    def test_sparse_table_is_refused_not_allocated(self, lua, keys):
        """`#t` is a border the script chooses: the argument vector is sized from the entries
        actually present, and an absurdly sparse table is refused with a clear error."""
        length, ok, error = lua.execute(
            f"local f = ... local t = {{}} {keys} "
            "return #t, pcall(function() return f(python.args(t)) end)",
            record_args,
        )
        assert ok is False
        if length > 100:
            assert isinstance(error, ValueError)
            assert "too many holes" in str(error)
        else:  # a short border leaves the higher keys outside `1..#t`, as upstream
            assert isinstance(error, IndexError)

    @pytest.mark.improvement
    def test_a_few_holes_are_none(self, lua):
        result = lua.execute(
            "local f = ... local t = {} for i = 1, 40 do t[i] = i end "
            "t[10] = nil t[20] = nil return f(python.args(t))",
            record_args,
        )
        positional, _ = result
        assert len(positional) in (9, 19, 40)  # `#t` may be any border
        assert positional == tuple(
            None if i in (10, 20) else i for i in range(1, len(positional) + 1)
        )

    @pytest.mark.improvement
    def test_extra_argument_does_not_crash(self, lupa, lua):
        """Upstream segfaults on `python.args({...}, 2)`."""
        try:
            result = lua.execute("local f = ... return f(python.args({1}, 2))", record_args)
        except lupa.LuaError as exc:
            assert re.search("(?:bad|invalid) argument #2 to 'args'", str(exc))
        else:
            assert result == ((1,), [])


# ---------------------------------------------------------------------------------------------
# python.set_overflow_handler
# ---------------------------------------------------------------------------------------------


BIG = 2**64


def big():
    return BIG


class TestSetOverflowHandler:
    def test_without_handler_overflow_raises(self, lua):
        with pytest.raises(OverflowError, match="^Python int too large to convert to C long$"):
            lua.execute("local f = ... return f()", big)

    def test_python_callable_handler(self, lua):
        result = lua.execute(
            "python.set_overflow_handler(python.builtins.float) "
            "local f = ... local v = f() return v, math.type and math.type(v)",
            big,
        )
        assert result == (float(BIG), "float" if is_53_plus(lua) else None)

    def test_lua_function_handler_returning_the_object(self, lua):
        result = lua.execute(
            "python.set_overflow_handler(function(o) return o end) "
            "local f = ... local v = f() return type(v), v",
            big,
        )
        assert result == ("userdata", BIG)

    def test_lua_c_function_handler(self, lua):
        result = lua.execute(
            "python.set_overflow_handler(python.as_function(python.builtins.str)) "
            "local f = ... return (f())",
            big,
        )
        assert result == str(BIG)

    def test_nil_removes_the_handler(self, lua):
        lua.execute("python.set_overflow_handler(python.builtins.float)")
        assert lua.execute("python.set_overflow_handler(nil)") is None
        with pytest.raises(OverflowError):
            lua.execute("local f = ... return f()", big)

    def test_non_callable_python_object_is_accepted_and_fails_later(self, lua):
        assert lua.execute("python.set_overflow_handler(python.none)") is None
        with pytest.raises(OverflowError, match="^Python int too large to convert to C long$"):
            lua.execute("local f = ... return (f())", big)

    def test_replaces_handler_set_from_python(self, lua):
        lua.set_overflow_handler(lambda value: "py")
        assert lua.execute("local f = ... return (f())", big) == "py"
        lua.execute("python.set_overflow_handler(function(o) return 'lua' end)")
        assert lua.execute("local f = ... return (f())", big) == "lua"
        lua.set_overflow_handler(lambda value: "py again")
        assert lua.execute("local f = ... return (f())", big) == "py again"

    def test_replaces_constructor_handler(self, lupa):
        lua = lupa.LuaRuntime(overflow_handler=lambda value: "ctor")
        assert lua.execute("local f = ... return (f())", big) == "ctor"
        lua.execute("python.set_overflow_handler(nil)")
        with pytest.raises(OverflowError):
            lua.execute("local f = ... return (f())", big)

    @pytest.mark.parametrize(
        "arg", ["", "1", "{}", "'x'", "true", "io.stdout", "coroutine.create(function() end)"]
    )
    def test_invalid_handler(self, lupa, lua, arg):
        """Upstream reports every non-Python value as 'not a python object'."""
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"python.set_overflow_handler({arg})")
        assert re.search(
            bad_argument(1, "set_overflow_handler", "not a python object"), first_line(exc)
        )

    def test_returns_nothing(self, lua):
        assert (
            lua.execute("return select('#', python.set_overflow_handler(python.builtins.float))")
            == 0
        )
