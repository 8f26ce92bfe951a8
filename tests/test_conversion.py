"""Conversion of values between Python and Lua (spec section 6).

Python -> Lua (6.1), Lua -> Python (6.2) for every Lua version, the integer overflow handler
(6.3), tuples and ``unpack_returned_tuples`` (6.4), result shaping and mixing objects of
different runtimes.
"""

import collections
import decimal
import enum
import importlib
import math
import os
import re

import pytest
from helpers import bad_argument, skip_on_luau

OVERFLOW_MESSAGE = "Python int too large to convert to C long"
FLAVOUR_NAMES = ("lua51", "lua52", "lua53", "lua54", "lua55", "luajit20", "luajit21")


def is_luajit(lupa):
    return lupa.__name__.endswith(("luajit20", "luajit21"))


def has_integers(lua):
    """Lua 5.3+ has an integer number subtype."""
    return lua.lua_version >= (5, 3)


@pytest.fixture
def ident(lua):
    return lua.eval("function(...) return ... end")


@pytest.fixture
def lua_type(lua):
    return lua.eval("function(x) return type(x) end")


@pytest.fixture
def number_type(lua):
    """math.type on Lua 5.3+, None before."""
    return lua.eval("function(x) return math.type and math.type(x) end")


class MyInt(int):
    pass


class MyFloat(float):
    pass


class MyBytes(bytes):
    pass


class MyStr(str):
    pass


class Colour(enum.IntEnum):
    RED = 5


Point = collections.namedtuple("Point", "x y")


# ---------------------------------------------------------------------------------------------
# 6.1 Python -> Lua: None and booleans
# ---------------------------------------------------------------------------------------------


class TestNoneAndBool:
    def test_none_becomes_nil(self, lua_type):
        assert lua_type(None) == "nil"

    def test_none_round_trips(self, ident):
        assert ident(None) is None

    def test_booleans(self, lua_type, ident):
        assert lua_type(True) == "boolean"
        assert lua_type(False) == "boolean"
        assert ident(True) is True
        assert ident(False) is False

    def test_lua_booleans(self, lua):
        assert lua.eval("true") is True
        assert lua.eval("false") is False
        assert lua.eval("1 == 1") is True

    def test_lua_nil(self, lua):
        assert lua.eval("nil") is None

    def test_python_none_converts_to_none(self, lua):
        assert lua.eval("python.none") is None

    def test_none_as_table_key_is_python_none(self, lua):
        table = lua.table()
        table[None] = 1
        assert lua.eval("function(t) return t[python.none] end")(table) == 1

    def test_none_as_table_value_is_nil(self, lua):
        table = lua.eval("{a = 1}")
        table["a"] = None
        assert lua.eval("function(t) return next(t) end")(table) is None


# ---------------------------------------------------------------------------------------------
# 6.1 / 6.2 Numbers
# ---------------------------------------------------------------------------------------------


class TestIntegersToLua:
    def test_small_int_is_a_number(self, lua_type, ident):
        assert lua_type(1) == "number"
        assert ident(1) == 1
        assert type(ident(1)) is int

    def test_int_has_integer_subtype(self, lua, number_type):
        if not has_integers(lua):
            pytest.skip("no integer subtype before Lua 5.3")
        assert number_type(1) == "integer"
        assert number_type(-(2**63)) == "integer"

    def test_negative_int(self, ident):
        assert ident(-42) == -42

    def test_int64_limits_exact_on_lua53_plus(self, lua, ident):
        if not has_integers(lua):
            pytest.skip("Lua < 5.3 stores integers as doubles")
        for value in (2**63 - 1, -(2**63), 2**53 + 1):
            result = ident(value)
            assert result == value
            assert type(result) is int

    def test_large_int_loses_precision_on_doubles(self, lua, ident):
        if has_integers(lua):
            pytest.skip("Lua 5.3+ stores integers exactly")
        assert ident(2**53 + 1) == 2**53
        assert type(ident(2**53 + 1)) is int

    def test_int64_max_becomes_float_on_doubles(self, lua, ident):
        # 2**63 - 1 rounds to the double 2**63, which does not fit lua_Integer
        if has_integers(lua):
            pytest.skip("Lua 5.3+ stores integers exactly")
        result = ident(2**63 - 1)
        assert type(result) is float
        assert result == 9.223372036854776e18

    def test_int64_min_on_doubles(self, lua, ident):
        if has_integers(lua):
            pytest.skip("Lua 5.3+ stores integers exactly")
        result = ident(-(2**63))
        assert result == -(2**63)
        assert type(result) is int

    def test_int_subclass(self, lua, ident, number_type):
        result = ident(MyInt(7))
        assert result == 7
        assert type(result) is int
        if has_integers(lua):
            assert number_type(MyInt(7)) == "integer"

    def test_int_enum(self, lua, ident, lua_type, number_type):
        assert lua_type(Colour.RED) == "number"
        result = ident(Colour.RED)
        assert result == 5
        assert type(result) is int
        if has_integers(lua):
            assert number_type(Colour.RED) == "integer"

    def test_int_arithmetic_in_lua(self, lua):
        assert lua.eval("function(a, b) return a + b end")(2, 3) == 5

    def test_int_as_table_key_matches_lua_index(self, lua):
        table = lua.eval("{'a', 'b'}")
        assert table[2] == "b"


