# Generated from stubs/flavour.pyi by `python3 .ci/typecheck.py --write-stubs`.
"""Type stubs of one lupa flavour module (lupa.lua54, lupa.luajit21, ...).

All flavour modules have the same API: this one file is the source of every
python/lupa/<flavour>.pyi (copies made by `python3 .ci/typecheck.py --write-stubs`).

The wrapper classes (_LuaObject, _LuaTable, ...) are not module attributes at run time, as in
upstream lupa: they are @type_check_only, for annotations only.  Upstream's own docs call Lua
values "Lua objects"; what a Lua value becomes in Python depends on the Lua code, hence the
`Any` results.
"""

from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, Final, Generic, TypeAlias, final, overload, type_check_only

from typing_extensions import Self, TypeVar, disjoint_base

__all__ = [
    "LUA_VERSION",
    "LUA_MAXINTEGER",
    "LUA_MININTEGER",
    "LuaRuntime",
    "LuaError",
    "LuaSyntaxError",
    "LuaMemoryError",
    "as_itemgetter",
    "as_attrgetter",
    "lua_type",
    "unpacks_lua_table",
    "unpacks_lua_table_method",
]

_T_co = TypeVar("_T_co", covariant=True)
_R = TypeVar("_R")

# Lua source code, chunk names and load modes ("t", "b", "bt"): text or bytes.
_Text = str | bytes | bytearray

# The keys that types-lupa (typeshed's stubs of upstream lupa) names; any value is a key here.
_LuaKey: TypeAlias = str | int

LUA_VERSION: Final[tuple[int, int]]
LUA_MAXINTEGER: Final[int]
LUA_MININTEGER: Final[int]

class LuaError(Exception):
    # A non-string Lua error object (`error({code = 2})`); None for string errors.
    value: Any

class LuaSyntaxError(LuaError):
    # The line Lua reports in the message; None when it reports none.
    lineno: int | None
    # True when the code only ended too early (more input could complete it: a REPL's cue).
    incomplete: bool

class LuaMemoryError(LuaError, MemoryError): ...

# lupa-rs: the errors of limits (not in __all__, which stays upstream's).
class LuaLimitError(LuaError): ...
class LuaTimeoutError(LuaLimitError, TimeoutError): ...
class LuaInstructionLimitError(LuaLimitError): ...
class LuaInterruptError(LuaLimitError): ...

# Whether limits reach finalizers and coroutines resumed by Lua code in this build.
_COMPLETE_LIMITS: Final[bool]

# lupa-rs: a Lua value as plain Python data (lists, dicts, scalars), recursively.
def to_python(
    value: Any,
    *,
    max_depth: int | None = None,
    empty_table: type[dict[Any, Any]] | type[list[Any]] | None = None,
    strict: bool | None = False,
) -> Any: ...

# As in types-lupa: `FastRLock[bool]` annotations keep working (the lock is not generic at run
# time; the parameter is the type of `blocking`).
_bint = TypeVar("_bint", bool, int, default=bool)

@disjoint_base
class FastRLock(Generic[_bint]):
    # Arguments are accepted and ignored, as upstream's constructor does.
    def __new__(cls, *args: object, **kwargs: object) -> Self: ...
    # `blocking` is taken by truth value (types-lupa and upstream accept ints).
    def acquire(self, blocking: bool | int | None = True) -> bool: ...
    def release(self) -> None: ...
    def __enter__(self) -> bool: ...
    def __exit__(self, *exc_info: object) -> None: ...
    def _is_owned(self) -> bool: ...

@disjoint_base
class LuaRuntime:
    def __new__(
        cls,
        encoding: _Text | None = "UTF-8",
        source_encoding: _Text | None = None,
        # attribute_filter(obj, attr_name, is_setting) -> the attribute name to use
        attribute_filter: Callable[[Any, Any, bool], Any] | None = None,
        # (getter(obj, attr_name) -> value, setter(obj, attr_name, value))
        attribute_handlers: tuple[
            Callable[[Any, Any], Any] | None, Callable[[Any, Any, Any], object] | None
        ]
        | None = None,
        register_eval: bool = True,
        unpack_returned_tuples: bool = False,
        register_builtins: bool = True,
        # overflow_handler(int too large for Lua) -> the value to use in Lua
        overflow_handler: Callable[[int], Any] | None = None,
        max_memory: int | None = None,
        string_hash_seed: int | None = None,
        *,
        # lupa-rs: limits of every call from Python (seconds, VM instructions), the sandbox.
        timeout: float | None = None,
        max_instructions: int | None = None,
        sandbox: bool = False,
        luau_optimization_level: int | None = None,
        luau_debug_level: int | None = None,
    ) -> Self: ...
    def eval(
        self, lua_code: _Text, *args: Any, name: _Text | None = None, mode: _Text | None = None
    ) -> Any: ...
    def execute(
        self, lua_code: _Text, *args: Any, name: _Text | None = None, mode: _Text | None = None
    ) -> Any: ...
    def compile(
        self, lua_code: _Text, name: _Text | None = None, mode: _Text | None = None
    ) -> _LuaFunction: ...
    def require(self, modulename: str | bytes) -> Any: ...
    def globals(self) -> _LuaTable: ...
    def table(self, *items: Any, **kwargs: Any) -> _LuaTable: ...
    # `recursive` is taken by truth value (None: False).
    def table_from(
        self, *args: Mapping[Any, Any] | Iterable[Any], recursive: bool | None = False
    ) -> _LuaTable: ...
    def nogc(self) -> _LuaNoGC: ...
    def gccollect(self) -> None: ...
    def vector(self, x: float, y: float, z: float) -> _LuaObject: ...
    def buffer(self, data: bytes | bytearray | memoryview | int) -> _LuaObject: ...
    # `total` is taken by truth value (None: False).  The getters return None for runtimes
    # created without max_memory.
    def set_max_memory(self, max_memory: int, total: bool | None = False) -> None: ...
    def get_max_memory(self, total: bool | None = False) -> int | None: ...
    def get_memory_used(self, total: bool | None = False) -> int | None: ...
    def set_overflow_handler(self, overflow_handler: Callable[[int], Any] | None) -> None: ...
    # lupa-rs: tighter limits for the calls begun inside a `with` block; stopping Lua code.
    def limits(
        self, *, timeout: float | None = None, max_instructions: int | None = None
    ) -> _LuaLimits: ...
    def interrupt(self) -> None: ...
    # lupa-rs: free the Lua state now; afterwards every use raises LuaError.
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool: ...
    @property
    def lua_version(self) -> tuple[int, int]: ...
    @property
    def lua_implementation(self) -> str: ...

