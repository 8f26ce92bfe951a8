"""Python objects seen from Lua (spec section 4).

Covers the userdata wrapper, the item/attribute protocol heuristic, the identity cache, the
shared ``POBJECT`` metatable, ``__call`` (including bound-method self removal),
``__index``/``__newindex`` with ``attribute_handlers`` and ``attribute_filter``,
``__tostring``, ``as_attrgetter``/``as_itemgetter``, and ``python.none``.
"""

import builtins
import re
import types

import pytest


class Plain:
    """An object without ``__getitem__``: Lua indexing uses the attribute protocol."""

    a = 1

    def meth(self, *args):
        return ("meth", self, *args)

    def one_arg(self, value):
        return ("one_arg", value)

    @classmethod
    def cmeth(cls, *args):
        return ("cmeth", cls, *args)

    @staticmethod
    def smeth(*args):
        return ("smeth", *args)


class AlwaysEqual:
    """Equal to everything in Python; Lua must still see distinct objects as different."""

    def __eq__(self, other):
        return True

    def __hash__(self):
        return 0


class Strish:
    def __init__(self, text):
        self.text = text

    def __str__(self):
        return self.text


def is_53_plus(lua):
    return lua.lua_version >= (5, 3)


def first_line(exc_info):
    return str(exc_info.value).split("\n")[0]


# ---------------------------------------------------------------------------------------------
# The userdata wrapper
# ---------------------------------------------------------------------------------------------


class TestUserdataWrapping:
    @pytest.mark.parametrize(
        "obj",
        [
            [],
            {},
            (),
            (1, 2),
            bytearray(b"x"),
            1 + 2j,
            len,
            Plain,
            Plain(),
            builtins,
            ValueError("x"),
        ],
        ids=lambda o: type(o).__name__,
    )
    def test_unconverted_python_objects_are_userdata(self, lua, obj):
        assert lua.eval("type(...)", obj) == "userdata"

    @pytest.mark.parametrize("obj", [[1], {"a": 1}, (1,), len, Plain, Plain(), builtins], ids=repr)
    def test_userdata_comes_back_as_the_original_object(self, lua, obj):
        assert lua.eval("...", obj) is obj

    def test_returned_python_object_is_not_a_lua_wrapper(self, lupa, lua):
        obj = Plain()
        result = lua.eval("...", obj)
        assert lupa.lua_type(result) is None

    def test_python_object_stored_in_lua_table_comes_back_unwrapped(self, lua):
        obj = Plain()
        table = lua.eval("{...}", obj)
        assert table[1] is obj


# ---------------------------------------------------------------------------------------------
# Item protocol vs attribute protocol
# ---------------------------------------------------------------------------------------------


class TestProtocolHeuristic:
    def test_dict_uses_item_protocol_for_dot_access(self, lua):
        """`d.get` looks up the key 'get', not the dict method."""
        d = {"get": "value", "k": 1}
        assert lua.eval("(...).get", d) == "value"
        assert lua.eval("(...)['k']", d) == 1

    def test_list_uses_python_zero_based_indexing(self, lua):
        assert lua.eval("(...)[0]", [10, 20]) == 10
        assert lua.eval("(...)[1]", [10, 20]) == 20

    def test_tuple_uses_item_protocol(self, lua):
        assert lua.eval("(...)[1]", ("a", "b")) == "b"

    def test_object_without_getitem_uses_attribute_protocol(self, lua):
        assert lua.eval("(...).a", Plain()) == 1
        assert lua.eval("(...)['a']", Plain()) == 1

    def test_missing_dict_key_raises_keyerror_instead_of_nil(self, lua):
        with pytest.raises(KeyError) as exc:
            lua.eval("(...).nope", {})
        assert exc.value.args == ("nope",)

    def test_list_index_out_of_range_raises_indexerror(self, lua):
        with pytest.raises(IndexError, match="^list index out of range$"):
            lua.eval("(...)[5]", [])

    def test_list_with_string_key_raises_typeerror(self, lua):
        with pytest.raises(TypeError, match="^list indices must be integers or slices, not str$"):
            lua.eval("(...).append", [])

    def test_missing_attribute_raises_attributeerror(self, lua):
        with pytest.raises(AttributeError, match="'Plain' object has no attribute 'nope'"):
            lua.eval("(...).nope", Plain())

    def test_non_string_attribute_name_raises_typeerror(self, lua):
        with pytest.raises(TypeError, match=re.escape("attribute name must be string, not 'int'")):
            lua.eval("(...)[1]", Plain())

    def test_non_string_attribute_name_on_assignment_raises_typeerror(self, lua):
        with pytest.raises(TypeError, match=re.escape("attribute name must be string, not 'int'")):
            lua.execute("local o = ... o[1] = 2", Plain())

    def test_item_assignment_on_dict_and_list(self, lua):
        d, lst = {"k": 1}, [0, 0]
        lua.execute("local d, l = ... d.k = 2; d.new = 3; l[1] = 5", d, lst)
        assert d == {"k": 2, "new": 3}
        assert lst == [0, 5]

    def test_attribute_assignment_on_plain_object(self, lua):
        obj = Plain()
        lua.execute("local o = ... o.a = 42; o.b = 'x'", obj)
        assert obj.__dict__ == {"a": 42, "b": "x"}

    def test_class_gotcha_dict_attribute_is_generic_alias(self, lua):
        """Classes have `__getitem__`, so `dict.fromkeys` is `dict['fromkeys']`."""
        result = lua.eval("python.builtins.dict.fromkeys")
        assert isinstance(result, types.GenericAlias)
        assert result == types.GenericAlias(dict, ("fromkeys",))

    def test_class_gotcha_str_attribute_raises_typeerror(self, lua):
        with pytest.raises(TypeError, match=re.escape("'type' object is not subscriptable")):
            lua.eval("python.builtins.str.upper")

    def test_class_gotcha_workaround_with_as_attrgetter(self, lua):
        assert lua.eval("python.as_attrgetter(python.builtins.dict).fromkeys") == dict.fromkeys
        assert lua.eval("python.as_attrgetter(python.builtins.str).upper('ab')") == "AB"