class TestFloatsToLua:
    def test_float_is_a_number(self, lua_type):
        assert lua_type(1.5) == "number"

    def test_float_has_float_subtype(self, lua, number_type):
        if not has_integers(lua):
            pytest.skip("no float subtype before Lua 5.3")
        assert number_type(1.5) == "float"
        assert number_type(2.0) == "float"

    def test_non_integral_float_round_trips(self, ident):
        result = ident(1.5)
        assert result == 1.5
        assert type(result) is float

    def test_integral_float_on_lua53_plus(self, lua, ident):
        if not has_integers(lua):
            pytest.skip("Lua < 5.3 turns integral doubles into int")
        result = ident(2.0)
        assert result == 2.0
        assert type(result) is float

    def test_integral_float_becomes_int_on_doubles(self, lua, ident):
        if has_integers(lua):
            pytest.skip("Lua 5.3+ keeps the float subtype")
        result = ident(2.0)
        assert result == 2
        assert type(result) is int

    def test_negative_zero_on_lua53_plus(self, lua, ident):
        if not has_integers(lua):
            pytest.skip("Lua < 5.3 turns -0.0 into int 0")
        result = ident(-0.0)
        assert type(result) is float
        assert math.copysign(1.0, result) == -1.0

    def test_negative_zero_becomes_int_on_doubles(self, lua, ident):
        if has_integers(lua):
            pytest.skip("Lua 5.3+ keeps -0.0")
        result = ident(-0.0)
        assert result == 0
        assert type(result) is int

    def test_infinities(self, ident):
        for value in (math.inf, -math.inf):
            result = ident(value)
            assert result == value
            assert type(result) is float

    def test_nan(self, ident):
        result = ident(math.nan)
        assert type(result) is float
        assert math.isnan(result)

    def test_float_subclass(self, lua, ident, lua_type):
        assert lua_type(MyFloat(2.5)) == "number"
        result = ident(MyFloat(2.5))
        assert result == 2.5
        assert type(result) is float

    def test_integral_float_subclass(self, lua, ident):
        result = ident(MyFloat(2.0))
        assert result == 2
        assert type(result) is (float if has_integers(lua) else int)


class TestLuaNumbersToPython:
    @pytest.mark.parametrize("code, value", [("1", 1), ("-3", -3), ("7 // 2", 3)])
    def test_integers(self, lua, code, value):
        if "//" in code and not has_integers(lua):
            pytest.skip("floor division operator needs Lua 5.3+")
        result = lua.eval(code)
        assert result == value
        assert type(result) is int

    def test_float_literal_on_lua53_plus(self, lua):
        if not has_integers(lua):
            pytest.skip("Lua < 5.3 has no float subtype")
        assert type(lua.eval("1.0")) is float
        assert type(lua.eval("7 / 1")) is float
        assert lua.eval("7 / 1") == 7.0

    def test_integral_double_becomes_int_on_doubles(self, lua):
        if has_integers(lua):
            pytest.skip("Lua 5.3+ has a float subtype")
        for code in ("1.0", "7 / 1", "2^10"):
            assert type(lua.eval(code)) is int, code
        assert lua.eval("7 / 1") == 7

    def test_negative_zero_from_lua(self, lua):
        result = lua.eval("-0.0")
        if has_integers(lua):
            assert type(result) is float
            assert math.copysign(1.0, result) == -1.0
        else:
            assert result == 0
            assert type(result) is int

    def test_two_to_the_53(self, lua):
        result = lua.eval("2^53")
        assert result == 2**53
        assert type(result) is (float if has_integers(lua) else int)

    def test_two_to_the_63_is_float(self, lua):
        result = lua.eval("2^63")
        assert type(result) is float
        assert result == 2.0**63

    def test_minus_two_to_the_63(self, lua):
        # -2^63 equals (lua_Integer) -2^63 exactly, so Lua < 5.3 gives an int
        result = lua.eval("-2^63")
        assert result == -(2**63)
        assert type(result) is (float if has_integers(lua) else int)

    def test_math_maxinteger(self, lua):
        if not has_integers(lua):
            pytest.skip("math.maxinteger needs Lua 5.3+")
        assert lua.eval("math.maxinteger") == 2**63 - 1
        assert lua.eval("math.mininteger") == -(2**63)

    def test_large_integer_literal_on_doubles(self, lua):
        if has_integers(lua):
            pytest.skip("Lua 5.3+ parses exact integers")
        assert lua.eval("9007199254740993") == 2**53
        assert type(lua.eval("9223372036854775807")) is float

    def test_non_integral(self, lua):
        result = lua.eval("1.5")
        assert result == 1.5
        assert type(result) is float

    def test_infinities_and_nan(self, lua):
        assert lua.eval("1/0") == math.inf
        assert lua.eval("-1/0") == -math.inf
        assert type(lua.eval("1/0")) is float
        assert math.isnan(lua.eval("0/0"))

    def test_lua_integer_arithmetic_wraps(self, lua):
        if not has_integers(lua):
            pytest.skip("integer wrap-around needs Lua 5.3+")
        assert lua.eval("math.maxinteger + 1") == -(2**63)


