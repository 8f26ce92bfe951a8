"""Non-string Lua error objects stay available on the exception (upstream loses them).

The message stays empty, as upstream's, so code that inspects ``str(exc)`` sees no change;
``exc.value`` holds the error object converted to Python.
"""

import pytest

pytestmark = pytest.mark.improvement


def _raise(lupa, lua, code):
    with pytest.raises(lupa.LuaError) as exc_info:
        lua.execute(code)
    return exc_info.value


def test_table_error_object_is_kept(lupa, lua):
    error = _raise(lupa, lua, "error({code = 42, reason = 'busy'})")
    assert str(error) == ""
    assert lupa.lua_type(error.value) == "table"
    assert error.value.code == 42
    assert error.value.reason == "busy"


def test_boolean_error_object_is_kept(lupa, lua):
    assert _raise(lupa, lua, "error(false)").value is False
    assert _raise(lupa, lua, "error(true)").value is True


def test_table_with_tostring_keeps_message_empty_and_value(lupa, lua):
    error = _raise(lupa, lua, "error(setmetatable({}, {__tostring = function() return 'x' end}))")
    assert str(error) == ""
    assert str(error.value) == "x"


def test_python_object_error_value(lupa, lua):
    payload = {"answer": 42}
    lua.globals().payload = payload
    error = _raise(lupa, lua, "error(payload)")
    assert error.value is payload


def test_string_errors_have_no_value(lupa, lua):
    error = _raise(lupa, lua, "error('plain message')")
    assert "plain message" in str(error)
    assert error.value is None


def test_value_from_a_failing_call_of_a_function(lupa, lua):
    fail = lua.eval("function() error({1, 2, 3}) end")
    with pytest.raises(lupa.LuaError) as exc_info:
        fail()
    assert list(exc_info.value.value.values()) == [1, 2, 3]


def test_value_from_a_coroutine(lupa, lua):
    co = lua.eval("function() coroutine.yield(1); error({tag = 'late'}) end").coroutine()
    assert next(co) == 1
    with pytest.raises(lupa.LuaError) as exc_info:
        next(co)
    assert exc_info.value.value.tag == "late"


def test_errors_not_from_lua_have_value_none(lupa, lua):
    other = lupa.LuaRuntime()
    with pytest.raises(lupa.LuaError) as exc_info:
        lua.eval("function(t) end")(other.table())
    assert exc_info.value.value is None


def test_number_error_value_without_traceback(lupa, lua):
    # errors from coroutines get no traceback handler: the number itself is the error object
    # (level 0: no position, which would make it a string)
    co = lua.eval("function() coroutine.yield(1); error(42, 0) end").coroutine()
    assert next(co) == 1
    with pytest.raises(lupa.LuaError) as exc_info:
        next(co)
    assert "42" in str(exc_info.value)
    assert exc_info.value.value == 42