# ---------------------------------------------------------------------------------------------
# Identity cache
# ---------------------------------------------------------------------------------------------


class TestIdentityCache:
    def test_same_object_in_one_call_is_equal_and_rawequal(self, lua):
        obj = Plain()
        assert lua.eval("select(1, ...) == select(2, ...), rawequal(...)", obj, obj) == (
            True,
            True,
        )

    def test_same_object_across_calls_is_rawequal(self, lua):
        obj = [1]
        lua.eval("function(o) stored = o end")(obj)
        assert lua.eval("function(o) return rawequal(stored, o) end")(obj) is True

    def test_same_object_finds_its_table_slot_again(self, lua):
        """A Python object can be used as a Lua table key across calls."""
        obj = Plain()
        lua.execute("counts = {}")
        inc = lua.eval("function(o) counts[o] = (counts[o] or 0) + 1 return counts[o] end")
        assert [inc(obj), inc(obj), inc(obj)] == [1, 2, 3]

    def test_same_object_survives_lua_gc_while_referenced(self, lua):
        obj = Plain()
        lua.eval("function(o) stored = o end")(obj)
        lua.execute("collectgarbage() collectgarbage()")
        assert lua.eval("function(o) return rawequal(stored, o) end")(obj) is True
        assert lua.eval("stored") is obj

    def test_table_key_comes_back_as_the_same_object(self, lua):
        obj = Plain()
        table = lua.eval("function(o) local t = {} t[o] = 1 return t end")(obj)
        assert list(table.keys())[0] is obj

    def test_equal_but_distinct_lists_are_not_equal_in_lua(self, lua):
        assert lua.eval("select(1, ...) == select(2, ...), rawequal(...)", [1], [1]) == (
            False,
            False,
        )

    def test_python_eq_is_not_used_by_lua(self, lua):
        """There is no `__eq` metamethod: Python `__eq__` is ignored."""
        assert lua.eval("select(1, ...) == select(2, ...)", AlwaysEqual(), AlwaysEqual()) is False

    def test_attrgetter_view_is_a_different_userdata(self, lupa, lua):
        lst = [1]
        assert lua.eval("select(1, ...) == select(2, ...)", lst, lupa.as_attrgetter(lst)) is False
        assert lua.eval("(...) == python.as_attrgetter(...)", lst) is False

    def test_itemgetter_view_of_indexable_object_is_the_same_userdata(self, lupa, lua):
        """Default wrapping of a list already uses the item protocol (same flags)."""
        lst = [1]
        assert lua.eval("select(1, ...) == select(2, ...)", lst, lupa.as_itemgetter(lst)) is True
        assert lua.eval("(...) == python.as_itemgetter(...)", lst) is True

    def test_attrgetter_view_of_plain_object_is_the_same_userdata(self, lupa, lua):
        obj = Plain()
        assert lua.eval("select(1, ...) == select(2, ...)", obj, lupa.as_attrgetter(obj)) is True
        assert lua.eval("(...) == python.as_attrgetter(...)", obj) is True

    def test_itemgetter_view_of_plain_object_is_a_different_userdata(self, lupa, lua):
        obj = Plain()
        assert lua.eval("select(1, ...) == select(2, ...)", obj, lupa.as_itemgetter(obj)) is False

    def test_two_attrgetter_views_are_the_same_userdata(self, lupa, lua):
        lst = [1]
        assert lua.eval("rawequal(...)", lupa.as_attrgetter(lst), lupa.as_attrgetter(lst)) is True
        assert lua.eval("rawequal(python.as_attrgetter(...), python.as_attrgetter(...))", lst)

    @pytest.mark.improvement
    def test_cache_never_hands_out_another_objects_userdata(self, lua):
        """Upstream (A3) pushes a long-lived object as some other object after GC churn."""

        class Obj:
            pass

        objs = [Obj() for _ in range(20)]
        ident = lua.eval("function(o) return o end")
        wrong = 0
        for _ in range(200):
            for obj in objs:
                if ident(obj) is not obj:
                    wrong += 1
            for _ in range(5):
                ident(Obj())
        assert wrong == 0