# ---------------------------------------------------------------------------------------------
# 6.3 Integer overflow handler
# ---------------------------------------------------------------------------------------------


class TestIntegerOverflow:
    @pytest.mark.parametrize("value", [2**63, -(2**63) - 1, 2**64, 10**30])
    def test_without_handler_raises_overflow_error(self, ident, value):
        with pytest.raises(OverflowError) as exc:
            ident(value)
        assert str(exc.value) == OVERFLOW_MESSAGE

    def test_overflow_in_table_setitem(self, lua):
        table = lua.table()
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            table["x"] = 2**64
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            table[2**64] = 1

    def test_overflow_in_table_getitem_key(self, lua):
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            lua.eval("{}")[2**64]  # noqa: B018

    def test_overflow_in_callback_result(self, lua):
        call = lua.eval("function(f) return f() end")
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            call(lambda: 2**70)

    def test_overflow_in_eval_argument(self, lua):
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            lua.eval("...", 2**64)

    def test_float_handler_from_constructor(self, lupa):
        runtime = lupa.LuaRuntime(overflow_handler=float)
        ident = runtime.eval("function(...) return ... end")
        result = ident(2**64)
        assert type(result) is float
        assert result == float(2**64)
        assert ident(-(2**64)) == -float(2**64)

    def test_float_handler_gives_lua_float(self, lupa):
        runtime = lupa.LuaRuntime(overflow_handler=float)
        if runtime.lua_version < (5, 3):
            pytest.skip("math.type needs Lua 5.3+")
        assert runtime.eval("function(x) return math.type(x) end")(2**64) == "float"

    def test_handler_not_used_for_ints_in_range(self, lupa):
        calls = []
        runtime = lupa.LuaRuntime(overflow_handler=lambda v: calls.append(v))
        runtime.eval("function(...) return ... end")(2**62, -(2**63))
        assert calls == []

    def test_float_handler_cannot_convert_huge_int(self, lupa):
        # float(10**400) raises, so the original OverflowError is raised
        runtime = lupa.LuaRuntime(overflow_handler=float)
        with pytest.raises(OverflowError) as exc:
            runtime.eval("function(...) return ... end")(10**400)
        assert str(exc.value) == OVERFLOW_MESSAGE

    def test_set_overflow_handler(self, lua, ident):
        calls = []

        def handler(value):
            calls.append(value)
            return str(value)

        lua.set_overflow_handler(handler)
        assert ident(2**64) == "18446744073709551616"
        assert calls == [2**64]

    def test_handler_receives_the_int(self, lua, ident):
        seen = []
        lua.set_overflow_handler(lambda v: seen.append((type(v), v)))
        ident(-(2**70))
        assert seen == [(int, -(2**70))]

    def test_handler_result_is_converted(self, lua, ident, number_type):
        lua.set_overflow_handler(lambda v: 7)
        assert ident(2**64) == 7
        if has_integers(lua):
            assert number_type(2**64) == "integer"

    def test_handler_returning_none_gives_nil(self, lua, lua_type):
        lua.set_overflow_handler(lambda v: None)
        assert lua_type(2**64) == "nil"

    def test_handler_returning_object_gives_userdata(self, lua, ident, lua_type):
        lua.set_overflow_handler(lambda v: (1, 2))
        assert lua_type(2**64) == "userdata"
        assert ident(2**64) == (1, 2)

    def test_remove_handler_with_none(self, lua, ident):
        lua.set_overflow_handler(float)
        assert ident(2**64) == float(2**64)
        lua.set_overflow_handler(None)
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    def test_set_non_callable_handler(self, lua):
        with pytest.raises(ValueError) as exc:
            lua.set_overflow_handler(5)
        assert exc.value.args == ("overflow_handler must be callable",)

    def test_non_callable_handler_in_constructor(self, lupa):
        with pytest.raises(ValueError) as exc:
            lupa.LuaRuntime(overflow_handler=5)
        assert exc.value.args == ("overflow_handler must be callable",)

    def test_raising_handler_gives_original_overflow_error(self, lua, ident):
        def handler(value):
            raise ValueError("bad")

        lua.set_overflow_handler(handler)
        with pytest.raises(OverflowError) as exc:
            ident(2**64)
        assert str(exc.value) == OVERFLOW_MESSAGE

    def test_handler_returning_too_large_int(self, lua, lupa, ident):
        if is_luajit(lupa):
            pytest.skip("upstream segfaults on LuaJIT; see the improvement test below")
        lua.set_overflow_handler(lambda v: v * 2)
        with pytest.raises(OverflowError) as exc:
            ident(2**64)
        assert str(exc.value) == OVERFLOW_MESSAGE

    def test_handler_returning_its_argument(self, lua, lupa, ident):
        if is_luajit(lupa):
            pytest.skip("upstream segfaults on LuaJIT; see the improvement test below")
        lua.set_overflow_handler(lambda v: v)
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    @pytest.mark.improvement
    def test_handler_returning_too_large_int_on_luajit(self, lua, lupa, ident):
        # upstream recurses into the handler until LuaJIT's C stack overflows (segfault)
        if not is_luajit(lupa):
            pytest.skip("covered by test_handler_returning_too_large_int")
        lua.set_overflow_handler(lambda v: v * 2)
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)
        lua.set_overflow_handler(lambda v: v)
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    def test_handler_applies_to_table_values_and_keys(self, lua):
        lua.set_overflow_handler(float)
        table = lua.table()
        table[2**64] = 2**65
        assert list(table.items()) == [(float(2**64), float(2**65))]
        assert table[2**64] == float(2**65)

    def test_handler_applies_to_table_constructors(self, lua):
        lua.set_overflow_handler(float)
        assert list(lua.table(2**64).values()) == [float(2**64)]
        assert list(lua.table_from({2**64: 2**66}).items()) == [(float(2**64), float(2**66))]
        assert list(lua.table_from([2**64]).values()) == [float(2**64)]

    def test_handler_applies_to_callback_results(self, lua):
        lua.set_overflow_handler(float)
        call = lua.eval("function(f) return f() end")
        assert call(lambda: 2**70) == float(2**70)

    def test_handler_applies_to_eval_arguments(self, lua):
        lua.set_overflow_handler(float)
        assert lua.eval("...", 2**64) == float(2**64)