@final
class _LuaLimits:
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
        /,
    ) -> bool: ...

# Lua values in Python.  Python code cannot create them; the runtime does.

@type_check_only
@disjoint_base
class _LuaObject:
    """Any Lua value that is not a number, string, boolean or nil (userdata, for one)."""

    # Keyword arguments are rejected (TypeError): Lua has none.
    def __call__(self, *args: Any) -> Any: ...
    # The raw length (`#` without `__len`).
    def __len__(self) -> int: ...
    def __bool__(self) -> bool: ...
    # Attribute access reads the Lua value's field (`obj.name` is `obj["name"]`).
    def __getattr__(self, name: str) -> Any: ...
    def __getitem__(self, key: Any, /) -> Any: ...

@final
@type_check_only
class _LuaTable(_LuaObject):
    # `len(table)` is the border (`#t`), not the number of keys; iteration is in `next` order.
    def keys(self) -> _LuaIter[Any]: ...
    def values(self) -> _LuaIter[Any]: ...
    def items(self) -> _LuaIter[tuple[Any, Any]]: ...
    def __iter__(self) -> _LuaIter[Any]: ...
    def __setitem__(self, key: Any, value: Any, /) -> None: ...
    def __delitem__(self, key: Any, /) -> None: ...
    def __setattr__(self, name: str, value: Any, /) -> None: ...
    def __delattr__(self, name: str, /) -> None: ...

@type_check_only
class _LuaFunction(_LuaObject):
    def coroutine(self, *args: Any) -> _LuaThread: ...

@final
@type_check_only
class _LuaCoroutineFunction(_LuaFunction):
    """A coroutine made in Lua that has not started: each call starts a new one."""

    def __call__(self, *args: Any) -> _LuaThread: ...

@final
@type_check_only
class _LuaThread(_LuaObject, Generator[Any, Any]):
    """A Lua coroutine, as a generator (the function's return values come last)."""

    def __iter__(self) -> Self: ...
    def __next__(self) -> Any: ...
    # The first send() must pass None; a tuple is passed as several values.
    def send(self, value: Any) -> Any: ...
    @overload
    def throw(
        self,
        typ: type[BaseException],
        val: BaseException | object = None,
        tb: TracebackType | None = None,
    ) -> Any: ...
    @overload
    def throw(
        self, typ: BaseException, val: None = None, tb: TracebackType | None = None
    ) -> Any: ...
    def close(self) -> None: ...
    # Whether the coroutine can still be resumed.
    def __bool__(self) -> bool: ...

@final
@type_check_only
class _LuaIter(Iterator[_T_co]):
    def __iter__(self) -> Self: ...
    def __next__(self) -> _T_co: ...

@final
@type_check_only
class _LuaNoGC:
    def __enter__(self) -> None: ...
    def __exit__(self, *exc_info: object) -> None: ...

@final
@type_check_only
class _PyProtocolWrapper:
    """A Python object that Lua code indexes by attribute or by item (as_attrgetter/...)."""

@final
class _PyArguments:
    """What `python.args{...}` makes in Lua: keyword arguments for a Python call."""

def lua_type(obj: object) -> str | None: ...
def as_attrgetter(obj: object) -> _PyProtocolWrapper: ...
def as_itemgetter(obj: object) -> _PyProtocolWrapper: ...

# The wrapper takes positional arguments; called with a single Lua table, it calls `func` with
# the table's array part as positional and its string keys as keyword arguments.
def unpacks_lua_table(func: Callable[..., _R]) -> Callable[..., _R]: ...
def unpacks_lua_table_method(meth: Callable[..., _R]) -> Callable[..., _R]: ...