# ---------------------------------------------------------------------------------------------
# The shared POBJECT metatable
# ---------------------------------------------------------------------------------------------


class TestMetatable:
    def test_metatable_fields(self, lua):
        keys = lua.eval(
            """(function(mt)
                local r = {}
                for k in pairs(mt) do r[#r + 1] = k end
                table.sort(r)
                return table.concat(r, ',')
            end)(getmetatable(...))""",
            [1],
        )
        if is_53_plus(lua):
            assert keys == "__call,__gc,__index,__name,__newindex,__tostring"
        else:
            assert keys == "__call,__gc,__index,__newindex,__tostring"

    def test_metatable_name(self, lua):
        name = lua.eval("getmetatable(...).__name", Plain())
        assert name == ("POBJECT" if is_53_plus(lua) else None)

    def test_metatable_is_shared_by_all_python_objects(self, lua):
        assert (
            lua.eval("getmetatable(select(1, ...)) == getmetatable(select(2, ...))", [1], Plain())
            is True
        )
        assert lua.eval("getmetatable(...) == getmetatable(python.none)", len) is True

    def test_metatable_is_not_protected_and_can_be_extended(self, lua):
        """No `__metatable` field: Lua code gets (and may change) the real table."""
        assert lua.eval("type(getmetatable(...))", [1]) == "table"
        result = lua.execute(
            "local o = ... getmetatable(o).__len = function() return 42 end return #o", [1]
        )
        assert result == 42


# ---------------------------------------------------------------------------------------------
# Metamethods that are not defined
# ---------------------------------------------------------------------------------------------