class TestLuaSideOverflowHandler:
    def test_lua_function_handler_gets_userdata(self, lua, ident):
        lua.execute("python.set_overflow_handler(function(o) return 'lua:' .. type(o) end)")
        assert ident(2**64) == "lua:userdata"

    def test_lua_handler_returning_its_argument_gives_userdata(self, lua, ident, lua_type):
        lua.execute("python.set_overflow_handler(function(o) return o end)")
        assert lua_type(2**64) == "userdata"
        result = ident(2**64)
        assert result == 2**64
        assert type(result) is int

    def test_lua_handler_raising_gives_overflow_error(self, lua, ident):
        lua.execute("python.set_overflow_handler(function(o) error('x') end)")
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    def test_python_object_handler_set_from_lua(self, lua, ident):
        lua.execute("python.set_overflow_handler(python.builtins.float)")
        assert ident(2**64) == float(2**64)

    def test_lua_nil_removes_python_handler(self, lua, ident):
        lua.set_overflow_handler(float)
        lua.execute("python.set_overflow_handler(nil)")
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    def test_lua_handler_replaces_python_handler(self, lua, ident):
        lua.set_overflow_handler(lambda v: "py")
        lua.execute("python.set_overflow_handler(function(o) return 1.5 end)")
        assert ident(2**64) == 1.5

    def test_python_handler_replaces_lua_handler(self, lua, ident):
        lua.execute("python.set_overflow_handler(function(o) return 1.5 end)")
        lua.set_overflow_handler(lambda v: "py")
        assert ident(2**64) == "py"

    def test_python_none_removes_lua_handler(self, lua, ident):
        lua.execute("python.set_overflow_handler(function(o) return 1.5 end)")
        lua.set_overflow_handler(None)
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    def test_constructor_handler_replaced_from_lua(self, lupa):
        runtime = lupa.LuaRuntime(overflow_handler=str)
        ident = runtime.eval("function(...) return ... end")
        assert ident(2**64) == str(2**64)
        runtime.execute("python.set_overflow_handler(function() return 'lua' end)")
        assert ident(2**64) == "lua"

    def test_non_callable_python_object_is_accepted_but_fails_later(self, lua, ident):
        lua.execute("python.set_overflow_handler(python.none)")
        with pytest.raises(OverflowError, match=re.escape(OVERFLOW_MESSAGE)):
            ident(2**64)

    @pytest.mark.parametrize("arg", ["5", "{}", "'s'", "true", "io.stdout", ""])
    def test_invalid_handler_from_lua(self, lua, lupa, arg):
        if arg == "io.stdout":
            skip_on_luau(lupa, "no io library")
        with pytest.raises(lupa.LuaError) as exc:
            lua.execute(f"python.set_overflow_handler({arg})")
        message = f"{bad_argument(lupa)} #1 to 'set_overflow_handler' (not a python object)"
        assert message in str(exc.value)


# ---------------------------------------------------------------------------------------------
# 6.1 / 6.2 Strings
# ---------------------------------------------------------------------------------------------


