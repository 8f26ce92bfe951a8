"""Repeated eval()/execute() of the same code reuse the compiled chunk; nothing else changes.

The cache is an implementation detail: these tests pin the behaviour that must stay the same
whether a chunk is compiled again or reused.
"""

import pytest


def test_repeated_eval_sees_current_globals(lua):
    for value in range(5):
        lua.globals().x = value
        assert lua.eval("x * 2") == value * 2


def test_repeated_execute_gets_fresh_locals_and_args(lua):
    code = "local n = ... ; counter = (counter or 0) + 1 ; return n, counter"
    assert lua.execute(code, 10) == (10, 1)
    assert lua.execute(code, 20) == (20, 2)


def test_eval_and_execute_of_the_same_text_stay_different(lua):
    assert lua.eval("1 + 1") == 2
    assert lua.execute("return 1 + 1") == 2
    assert lua.execute("1 + 1" if False else "x = 1") is None
    assert lua.eval("1 + 1") == 2


def test_str_and_bytes_code(lua):
    assert lua.eval("'a' .. 'b'") == "ab"
    assert lua.eval(b"'a' .. 'b'") == "ab"
    assert lua.eval(bytearray(b"'a' .. 'b'")) == "ab"


def test_errors_are_reported_every_time(lupa, lua):
    for _ in range(3):
        with pytest.raises(lupa.LuaSyntaxError, match="error loading code"):
            lua.eval("1 +")
        with pytest.raises(lupa.LuaError, match="boom"):
            lua.execute("error('boom')")


def test_many_distinct_chunks(lua):
    results = [lua.eval(f"{i} + 1") for i in range(600)]
    assert results == [i + 1 for i in range(600)]
    assert [lua.eval(f"{i} + 1") for i in range(0, 600, 50)] == list(range(1, 601, 50))


def test_named_chunks_report_their_name(lupa, lua):
    for name in ("first", "second"):
        with pytest.raises(lupa.LuaError, match=f'string "{name}"'):
            lua.execute("error('x')", name=name)


def test_a_chunk_that_changes_its_environment_starts_afresh(lua):
    """On Lua 5.1 and LuaJIT a chunk can replace its own environment (`setfenv`); a repeated
    run starts again with the globals, as a newly compiled chunk would."""
    code = """
        local first = (x == nil)
        if setfenv then setfenv(1, {x = 'private'}) end
        return first
    """
    assert lua.execute(code) is True
    assert lua.execute(code) is True
    assert lua.eval("x") is None


def test_repeated_code_in_a_coroutine_callback_uses_the_globals(lua):
    lua.globals().x = 5
    results = []
    lua.globals().record = lambda: results.append(lua.eval("x"))
    co = lua.eval("function() for i = 1, 3 do record() coroutine.yield() end end").coroutine()
    list(co)
    assert results == [5, 5, 5]
