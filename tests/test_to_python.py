"""Deep conversion of Lua values into plain Python data: ``to_python`` (lupa-rs).

Available as ``lupa.to_python`` (which picks the flavour the value belongs to) and in every
flavour module.
"""

import json

import lupa as lupa_package
import pytest

pytestmark = pytest.mark.improvement


def test_sequences_become_lists_and_other_tables_dicts(lupa, lua):
    value = lua.eval("{1, 'two', {a = 1, b = {true, false}}, {x = {}}}")
    assert lupa.to_python(value) == [1, "two", {"a": 1, "b": [True, False]}, {"x": {}}]
    assert lupa.to_python(lua.eval("{[1] = 'a', [3] = 'c'}")) == {1: "a", 3: "c"}
    assert lupa.to_python(lua.eval("{[0] = 'z', 'a'}")) == {0: "z", 1: "a"}
    assert lupa.to_python(lua.eval("{[1.5] = 1, [2] = 2}")) == {1.5: 1, 2: 2}
    assert lupa.to_python(lua.eval("{['1'] = 'string key'}")) == {"1": "string key"}


def test_the_result_is_json_serialisable(lupa, lua):
    config = lua.eval("{name = 'demo', ports = {80, 443}, tls = {enabled = true}, tags = {}}")
    text = json.dumps(lupa.to_python(config), sort_keys=True)
    assert json.loads(text) == {
        "name": "demo",
        "ports": [80, 443],
        "tls": {"enabled": True},
        "tags": {},
    }


def test_empty_tables(lupa, lua):
    assert lupa.to_python(lua.eval("{}")) == {}
    assert lupa.to_python(lua.eval("{{}, {}}"), empty_table=list) == [[], []]
    assert lupa.to_python(lua.eval("{{}, {}}"), empty_table=dict) == [{}, {}]
    with pytest.raises(ValueError):
        lupa.to_python(lua.eval("{}"), empty_table=set)


def test_shared_tables_and_cycles(lupa, lua):
    looped = lupa.to_python(lua.eval("(function() local t = {1} t[2] = t return t end)()"))
    assert looped[0] == 1 and looped[1] is looped
    mapping = lupa.to_python(lua.eval("(function() local t = {} t.me = t return t end)()"))
    assert mapping["me"] is mapping
    shared = lupa.to_python(lua.eval("(function() local s = {1} return {a = s, b = s} end)()"))
    assert shared["a"] is shared["b"]


def test_max_depth(lupa, lua):
    nested = lua.eval("{{{{'deep'}}}}")
    assert lupa.to_python(nested) == [[[["deep"]]]]
    kept = lupa.to_python(nested, max_depth=1)
    assert isinstance(kept, list) and isinstance(kept[0], list)
    assert lupa.lua_type(kept[0][0]) == "table"
    assert lupa.to_python(kept[0][0]) == [["deep"]]
    with pytest.raises(ValueError, match="max_depth"):
        lupa.to_python(nested, max_depth=1, strict=True)
    with pytest.raises(ValueError):
        lupa.to_python(nested, max_depth=-1)


def test_values_without_a_plain_form(lupa, lua):
    value = lupa.to_python(
        lua.eval(
            "(function() local co = coroutine.create(function() coroutine.yield() end) "
            "coroutine.resume(co) return {f = print, co = co} end)()"
        )
    )
    assert lupa.lua_type(value["f"]) == "function"
    assert lupa.lua_type(value["co"]) == "thread"
    with pytest.raises(TypeError, match="function"):
        lupa.to_python(lua.eval("{f = print}"), strict=True)


def test_python_objects_come_back_as_themselves(lupa, lua):
    marker = object()
    table = lua.eval("function(x) return {x, {x}} end")(marker)
    assert lupa.to_python(table) == [marker, [marker]]


def test_scalars_and_non_lua_values_pass_through(lupa, lua):
    assert lupa.to_python(5) == 5
    assert lupa.to_python("text") == "text"
    assert lupa.to_python(None) is None


def test_no_metamethods_run(lupa, lua):
    table = lua.eval(
        "setmetatable({1, 2}, {__index = function() error('no') end, "
        "__pairs = function() error('no') end, __len = function() error('no') end})"
    )
    assert lupa.to_python(table) == [1, 2]


def test_deep_nesting_raises_instead_of_crashing(lupa, lua):
    deep = lua.eval(
        "(function() local t = {} local c = t "
        "for i = 1, 200000 do c[1] = {} c = c[1] end return t end)()"
    )
    with pytest.raises(RecursionError):
        lupa.to_python(deep)
    assert lupa.to_python(lua.eval("{1}")) == [1]


def test_the_package_function_picks_the_values_flavour(lupa, lua):
    table = lua.eval("{1, {2}}")
    assert lupa_package.to_python(table) == [1, [2]]
    assert lupa_package.to_python(7) == 7


def test_a_closed_or_foreign_runtime(lupa, lua):
    other = lupa.LuaRuntime()
    assert lupa.to_python(other.eval("{1}")) == [1]