class TestStrings:
    def test_str_becomes_lua_string(self, lua_type, ident):
        assert lua_type("abc") == "string"
        assert ident("abc") == "abc"
        assert type(ident("abc")) is str

    def test_str_is_encoded_as_utf8(self, lua):
        assert lua.eval("function(s) return #s end")("\u00e9") == 2
        assert lua.eval("function(s) return s == '\\195\\169' end")("\u00e9") is True

    def test_non_bmp_character(self, lua, ident):
        assert ident("\U0001f600") == "\U0001f600"
        assert lua.eval("function(s) return #s end")("\U0001f600") == 4

    def test_embedded_nul(self, lua, ident):
        assert ident("a\0b") == "a\0b"
        assert lua.eval("function(s) return #s end")("a\0b") == 3
        assert lua.eval("'x\\0y'") == "x\0y"

    def test_bytes_become_lua_string(self, lua_type, ident):
        assert lua_type(b"abc") == "string"
        assert ident(b"abc") == "abc"
        assert type(ident(b"abc")) is str

    def test_bytes_are_raw(self, lua, ident):
        assert ident(b"\xc3\xa9") == "\u00e9"
        assert lua.eval("function(s) return #s end")(b"a\0\xff") == 3

    def test_bytes_subclass_becomes_lua_string(self, lua_type, ident):
        assert lua_type(MyBytes(b"xy")) == "string"
        result = ident(MyBytes(b"xy"))
        assert result == "xy"
        assert type(result) is str

    def test_str_subclass_becomes_lua_string(self, lua_type, ident):
        assert lua_type(MyStr("zz")) == "string"
        assert type(ident(MyStr("zz"))) is str

    def test_lua_string_decoded_as_utf8(self, lua):
        assert lua.eval("'\\195\\169'") == "\u00e9"

    def test_strict_decoding_of_results(self, lua):
        with pytest.raises(UnicodeDecodeError) as exc:
            lua.eval("'\\255'")
        assert exc.value.encoding == "utf-8"
        assert exc.value.object == b"\xff"

    def test_strict_decoding_of_round_tripped_bytes(self, ident):
        with pytest.raises(UnicodeDecodeError):
            ident(b"\xff")

    def test_strict_decoding_of_table_keys(self, lua):
        table = lua.eval("{['\\255'] = 1}")
        with pytest.raises(UnicodeDecodeError):
            list(table.keys())

    def test_strict_decoding_of_table_values(self, lua):
        with pytest.raises(UnicodeDecodeError):
            lua.eval("{'\\255'}")[1]  # noqa: B018

    def test_strict_decoding_in_multiple_results(self, lua):
        with pytest.raises(UnicodeDecodeError):
            lua.eval("1, '\\255'")

    def test_unencodable_str(self, ident):
        with pytest.raises(UnicodeEncodeError) as exc:
            ident("\ud800")
        assert exc.value.encoding == "utf-8"

    def test_str_and_bytes_keys_are_the_same(self, lua):
        table = lua.table()
        table["k"] = 1
        table[b"k"] = 2
        assert list(table.items()) == [("k", 2)]


class TestEncodingNone:
    @pytest.fixture
    def raw(self, lupa):
        return lupa.LuaRuntime(encoding=None)

    def test_lua_strings_become_bytes(self, raw):
        assert raw.eval("'abc'") == b"abc"
        assert raw.eval("'\\255'") == b"\xff"

    def test_bytes_round_trip_as_bytes(self, raw):
        result = raw.eval("function(x) return x end")(b"abc")
        assert result == b"abc"
        assert type(result) is bytes
        assert raw.eval("function(x) return type(x) end")(b"abc") == b"string"

    def test_bytes_subclass_becomes_plain_bytes(self, raw):
        result = raw.eval("function(x) return x end")(MyBytes(b"q"))
        assert type(result) is bytes
        assert result == b"q"

    def test_str_becomes_userdata(self, raw):
        assert raw.eval("function(x) return type(x) end")("abc") == b"userdata"

    def test_str_comes_back_as_same_object(self, raw):
        value = MyStr("zz")
        assert raw.eval("function(x) return x end")(value) is value

    def test_str_userdata_uses_item_protocol(self, raw):
        assert raw.eval("function(s) return s[0] end")("abc") == "a"

    def test_str_item_key_does_not_find_string_key(self, raw):
        table = raw.eval("{a = 1}")
        assert table["a"] is None
        assert table[b"a"] == 1

    def test_table_keys_are_bytes(self, raw):
        assert list(raw.eval("{a = 1}").keys()) == [b"a"]


