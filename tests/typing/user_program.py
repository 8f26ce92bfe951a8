"""A user program for the type stubs: `mypy --strict` must accept it (.ci/typecheck.py), and it
runs (tests/test_typing.py), so that what it shows is true at run time too.

`assert_type` pins the types the stubs give; `# type: ignore[...]` marks what the stubs must
reject (mypy --strict reports ignores that are not needed, so each one proves an error).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import lupa
from lupa import lua51, lua52, lua53, lua54, lua55, luajit21
from lupa.lua54 import (
    LUA_MAXINTEGER,
    LUA_MININTEGER,
    LUA_VERSION,
    FastRLock,
    LuaError,
    LuaInstructionLimitError,
    LuaInterruptError,
    LuaLimitError,
    LuaMemoryError,
    LuaRuntime,
    LuaSyntaxError,
    LuaTimeoutError,
    as_attrgetter,
    as_itemgetter,
    lua_type,
    unpacks_lua_table,
    unpacks_lua_table_method,
)

if TYPE_CHECKING:
    # The wrapper classes exist for annotations only (not at run time).
    from lupa.lua54 import _LuaFunction, _LuaIter, _LuaNoGC, _LuaObject, _LuaTable, _LuaThread
    from typing_extensions import assert_type
else:

    def assert_type(value, _type):
        return value


def runtime_options() -> LuaRuntime:
    def attribute_filter(obj: object, name: Any, is_setting: bool) -> Any:
        if isinstance(name, str) and name.startswith("_"):
            raise AttributeError(name)
        return name

    def getter(obj: object, name: Any) -> Any:
        return getattr(obj, name)

    def setter(obj: object, name: Any, value: Any) -> None:
        setattr(obj, name, value)

    LuaRuntime(attribute_filter=attribute_filter)
    LuaRuntime(attribute_handlers=(getter, setter))
    LuaRuntime(attribute_handlers=(getter, None))
    LuaRuntime(encoding=None, source_encoding="latin-1")
    LuaRuntime("UTF-8", None, None, None, True, True, True, None, None, None)
    LuaRuntime(overflow_handler=float, string_hash_seed=42)
    LuaRuntime(register_eval=False, register_builtins=False)
    return LuaRuntime(unpack_returned_tuples=True, max_memory=1 << 24)


def code_and_values(lua: LuaRuntime) -> None:
    assert lua.eval("1 + 1") == 2
    assert lua.eval(b"...", 5) == 5
    assert lua.eval("x", name="=expr", mode="t") is None
    assert lua.execute("return ...", 1, 2) == (1, 2)
    add = lua.compile("local a, b = ... return a + b", name="add")
    assert_type(add, "_LuaFunction")
    assert add(1, 2) == 3
    assert_type(lua.eval("{}"), Any)
    assert_type(lua_type(add), "str | None")
    assert lua_type(add) == "function"
    assert lua_type(3) is None
    version: tuple[int, int] = lua.lua_version
    assert version == LUA_VERSION
    assert lua.lua_implementation.startswith("Lua")
    assert LUA_MININTEGER < 0 < LUA_MAXINTEGER
    assert lua.require("string").format("%d", 3) == "3"


def tables(lua: LuaRuntime) -> None:
    table: _LuaTable = lua.table(10, 20, name="apple")
    assert_type(lua.table(), "_LuaTable")
    assert table[1] == 10 and table.name == "apple"
    table.price = 0.5
    table["count"] = 3
    del table["count"]
    assert len(table) == 2
    for key in table:
        assert key in (1, 2, "name", "price")
    assert_type(table.items(), "_LuaIter[tuple[Any, Any]]")
    keys: Iterator[Any] = table.keys()
    values: _LuaIter[Any] = table.values()
    assert sorted(map(str, keys)) == ["1", "2", "name", "price"]
    assert 20 in list(values)
    for key, value in table.items():
        assert table[key] == value
    nested = lua.table_from({"a": [1, 2]}, [3, 4], recursive=True)
    assert nested.a[2] == 2 and nested[2] == 4
    g = lua.globals()
    assert_type(g, "_LuaTable")
    g.answer = 42
    assert lua.eval("answer") == 42
    stdout: _LuaObject = g.io.stdout
    assert lua_type(stdout) == "userdata"


def functions_and_coroutines(lua: LuaRuntime) -> None:
    gen: _LuaFunction = lua.eval(
        "function(n) for i = 1, n do coroutine.yield(i) end return 'done' end"
    )
    co: _LuaThread = gen.coroutine(3)
    assert_type(gen.coroutine(3), "_LuaThread")
    assert list(co) == [1, 2, 3, "done"]

    def first_two(values: Generator[Any, Any, None]) -> list[Any]:
        return [next(values), next(values)]

    assert first_two(gen.coroutine(5)) == [1, 2]
    echo = lua.eval(
        "function() local x = coroutine.yield() while true do x = coroutine.yield(x * 2) end end"
    ).coroutine()
    assert echo.send(None) is None
    assert echo.send(21) == 42
    assert echo
    echo.close()
    assert not echo
    catcher = lua.eval(
        "function() local ok = pcall(coroutine.yield, 1)"
        " coroutine.yield(ok and 'no' or 'caught') end"
    ).coroutine()
    next(catcher)
    assert catcher.throw(ValueError, ValueError("stop")) == "caught"
    try:
        catcher.throw(KeyError("k"))
    except KeyError:
        pass
    else:
        raise AssertionError("no KeyError")
    wrap = lua.eval("coroutine.create(function(a) coroutine.yield(a) end)")
    assert list(wrap(7)) == [7]


def errors(lua: LuaRuntime) -> None:
    try:
        lua.execute("error({code = 2})")
    except LuaError as error:
        assert error.value.code == 2
    else:
        raise AssertionError("no LuaError")
    try:
        lua.eval("1 +")
    except LuaSyntaxError as error:
        assert isinstance(error, LuaError)
        line: int | None = error.lineno
        more_input_could_help: bool = error.incomplete
        assert (line, more_input_could_help) == (1, True)
    else:
        raise AssertionError("no LuaSyntaxError")
    limited = LuaRuntime(max_memory=200_000)
    try:
        limited.execute("local t = {} for i = 1, 1e7 do t[i] = i end")
    except LuaMemoryError as error:
        assert isinstance(error, MemoryError)
    else:
        raise AssertionError("no LuaMemoryError")
    used = limited.get_memory_used()
    assert_type(used, "int | None")
    assert used is not None and used >= 0
    assert limited.get_max_memory() == 200_000
    assert limited.get_max_memory(total=True) is not None
    limited.set_max_memory(300_000, total=False)
    assert LuaRuntime().get_memory_used() is None
    with lua.nogc():
        lua.execute("local t = {}")
    nogc: _LuaNoGC = lua.nogc()
    nogc.__enter__()
    nogc.__exit__(None, None, None)
    lua.gccollect()
    lua.set_overflow_handler(lambda n: float(n))
    assert lua.eval("...", 2**70) == float(2**70)
    lua.set_overflow_handler(None)


class Point:
    def __init__(self) -> None:
        self.x = 1
        self.items = [10, 20]

    @unpacks_lua_table_method
    def moved(self, dx: int, dy: int = 0) -> str:
        return f"{self.x + dx},{dy}"


def python_objects(lua: LuaRuntime) -> None:
    @unpacks_lua_table
    def greet(name: str, greeting: str = "hello") -> str:
        return f"{greeting} {name}"

    decorated: Callable[..., str] = greet
    assert lua.eval("(...){name='lua', greeting='hi'}", decorated) == "hi lua"
    assert greet("python") == "hello python"
    point = Point()
    assert lua.eval("(...).moved{2, dy=3}", point) == "3,3"
    assert point.moved(1) == "2,0"
    assert lua.eval("(...).x", as_attrgetter(point)) == 1
    assert lua.eval("(...)[1]", as_itemgetter(point.items)) == 20


def threads() -> None:
    lock = FastRLock()
    with lock as locked:
        assert locked is True
        assert lock.acquire(blocking=False)
        lock.release()
        assert lock._is_owned()
    assert_type(lock.acquire(), bool)
    assert lock.acquire(True)
    lock.release()
    lock.release()

    runtime = LuaRuntime()
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(runtime.eval("6 * 7")))
    worker.start()
    worker.join()
    assert results == [42]


def flavours_and_package() -> None:
    for module in (lua51, lua52, lua53, lua54, lua55, luajit21):
        assert module.__name__.startswith("lupa.lua")
    # Each flavour has classes of its own (as at run time).
    assert lupa.LuaRuntime().eval("1") == 1
    assert lua51.LuaRuntime().eval("1") == 1
    assert lua52.LuaRuntime().eval("1") == 1
    assert lua53.LuaRuntime().eval("1") == 1
    assert lua55.LuaRuntime().eval("1") == 1
    assert luajit21.LuaRuntime().eval("1") == 1
    table: lupa.lua53._LuaTable = lua53.LuaRuntime().table()
    assert len(table) == 0
    error: type[lupa.LuaError] = lupa.LuaSyntaxError
    assert issubclass(error, Exception)
    assert lupa.__version__.startswith("2.")
    with lupa.allow_lua_module_loading():
        pass


def types_lupa_style() -> None:
    """Annotations as users of types-lupa (typeshed's stubs of upstream lupa) write them."""
    lua = LuaRuntime(unpack_returned_tuples=True)
    result: object = lua.eval("1 + 1")
    function: Callable[..., object] = lua.compile("return 1")
    module: object = lua.require("string")
    table = lua.table(1, 2, x=3)
    keys: Iterable[str | int] = table.keys()
    values: Iterable[object] = table.values()
    items: Iterable[tuple[str | int, object]] = table.items()
    table[1] = table["x"]
    del table["x"]
    used: int | None = lua.get_memory_used(total=True)
    lock = FastRLock()
    acquired = lock.acquire(0)
    lock.release()
    name: str | None = lua_type(table)
    getter: object = as_attrgetter(object())
    decorated: Callable[..., object] = unpacks_lua_table(lambda *args: len(args))
    assert result == 2 and function() == 1 and module is not None and used is None
    assert list(keys) == [1, 2] and list(values) == [3, 2] and len(list(items)) == 2
    assert acquired and name == "table" and getter is not None and decorated(table) == 2


def takes_str(text: str) -> None: ...


def takes_lua53_runtime(runtime: lua53.LuaRuntime) -> None: ...


def rejected(lua: LuaRuntime, function: _LuaFunction, lock: FastRLock) -> None:
    """Wrong uses, which mypy must reject (not run)."""
    LuaRuntime(bogus=True)  # type: ignore[call-arg]
    LuaRuntime(max_memory="lots")  # type: ignore[arg-type]
    LuaRuntime(attribute_handlers=(len,))  # type: ignore[arg-type]
    lua.eval(42)  # type: ignore[arg-type]
    lua.execute("", nmae="chunk")  # type: ignore[call-arg]
    lua.table_from(5)  # type: ignore[arg-type]
    lua.set_overflow_handler(lambda n: n.upper())  # type: ignore[attr-defined]
    lua.lua_version = (5, 1)  # type: ignore[misc]
    for _ in function:  # type: ignore[attr-defined]
        pass
    function.coroutine().send()  # type: ignore[call-arg]
    lock.acquire(timeout=1)  # type: ignore[call-arg]
    takes_str(lua_type(function))  # type: ignore[arg-type]
    lupa.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    lupa.lua54.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    takes_lua53_runtime(lua)  # type: ignore[arg-type]


def limits_and_sandbox() -> None:
    lua = LuaRuntime(timeout=5.0, max_instructions=10**6, sandbox=True)
    try:
        lua.execute("while true do end")
    except LuaInstructionLimitError as error:
        assert isinstance(error, LuaLimitError)
    else:
        raise AssertionError("no LuaInstructionLimitError")
    timed = LuaRuntime()
    with timed.limits(timeout=0.1):
        try:
            timed.execute("while true do end")
        except LuaTimeoutError as error:
            assert isinstance(error, TimeoutError)
    lua.interrupt()
    assert issubclass(LuaInterruptError, LuaError)

    def wrong_uses() -> None:  # (type-checked, never run)
        LuaRuntime(timeout="1")  # type: ignore[arg-type]
        lua.limits(1.0)  # type: ignore[call-arg]

    assert callable(wrong_uses)


def conversion_and_lifetime() -> None:
    with LuaRuntime() as lua:
        data = lupa.to_python(lua.eval("{1, {a = 2}}"), max_depth=5, empty_table=list)
        assert data == [1, {"a": 2}]
        assert lupa.lua54.to_python(lua.eval("{}"), strict=True) == {}
    lua.close()


def main() -> None:
    lua = runtime_options()
    code_and_values(lua)
    tables(lua)
    functions_and_coroutines(lua)
    errors(lua)
    python_objects(lua)
    threads()
    flavours_and_package()
    types_lupa_style()
    limits_and_sandbox()
    conversion_and_lifetime()


if __name__ == "__main__":
    main()
    print("user program: ok", file=sys.stderr)