class TestMissingMetamethods:
    def _expect(self, lua, template_53, template_51):
        return template_53 if is_53_plus(lua) else template_51

    def test_length_operator_fails(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local o = ... return #o", [1])
        assert first_line(exc) == self._expect(
            lua,
            "[string \"<python>\"]:1: attempt to get length of a POBJECT value (local 'o')",
            "[string \"<python>\"]:1: attempt to get length of local 'o' (a userdata value)",
        )

    def test_concatenation_fails(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local o = ... return o .. 'x'", [1])
        assert first_line(exc) == self._expect(
            lua,
            "[string \"<python>\"]:1: attempt to concatenate a POBJECT value (local 'o')",
            "[string \"<python>\"]:1: attempt to concatenate local 'o' (a userdata value)",
        )

    def test_arithmetic_fails(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local o = ... return o + 1", 5 + 0j)
        assert first_line(exc) == self._expect(
            lua,
            "[string \"<python>\"]:1: attempt to perform arithmetic on a POBJECT value (local 'o')",
            "[string \"<python>\"]:1: attempt to perform arithmetic on local 'o' "
            "(a userdata value)",
        )

    def test_ordering_comparison_fails(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local a, b = ... return a < b", [1], [2])
        assert first_line(exc) == self._expect(
            lua,
            '[string "<python>"]:1: attempt to compare two POBJECT values',
            '[string "<python>"]:1: attempt to compare two userdata values',
        )

    def test_comparison_with_number_fails(self, lupa, lua):
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local o = ... return o < 1", [1])
        assert first_line(exc) == self._expect(
            lua,
            '[string "<python>"]:1: attempt to compare POBJECT with number',
            '[string "<python>"]:1: attempt to compare userdata with number',
        )

    def test_pairs_fails(self, lupa, lua):
        """5.3+ `pairs` accepts any value and `next` fails on the first step."""
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute("local o = ... for k, v in pairs(o) do end", {"a": 1})
        assert first_line(exc) == self._expect(
            lua,
            "[string \"<python>\"]:1: bad argument #1 to 'for iterator' "
            "(table expected, got POBJECT)",
            "[string \"<python>\"]:1: bad argument #1 to 'pairs' (table expected, got userdata)",
        )

    def test_ipairs_per_version(self, lupa, lua):
        """5.3+ `ipairs` indexes through `__index` (1, 2, ...) until Python raises."""
        code = """
            local d = ...
            local r = {}
            local ok, err = pcall(function()
                for i, v in ipairs(d) do r[#r + 1] = v end
            end)
            return r[1], r[2], r[3], ok, err
        """
        result = lua.execute(code, {1: "a", 2: "b"})
        if is_53_plus(lua):
            assert result[:4] == ("a", "b", None, False)
            assert isinstance(result[4], KeyError)
            assert result[4].args == (3,)
        else:
            assert result[:4] == (None, None, None, False)
            assert result[4] == (
                "[string \"<python>\"]:5: bad argument #1 to 'ipairs' "
                "(table expected, got userdata)"
            )

    def test_ipairs_over_list_ends_with_indexerror(self, lupa, lua):
        code = "local l = ... for i, v in ipairs(l) do end"
        if is_53_plus(lua):
            with pytest.raises(IndexError, match="^list index out of range$"):
                lua.execute(code, [1, 2])
        else:
            with pytest.raises(lupa.LuaError, match=re.escape("(table expected, got userdata)")):
                lua.execute(code, [1, 2])


# ---------------------------------------------------------------------------------------------
# __call
# ---------------------------------------------------------------------------------------------


class TestCall:
    def test_call_converts_arguments_and_result(self, lua):
        seen = []

        def func(*args):
            seen.append(args)
            return "result"

        assert lua.eval("(...)(1, 'a', nil, true)", func) == "result"
        assert seen == [(1, "a", None, True)]

    def test_call_with_no_result_gives_nil(self, lua):
        assert lua.eval("(function(f) return select('#', f()), f() end)(...)", lambda: None) == (
            1,
            None,
        )

    def test_tuple_result_is_one_userdata_by_default(self, lua):
        result = lua.execute("local f = ... local a, b = f() return type(a), a, b", lambda: (1, 2))
        assert result == ("userdata", (1, 2), None)

    def test_tuple_result_is_unpacked_with_unpack_returned_tuples(self, lupa):
        lua = lupa.LuaRuntime(unpack_returned_tuples=True)
        result = lua.execute("local f = ... return select('#', f()), f()", lambda: (1, 2))
        assert result == (2, 1, 2)

    def test_non_callable_raises_typeerror(self, lua):
        with pytest.raises(TypeError, match=re.escape("'list' object is not callable")):
            lua.execute("local o = ... o()", [1])

    def test_python_none_is_not_callable(self, lua):
        with pytest.raises(TypeError, match=re.escape("'NoneType' object is not callable")):
            lua.execute("python.none()")

    def test_method_call_syntax_removes_duplicated_self(self, lua):
        obj = Plain()
        assert lua.execute("local o = ... return o:meth(1)", obj) == ("meth", obj, 1)

    def test_dot_call_of_bound_method(self, lua):
        obj = Plain()
        assert lua.execute("local o = ... return o.meth(1)", obj) == ("meth", obj, 1)

    def test_explicit_self_argument_is_dropped(self, lua):
        """Side effect: `obj.meth(obj, x)` behaves like `obj.meth(x)`."""
        obj = Plain()
        assert lua.execute("local o = ... return o.meth(o, 1)", obj) == ("meth", obj, 1)
        assert lua.execute("local o = ... return o.meth(o, o)", obj) == ("meth", obj, obj)

    def test_bound_method_called_with_its_own_self_loses_the_argument(self, lua):
        """Side effect: `bound(self)` calls the function with self only once."""
        obj = Plain()
        assert lua.eval("(function(f, o) return f(o) end)(...)", obj.meth, obj) == ("meth", obj)
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'value'"):
            lua.eval("(function(f, o) return f(o) end)(...)", obj.one_arg, obj)

    def test_bound_method_with_other_first_argument_is_unchanged(self, lua):
        obj = Plain()
        assert lua.eval("(function(f) return f(5) end)(...)", obj.one_arg) == ("one_arg", 5)

    def test_classmethod_on_class_removes_class_argument(self, lua):
        assert lua.execute("local C = ... return C:cmeth(1)", Plain) == ("cmeth", Plain, 1)

    def test_classmethod_on_instance_keeps_instance_argument(self, lua):
        """`__self__` is the class, not the instance Lua passes: nothing is removed."""
        obj = Plain()
        assert lua.execute("local o = ... return o:cmeth(1)", obj) == ("cmeth", Plain, obj, 1)

    def test_staticmethod_gets_the_object_from_colon_call(self, lua):
        obj = Plain()
        assert lua.execute("local o = ... return o:smeth(1)", obj) == ("smeth", obj, 1)

    def test_builtin_method_dot_call_works(self, lupa, lua):
        lst = [1]
        lua.execute("local l = ... l.append(2)", lupa.as_attrgetter(lst))
        assert lst == [1, 2]

    def test_builtin_method_colon_call_is_not_covered(self, lupa, lua):
        """Only Python methods lose the duplicated self; builtin methods get it twice."""
        lst = [1]
        with pytest.raises(TypeError, match=re.escape("takes exactly one argument (2 given)")):
            lua.execute("local l = ... l:append(2)", lupa.as_attrgetter(lst))
        assert lst == [1]

    def test_colon_call_on_plain_list_uses_item_protocol(self, lua):
        with pytest.raises(TypeError, match="^list indices must be integers or slices, not str$"):
            lua.execute("local l = ... l:append(2)", [1])

    def test_callable_object_instance(self, lua):
        class Callable:
            def __call__(self, x):
                return x * 2

        assert lua.eval("(...)(21)", Callable()) == 42

    def test_calling_a_class_creates_an_instance(self, lua):
        result = lua.eval("(...)()", Plain)
        assert type(result) is Plain


# ---------------------------------------------------------------------------------------------
# __index / __newindex with attribute_handlers
# ---------------------------------------------------------------------------------------------


def _recording_handlers(calls):
    def getter(obj, name):
        calls.append(("get", obj, name))
        return f"G:{name}"

    def setter(obj, name, value):
        calls.append(("set", obj, name, value))
        return "ignored"

    return getter, setter


class TestAttributeHandlers:
    def test_getter_is_used_for_every_kind_of_wrapper(self, lupa):
        calls = []
        lua = lupa.LuaRuntime(attribute_handlers=_recording_handlers(calls))
        d, obj, lst = {"k": 1}, Plain(), [0]
        result = lua.execute(
            "local d, o, l = ... return d.k, o.a, l[0], "
            "python.as_itemgetter(d).k, python.as_attrgetter(o).a",
            d,
            obj,
            lst,
        )
        assert result == ("G:k", "G:a", "G:0", "G:k", "G:a")
        assert calls == [
            ("get", d, "k"),
            ("get", obj, "a"),
            ("get", lst, 0),
            ("get", d, "k"),
            ("get", obj, "a"),
        ]

    def test_setter_is_used_for_every_kind_of_wrapper(self, lupa):
        calls = []
        lua = lupa.LuaRuntime(attribute_handlers=_recording_handlers(calls))
        d, obj, lst = {"k": 1}, Plain(), [0]
        assert lua.execute("local d, o, l = ... d.k = 2; o.a = 3; l[0] = 4", d, obj, lst) is None
        assert calls == [("set", d, "k", 2), ("set", obj, "a", 3), ("set", lst, 0, 4)]
        assert (d, obj.__dict__, lst) == ({"k": 1}, {}, [0])

    def test_getter_only_runtime_writes_normally(self, lupa):
        calls = []
        getter, _ = _recording_handlers(calls)
        lua = lupa.LuaRuntime(attribute_handlers=(getter, None))
        d, obj, lst = {"k": 1}, Plain(), [0]
        result = lua.execute(
            "local d, o, l = ... d.k = 2; o.a = 3; l[0] = 4; return d.k, o.a", d, obj, lst
        )
        assert result == ("G:k", "G:a")
        assert (d, obj.__dict__, lst) == ({"k": 2}, {"a": 3}, [4])
        assert [c[0] for c in calls] == ["get", "get"]

    def test_setter_only_runtime_reads_normally(self, lupa):
        calls = []
        _, setter = _recording_handlers(calls)
        lua = lupa.LuaRuntime(attribute_handlers=(None, setter))
        d, obj, lst = {"k": 1}, Plain(), [0]
        result = lua.execute(
            "local d, o, l = ... d.k = 2; o.a = 3; l[0] = 4; return d.k, o.a, l[0]", d, obj, lst
        )
        assert result == (1, 1, 0)
        assert calls == [("set", d, "k", 2), ("set", obj, "a", 3), ("set", lst, 0, 4)]

    def test_handlers_receive_bytes_names_with_encoding_none(self, lupa):
        calls = []
        lua = lupa.LuaRuntime(attribute_handlers=_recording_handlers(calls), encoding=None)
        obj = Plain()
        # the getter's str result is wrapped as userdata (encoding=None) and comes back as is
        assert lua.execute("local o = ... o.zz = 3; return o.qq", obj) == "G:b'qq'"
        assert calls == [("set", obj, b"zz", 3), ("get", obj, b"qq")]

    def test_readme_getter_and_setter(self, lupa):
        def getter(obj, attr_name):
            if attr_name == "yes":
                return getattr(obj, attr_name)
            raise AttributeError(f'not allowed to read attribute "{attr_name}"')

        def setter(obj, attr_name, value):
            if attr_name == "put":
                setattr(obj, attr_name, value)
                return
            raise AttributeError(f'not allowed to write attribute "{attr_name}"')

        class X:
            yes = 123
            put = "abc"
            noway = 2.1

        x = X()
        lua = lupa.LuaRuntime(attribute_handlers=(getter, setter))
        assert lua.eval("function(x) return x.yes end")(x) == 123
        lua.eval('function(x) x.put = "ABC"; end')(x)
        assert x.put == "ABC"
        with pytest.raises(AttributeError, match='^not allowed to write attribute "noway"$'):
            lua.eval("function(x) x.noway = 42; end")(x)
        with pytest.raises(AttributeError, match='^not allowed to read attribute "noway"$'):
            lua.eval("function(x) return x.noway end")(x)

    def test_getter_applies_to_python_none(self, lupa):
        lua = lupa.LuaRuntime(attribute_handlers=(lambda obj, name: (obj, name), None))
        assert lua.eval("python.none.x") == (None, "x")


# ---------------------------------------------------------------------------------------------
# attribute_filter
# ---------------------------------------------------------------------------------------------


class TestAttributeFilter:
    def test_filter_is_used_on_attribute_paths_only(self, lupa):
        calls = []

        def attr_filter(obj, name, is_setting):
            calls.append((obj, name, is_setting))
            return name

        lua = lupa.LuaRuntime(attribute_filter=attr_filter)
        d, obj, lst = {"k": 1}, Plain(), [0]
        result = lua.execute(
            "local d, o, l = ... d.k = 2; o.a = 3; l[0] = 4; "
            "return d.k, o.a, l[0], python.as_attrgetter(d).get('k')",
            d,
            obj,
            lst,
        )
        assert result == (2, 3, 4, 2)
        assert calls == [(obj, "a", True), (obj, "a", False), (d, "get", False)]

    def test_filter_can_rename_the_attribute(self, lupa):
        lua = lupa.LuaRuntime(attribute_filter=lambda obj, name, is_setting: "a")
        obj = Plain()
        assert lua.execute("local o = ... o.zz = 3; return o.qq", obj) == 3
        assert obj.__dict__ == {"a": 3}

    def test_filter_returning_bytes_is_decoded(self, lupa):
        lua = lupa.LuaRuntime(attribute_filter=lambda obj, name, is_setting: b"a")
        obj = Plain()
        assert lua.execute("local o = ... o.zz = 5; return o.qq", obj) == 5
        assert obj.__dict__ == {"a": 5}

    def test_filter_receives_bytes_names_with_encoding_none(self, lupa):
        calls = []

        def attr_filter(obj, name, is_setting):
            calls.append((name, is_setting))
            return name

        lua = lupa.LuaRuntime(attribute_filter=attr_filter, encoding=None)
        obj = Plain()
        assert lua.execute("local o = ... o.b = 3; return o.a, o.b", obj) == (1, 3)
        assert calls == [(b"b", True), (b"a", False), (b"b", False)]
        assert obj.__dict__ == {"b": 3}

    def test_bytes_names_are_decoded_without_filter(self, lupa):
        lua = lupa.LuaRuntime(encoding=None)
        obj = Plain()
        assert lua.execute("local o = ... o.zz = 3; return o.a, o.zz", obj) == (1, 3)
        assert obj.__dict__ == {"zz": 3}

    def test_filter_exception_reaches_the_caller_unchanged(self, lupa):
        denied = AttributeError("access denied")

        def attr_filter(obj, name, is_setting):
            raise denied

        lua = lupa.LuaRuntime(attribute_filter=attr_filter)
        with pytest.raises(AttributeError) as exc:
            lua.eval("(...).a", Plain())
        assert exc.value is denied
        with pytest.raises(AttributeError) as exc:
            lua.execute("local o = ... o.a = 1", Plain())
        assert exc.value is denied

    def test_readme_filter_denies_private_attributes(self, lupa):
        def filter_attribute_access(obj, attr_name, is_setting):
            if isinstance(attr_name, str):
                if not attr_name.startswith("_"):
                    return attr_name
            raise AttributeError("access denied")

        lua = lupa.LuaRuntime(register_eval=False, attribute_filter=filter_attribute_access)
        func = lua.eval("function(x) return x.__class__ end")
        with pytest.raises(AttributeError, match="^access denied$"):
            func(lua)
        assert lua.eval("function(x) return x.a end")(Plain()) == 1

    def test_filter_sees_is_setting_flag(self, lupa):
        def attr_filter(obj, name, is_setting):
            if is_setting:
                raise AttributeError("read-only")
            return name

        lua = lupa.LuaRuntime(attribute_filter=attr_filter)
        obj = Plain()
        assert lua.eval("(...).a", obj) == 1
        with pytest.raises(AttributeError, match="^read-only$"):
            lua.execute("local o = ... o.a = 2", obj)
        assert obj.__dict__ == {}


# ---------------------------------------------------------------------------------------------
# __tostring
# ---------------------------------------------------------------------------------------------


class TestToString:
    def test_tostring_uses_python_str(self, lua):
        assert lua.eval("tostring(...)", Strish("hello")) == "hello"
        assert lua.eval("tostring(...)", [1, "a"]) == "[1, 'a']"

    def test_tostring_of_python_none(self, lua):
        assert lua.eval("tostring(python.none)") == "None"

    def test_tostring_uses_runtime_encoding(self, lupa):
        lua = lupa.LuaRuntime(encoding="latin-1")
        assert lua.eval("#tostring(...)", Strish("\xe9")) == 1
        assert lua.eval("tostring(...)", Strish("\xe9")) == "\xe9"

    def test_tostring_uses_utf8_without_encoding(self, lupa):
        lua = lupa.LuaRuntime(encoding=None)
        assert lua.eval("tostring(...)", Strish("\xe9")) == b"\xc3\xa9"

    def test_tostring_exception_propagates(self, lua):
        err = KeyError("s")

        class Bad:
            def __str__(self):
                raise err

        with pytest.raises(KeyError) as exc:
            lua.eval("tostring(...)", Bad())
        assert exc.value is err

    def test_tostring_of_non_string_str_result(self, lua):
        class Bad:
            def __str__(self):
                return 5

        with pytest.raises(TypeError, match=re.escape("__str__ returned non-string (type int)")):
            lua.eval("tostring(...)", Bad())


# ---------------------------------------------------------------------------------------------
# as_attrgetter / as_itemgetter
# ---------------------------------------------------------------------------------------------


class TestProtocolWrappers:
    def test_readme_itemgetter_and_attrgetter(self, lupa, lua):
        lua_func = lua.eval('function(obj) return obj["get"] end')
        d = {"get": "value"}
        assert lua_func(d) == "value"
        assert lua_func(lupa.as_itemgetter(d)) == "value"
        dict_get = lua_func(lupa.as_attrgetter(d))
        assert dict_get == d.get
        assert dict_get("get") == "value"

    def test_readme_as_attrgetter_in_lua(self, lua):
        lua_func = lua.eval('function(obj) return python.as_attrgetter(obj)["get"] end')
        d = {"get": "value"}
        assert lua_func(d)("get") == "value"

    def test_wrappers_come_back_as_the_original_object(self, lupa, lua):
        lst = []
        assert lua.eval("...", lupa.as_attrgetter(lst)) is lst
        assert lua.eval("...", lupa.as_itemgetter(lst)) is lst
        assert lua.eval("python.as_attrgetter(...)", lst) is lst
        assert lua.eval("python.as_itemgetter(...)", lst) is lst

    def test_wrapper_has_no_python_side_protocol(self, lupa):
        wrapper = lupa.as_attrgetter([1])
        with pytest.raises(TypeError, match="not subscriptable"):
            wrapper[0]
        with pytest.raises(AttributeError):
            wrapper.append  # noqa: B018
        with pytest.raises(TypeError, match="not callable"):
            wrapper()

    def test_wrapper_type_cannot_be_instantiated(self, lupa):
        with pytest.raises(TypeError):
            type(lupa.as_attrgetter([]))()

    def test_itemgetter_on_dict_from_lua(self, lua):
        assert lua.eval("python.as_itemgetter(...).items", {"items": 5}) == 5

    def test_itemgetter_on_object_without_getitem(self, lupa, lua):
        with pytest.raises(TypeError, match=re.escape("'Plain' object is not subscriptable")):
            lua.eval("(...).a", lupa.as_itemgetter(Plain()))

    def test_attrgetter_setting_attributes(self, lupa, lua):
        class D(dict):
            pass

        d = D()
        lua.execute("local d = ... d.attr = 1", lupa.as_attrgetter(d))
        assert d.attr == 1
        assert d == {}

    def test_itemgetter_setting_items(self, lua):
        obj = {}
        lua.execute("local d = python.as_itemgetter(...) d.key = 1", obj)
        assert obj == {"key": 1}


# ---------------------------------------------------------------------------------------------
# Python function attributes
# ---------------------------------------------------------------------------------------------


class TestFunctionAttributes:
    def test_read_function_attribute(self, lua):
        def py_func():
            pass

        py_func.ATTR = 2
        assert lua.eval("function(obj) return obj.ATTR end")(py_func) == 2
        assert lua.eval("function(obj) return python.as_attrgetter(obj).ATTR end")(py_func) == 2
        assert lua.eval('function(obj) return python.as_attrgetter(obj)["ATTR"] end')(py_func) == 2

    def test_write_function_attribute(self, lua):
        def py_func():
            pass

        lua.execute("local f = ... f.NEW = 5", py_func)
        assert py_func.NEW == 5

    def test_function_dunder_attributes(self, lua):
        def py_func():
            pass

        assert lua.eval("(...).__name__", py_func) == "py_func"

    def test_function_is_not_subscriptable_as_itemgetter(self, lua):
        def py_func():
            pass

        with pytest.raises(TypeError, match=re.escape("'function' object is not subscriptable")):
            lua.eval("python.as_itemgetter(...).ATTR", py_func)


# ---------------------------------------------------------------------------------------------
# Invalid and deleted userdata
# ---------------------------------------------------------------------------------------------


# (Luau says "invalid argument".)
ARGUMENT_1 = r"(?:bad|invalid) (?:extra )?argument #1 to '[^']*' "
NOT_A_PYTHON_OBJECT = ARGUMENT_1 + r"\(not a python object\)"
DELETED_PYTHON_OBJECT = ARGUMENT_1 + r"\(deleted python object\)"


class TestInvalidUserdata:
    @pytest.mark.parametrize(
        "call",
        [
            "mt.__index({}, 'x')",
            "mt.__index(1, 'x')",
            "mt.__index()",
            "mt.__newindex({}, 'x', 1)",
            "mt.__call({})",
            "mt.__tostring(io.stdout)",
        ],
    )
    def test_metamethod_on_non_python_value(self, lupa, lua, call):
        with pytest.raises(lupa.LuaError, match=NOT_A_PYTHON_OBJECT):
            lua.execute("local mt = getmetatable(python.none) local r = " + call)

    def _delete(self, lua, obj):
        """Run the `__gc` metamethod by hand: the userdata then wraps no object."""
        lua.globals().o = obj
        lua.execute("getmetatable(o).__gc(o)")

    def test_index_on_deleted_object(self, lupa, lua):
        self._delete(lua, Plain())
        with pytest.raises(lupa.LuaError, match=DELETED_PYTHON_OBJECT):
            lua.execute("return o.a")

    def test_newindex_on_deleted_object(self, lupa, lua):
        self._delete(lua, Plain())
        with pytest.raises(lupa.LuaError, match=DELETED_PYTHON_OBJECT):
            lua.execute("o.a = 1")

    def test_call_on_deleted_object(self, lupa, lua):
        self._delete(lua, Plain)
        with pytest.raises(lupa.LuaError, match=DELETED_PYTHON_OBJECT):
            lua.execute("o()")

    def test_tostring_on_deleted_object(self, lupa, lua):
        self._delete(lua, Plain())
        with pytest.raises(lupa.LuaError, match=DELETED_PYTHON_OBJECT):
            lua.execute("local s = tostring(o)")

    def test_deleted_object_returned_to_python(self, lua):
        self._delete(lua, Plain())
        with pytest.raises(ReferenceError, match="^deleted python object$"):
            lua.eval("o")
        with pytest.raises(ReferenceError, match="^deleted python object$"):
            lua.globals().o  # noqa: B018

    def test_object_can_be_pushed_again_after_deletion(self, lua):
        obj = Plain()
        self._delete(lua, obj)
        assert lua.eval("function(x) return x.a end")(obj) == 1
        assert lua.eval("function(x) return rawequal(o, x) end")(obj) is False
        assert lua.eval("...", obj) is obj


# ---------------------------------------------------------------------------------------------
# python.none
# ---------------------------------------------------------------------------------------------


class TestPythonNone:
    def test_is_a_truthy_userdata_distinct_from_nil(self, lua):
        assert lua.eval(
            "type(python.none), not not python.none, python.none ~= nil, python.none == python.none"
        ) == ("userdata", True, True, True)

    def test_tostring(self, lua):
        assert lua.eval("tostring(python.none)") == "None"

    def test_converts_to_none_in_python(self, lua):
        assert lua.eval("python.none") is None
        seen = []
        lua.execute("local f = ... f(python.none)", seen.append)
        assert seen == [None]
        assert lua.eval("{python.none}")[1] is None

    def test_python_none_passed_into_lua_is_nil(self, lua):
        assert lua.eval("(...) == nil, (...) == python.none", None) == (True, False)

    def test_is_not_callable(self, lua):
        with pytest.raises(TypeError, match=re.escape("'NoneType' object is not callable")):
            lua.eval("python.none()")

    def test_attribute_access_uses_attribute_protocol(self, lua):
        with pytest.raises(
            AttributeError, match=re.escape("'NoneType' object has no attribute 'x'")
        ):
            lua.eval("python.none.x")
        assert lua.eval("python.none.__class__") is type(None)

    def test_integer_index_fails_like_getattr(self, lua):
        with pytest.raises(TypeError, match=re.escape("attribute name must be string, not 'int'")):
            lua.eval("python.none[1]")

    def test_attribute_assignment_fails(self, lua):
        with pytest.raises(
            AttributeError, match=re.escape("'NoneType' object has no attribute 'x'")
        ):
            lua.execute("python.none.x = 1")