class TestOtherEncodings:
    def test_latin1_encoding(self, lupa):
        runtime = lupa.LuaRuntime(encoding="latin-1")
        assert runtime.eval("function(s) return #s end")("\u00e9") == 1
        assert runtime.eval("'\\255'") == "\u00ff"
        assert runtime.eval("function(s) return s end")("\u00e9") == "\u00e9"

    def test_latin1_unencodable(self, lupa):
        runtime = lupa.LuaRuntime(encoding="latin-1")
        with pytest.raises(UnicodeEncodeError) as exc:
            runtime.eval("function(s) return s end")("\u20ac")
        assert exc.value.encoding == "latin-1"

    def test_ascii_encoding_is_strict_both_ways(self, lupa):
        runtime = lupa.LuaRuntime(encoding="ascii")
        with pytest.raises(UnicodeEncodeError):
            runtime.eval("function(s) return s end")("\u00e9")
        with pytest.raises(UnicodeDecodeError) as exc:
            runtime.eval("'\\255'")
        assert exc.value.encoding == "ascii"

    def test_utf16_encoding(self, lupa):
        runtime = lupa.LuaRuntime(encoding="utf-16-le", source_encoding="utf-8")
        assert runtime.eval("function(s) return #s end")("ab") == 4
        assert runtime.eval("function(s) return s end")("ab") == "ab"
        # the Lua source literal "ab" is two bytes, i.e. one UTF-16 code unit
        assert runtime.eval("'ab'") == "\u6261"

    def test_unknown_encoding_fails_on_use(self, lupa):
        runtime = lupa.LuaRuntime(encoding="no-such-codec", source_encoding="utf-8")
        with pytest.raises(LookupError, match="unknown encoding: no-such-codec"):
            runtime.eval("'a'")
        with pytest.raises(LookupError, match="unknown encoding: no-such-codec"):
            runtime.eval("function(x) return 1 end")("x")

    def test_bytes_ignore_encoding(self, lupa):
        runtime = lupa.LuaRuntime(encoding="latin-1")
        assert runtime.eval("function(s) return #s end")(b"\xc3\xa9") == 2
        assert runtime.eval("function(s) return s end")(b"\xc3\xa9") == "\u00c3\u00a9"


# ---------------------------------------------------------------------------------------------
# 6.1 Other Python objects become userdata
# ---------------------------------------------------------------------------------------------


USERDATA_VALUES = [
    pytest.param(lambda: bytearray(b"ab"), id="bytearray"),
    pytest.param(lambda: memoryview(b"ab"), id="memoryview"),
    pytest.param(lambda: [1, 2], id="list"),
    pytest.param(lambda: (1, 2), id="tuple"),
    pytest.param(lambda: (), id="empty-tuple"),
    pytest.param(lambda: {"a": 1}, id="dict"),
    pytest.param(lambda: {1}, id="set"),
    pytest.param(lambda: decimal.Decimal("1.5"), id="Decimal"),
    pytest.param(lambda: 1j, id="complex"),
    pytest.param(lambda: len, id="builtin-function"),
    pytest.param(lambda: lambda: None, id="function"),
    pytest.param(lambda: int, id="class"),
    pytest.param(lambda: os, id="module"),
    pytest.param(lambda: ValueError("x"), id="exception"),
    pytest.param(lambda: object(), id="object"),
    pytest.param(lambda: Point(1, 2), id="namedtuple"),
]


class TestUserdataConversion:
    @pytest.mark.parametrize("make", USERDATA_VALUES)
    def test_becomes_userdata_and_comes_back_as_same_object(self, lua_type, ident, make):
        value = make()
        assert lua_type(value) == "userdata"
        assert ident(value) is value

    def test_bytearray_is_not_a_lua_string(self, lua, lupa):
        with pytest.raises(lupa.LuaError, match="attempt to get length"):
            lua.eval("function(s) return #s end")(bytearray(b"ab"))

    def test_list_is_indexed_with_python_semantics(self, lua):
        assert lua.eval("function(l) return l[0], l[1] end")([10, 20]) == (10, 20)

    def test_tuple_argument_is_not_unpacked(self, lua):
        count = lua.eval("function(...) return select('#', ...) end")
        assert count((1, 2, 3)) == 1

    def test_tuple_in_table_is_not_unpacked(self, lua):
        table = lua.table()
        table.x = (1, 2)
        assert lua.eval("function(t) return type(t.x), t.x[1] end")(table) == ("userdata", 2)

    def test_protocol_wrappers_come_back_as_original_object(self, lupa, ident):
        obj = object()
        assert ident(lupa.as_attrgetter(obj)) is obj
        assert ident(lupa.as_itemgetter(obj)) is obj

    def test_as_function_closure_unwraps(self, lua):
        def func():
            return 1

        assert lua.eval("python.as_function")(func) is func
        assert lua.eval("function(f) return type(python.as_function(f)) end")(func) == "function"


