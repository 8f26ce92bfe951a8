"""Type stubs for `lupa` (lupa-rs).

At run time, the package forwards the names below to the newest flavour module that was built
(lupa.lua55 in a full build); for type checking they are lupa.lua55's.  The flavour modules
have stubs of their own (python/lupa/<flavour>.pyi, all copies of stubs/flavour.pyi).
"""

from contextlib import AbstractContextManager
from typing import Any

from lupa import lua as lua
from lupa import lua51 as lua51
from lupa import lua52 as lua52
from lupa import lua53 as lua53
from lupa import lua54 as lua54
from lupa import lua55 as lua55
from lupa import luajit20 as luajit20
from lupa import luajit21 as luajit21
from lupa import version as version
from lupa.lua55 import LUA_MAXINTEGER as LUA_MAXINTEGER
from lupa.lua55 import LUA_MININTEGER as LUA_MININTEGER
from lupa.lua55 import LUA_VERSION as LUA_VERSION
from lupa.lua55 import FastRLock as FastRLock
from lupa.lua55 import LuaError as LuaError
from lupa.lua55 import LuaInstructionLimitError as LuaInstructionLimitError
from lupa.lua55 import LuaInterruptError as LuaInterruptError
from lupa.lua55 import LuaLimitError as LuaLimitError
from lupa.lua55 import LuaMemoryError as LuaMemoryError
from lupa.lua55 import LuaRuntime as LuaRuntime
from lupa.lua55 import LuaSyntaxError as LuaSyntaxError
from lupa.lua55 import LuaTimeoutError as LuaTimeoutError
from lupa.lua55 import as_attrgetter as as_attrgetter
from lupa.lua55 import as_itemgetter as as_itemgetter
from lupa.lua55 import lua_type as lua_type
from lupa.lua55 import unpacks_lua_table as unpacks_lua_table
from lupa.lua55 import unpacks_lua_table_method as unpacks_lua_table_method
from lupa.version import __version__ as __version__

# `from lupa import *` takes the default flavour module's __all__.
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

# Sets RTLD_GLOBAL while the first flavour module is imported inside the block.
def allow_lua_module_loading() -> AbstractContextManager[None]: ...

# lupa-rs: converts with the flavour module the value belongs to.
def to_python(
    value: Any,
    *,
    max_depth: int | None = None,
    empty_table: type[dict[Any, Any]] | type[list[Any]] | None = None,
    strict: bool | None = False,
) -> Any: ...