class TestLuaValuesToPython:
    def test_table(self, lua):
        assert type(lua.eval("{}")).__name__ == "_LuaTable"

    def test_functions(self, lua):
        assert type(lua.eval("function() end")).__name__ == "_LuaFunction"
        assert type(lua.eval("print")).__name__ == "_LuaFunction"

    def test_unstarted_coroutine(self, lua):
        coro = lua.eval("coroutine.create(function() end)")
        assert type(coro).__name__ == "_LuaCoroutineFunction"

    def test_started_thread(self, lua):
        thread = lua.execute(
            "local co = coroutine.create(function() coroutine.yield() end) "
            "coroutine.resume(co) return co"
        )
        assert type(thread).__name__ == "_LuaThread"

    def test_full_userdata(self, lua, lupa):
        stdout = lua.eval("io.stdout")
        assert type(stdout).__name__ == "_LuaObject"
        assert lupa.lua_type(stdout) == "userdata"

    def test_light_userdata(self, lua, lupa):
        if lua.lua_version < (5, 2) and not lua.eval("jit"):
            pytest.skip("debug.upvalueid (source of a light userdata) needs Lua 5.2+ or LuaJIT")
        lua.execute("local x = 1; function _fx() return x end")
        light = lua.eval("debug.upvalueid(_fx, 1)")
        assert type(light).__name__ == "_LuaObject"
        assert lupa.lua_type(light) == "userdata"
        # passing it back gives Lua the same light userdata
        assert lua.eval("function(u) return u == debug.upvalueid(_fx, 1) end")(light) is True

    def test_luajit_cdata(self, lua, lupa):
        if not is_luajit(lupa):
            pytest.skip("cdata exists only in LuaJIT")
        cdata = lua.eval("1ULL")
        assert type(cdata).__name__ == "_LuaObject"
        assert lupa.lua_type(cdata) == "cdata"
        assert lua.eval("function(c) return tostring(c) end")(cdata) == "1ULL"

    def test_python_object_is_unwrapped(self, lua):
        obj = object()
        lua.globals().obj = obj
        assert lua.eval("obj") is obj

    def test_deleted_python_object_raises_reference_error(self, lua):
        class Obj:
            pass

        # The holder is finalized after the userdata of Obj() and resurrects it into a global:
        # the userdata then no longer refers to a Python object.
        lua.execute(
            """
            local make = ...
            local box = {}
            local holder
            if newproxy then
              holder = newproxy(true)
              getmetatable(holder).__gc = function() resurrected = box[1] end
            else
              holder = setmetatable({}, {__gc = function() resurrected = box[1] end})
            end
            box[1] = make()
            box.holder = holder
            """,
            Obj,
        )
        lua.execute("collectgarbage() collectgarbage()")
        assert lua.eval("type(resurrected)") == "userdata"
        with pytest.raises(ReferenceError) as exc:
            lua.eval("resurrected")
        assert exc.value.args == ("deleted python object",)


# ---------------------------------------------------------------------------------------------
# 6.4 Tuples and unpack_returned_tuples
# ---------------------------------------------------------------------------------------------


def tuple_probe(runtime):
    """Lua function returning what ``local a, b, c, d = f(v)`` saw, plus select('#')."""
    runtime.globals().f = lambda value: value
    return runtime.eval(
        "function(v) local a, b, c, d = f(v) return type(a), a, b, c, d, select('#', f(v)) end"
    )


class TestTuplesNotUnpacked:
    def test_tuple_result_is_one_userdata(self, lua):
        assert tuple_probe(lua)((1, 2, 3)) == ("userdata", (1, 2, 3), None, None, None, 1)

    def test_tuple_userdata_is_zero_indexed(self, lua):
        lua.globals().f = lambda: (10, 20)
        assert lua.eval("f()[0]") == 10

    def test_empty_tuple_is_one_userdata(self, lua):
        assert tuple_probe(lua)(()) == ("userdata", (), None, None, None, 1)

    def test_namedtuple_is_one_userdata(self, lua):
        assert tuple_probe(lua)(Point(5, 6)) == ("userdata", Point(5, 6), None, None, None, 1)

    def test_callback_tuple_result_back_in_python(self, lua):
        call = lua.eval("function(fn) return fn() end")
        assert call(lambda: (1, 2)) == (1, 2)
        assert call(lambda: ()) == ()
        assert call(lambda: (5,)) == (5,)


class TestUnpackReturnedTuples:
    @pytest.fixture
    def probe(self, lupa):
        return tuple_probe(lupa.LuaRuntime(unpack_returned_tuples=True))

    def test_tuple_becomes_multiple_values(self, probe):
        assert probe((1, 2, 3)) == ("number", 1, 2, 3, None, 3)

    def test_extra_targets_are_nil(self, probe):
        assert probe((1,)) == ("number", 1, None, None, None, 1)

    def test_empty_tuple_gives_no_values(self, probe):
        assert probe(()) == ("nil", None, None, None, None, 0)

    def test_none_items_become_nil(self, probe):
        assert probe((None,)) == ("nil", None, None, None, None, 1)
        assert probe((1, None, 3)) == ("number", 1, None, 3, None, 3)

    def test_nested_tuples_stay_userdata(self, probe):
        assert probe(((1, 2), 3)) == ("userdata", (1, 2), 3, None, None, 2)

    def test_namedtuple_is_unpacked(self, probe):
        assert probe(Point(5, 6)) == ("number", 5, 6, None, None, 2)

    def test_struct_sequence_is_unpacked(self, lupa):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
        runtime.globals().f = lambda value: value
        stat = os.stat(".")
        assert runtime.eval("function(...) return select('#', f(...)) end")(stat) == len(stat)

    def test_list_is_not_unpacked(self, probe):
        assert probe([1, 2]) == ("userdata", [1, 2], None, None, None, 1)

    def test_strings_are_not_unpacked(self, probe):
        assert probe("xy") == ("string", "xy", None, None, None, 1)

    def test_tuple_arguments_are_not_unpacked(self, lupa):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
        assert runtime.eval("function(...) return select('#', ...) end")((1, 2)) == 1
        assert runtime.eval("function(t) return type(t), t[0] end")((7, 8)) == ("userdata", 7)

    def test_tuples_in_tables_are_not_unpacked(self, lupa):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
        table = runtime.table()
        table.x = (1, 2)
        assert runtime.eval("function(t) return type(t.x) end")(table) == "userdata"

    def test_callback_results_back_in_python(self, lupa):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=True)
        call = runtime.eval("function(fn) return fn() end")
        assert call(lambda: (1, 2)) == (1, 2)
        assert call(lambda: ()) is None
        assert call(lambda: (5,)) == 5

    def test_truth_tested_flag(self, lupa):
        runtime = lupa.LuaRuntime(unpack_returned_tuples=1)
        assert tuple_probe(runtime)((1, 2)) == ("number", 1, 2, None, None, 2)


# ---------------------------------------------------------------------------------------------
# Result shaping
# ---------------------------------------------------------------------------------------------


class TestResultShaping:
    def test_no_values_give_none(self, lua):
        assert lua.eval("") is None
        assert lua.execute("return") is None
        assert lua.eval("function() end")() is None

    def test_one_value(self, lua):
        assert lua.eval("1") == 1
        assert lua.eval("nil") is None

    def test_several_values_give_tuple(self, lua):
        assert lua.eval("1, 2, 3") == (1, 2, 3)
        assert type(lua.execute("return 1, 2")) is tuple

    def test_nils_are_kept(self, lua):
        assert lua.eval("nil, nil") == (None, None)
        assert lua.eval("1, nil, 3") == (1, None, 3)
        assert lua.eval("1, nil") == (1, None)

    def test_call_results(self, lua):
        func = lua.eval("function(...) return ... end")
        assert func() is None
        assert func(1) == 1
        assert func(1, 2) == (1, 2)

    def test_single_tuple_value_is_not_a_result_tuple(self, lua):
        # a Python tuple passed through Lua is one value (the same object)
        value = (1, 2)
        assert lua.eval("function(...) return ... end")(value) is value

    def test_mixed_types(self, lua):
        result = lua.eval("{}, 'x', 1.5, true")
        assert [type(v).__name__ for v in result] == ["_LuaTable", "str", "float", "bool"]

    def test_eval_arguments(self, lua):
        assert lua.eval("...", 1, "a", None) == (1, "a", None)


# ---------------------------------------------------------------------------------------------
# Mixing runtimes
# ---------------------------------------------------------------------------------------------


MIX_MESSAGE = "cannot mix objects from different Lua runtimes"


class TestMixingRuntimes:
    @pytest.fixture
    def foreign(self, lupa):
        return lupa.LuaRuntime().eval("{1}")

    def test_call_argument(self, lua, lupa, foreign, ident):
        with pytest.raises(lupa.LuaError) as exc:
            ident(foreign)
        assert exc.value.args == (MIX_MESSAGE,)

    def test_foreign_function_argument(self, lupa, ident):
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            ident(lupa.LuaRuntime().eval("print"))

    def test_table_value(self, lua, lupa, foreign):
        table = lua.table()
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            table[1] = foreign

    def test_table_key(self, lua, lupa, foreign):
        table = lua.table()
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            table[foreign] = 1
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            table[foreign]  # noqa: B018

    def test_table_constructors(self, lua, lupa, foreign):
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            lua.table(foreign)
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            lua.table_from({1: foreign})

    def test_eval_argument(self, lua, lupa, foreign):
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            lua.eval("...", foreign)

    def test_callback_result(self, lua, lupa, foreign):
        call = lua.eval("function(f) return f() end")
        with pytest.raises(lupa.LuaError, match=re.escape(MIX_MESSAGE)):
            call(lambda: foreign)

    def test_runtime_still_usable_after_mixing_error(self, lua, lupa, foreign, ident):
        with pytest.raises(lupa.LuaError):
            ident(foreign)
        assert ident(5) == 5

    def test_wrapper_of_another_flavour_is_a_plain_python_object(self, lua, lupa, ident):
        # each flavour module has its own classes: the foreign wrapper is just an object
        others = [name for name in FLAVOUR_NAMES if f"lupa.{name}" != lupa.__name__]
        other = None
        for name in others:
            try:
                other = importlib.import_module(f"lupa.{name}")
                break
            except ImportError:
                continue
        if other is None:
            pytest.skip("no second flavour module available")
        foreign = other.LuaRuntime().eval("{1}")
        assert lua.eval("function(x) return type(x) end")(foreign) == "userdata"
        assert ident(foreign) is foreign
        assert lupa.lua_type(foreign) is None
