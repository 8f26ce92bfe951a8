"""lupa: Lua and LuaJIT inside CPython (this is lupa-rs, written in Rust).

The package contains one extension module per Lua flavour (``lupa.lua54``, ``lupa.luajit21``,
``lupa.luau``, ...).  ``import lupa`` itself loads none of them: the first access to a name
such as ``lupa.LuaRuntime`` imports the newest flavour that was built (plain Lua before
LuaJIT, then the highest version; never Luau, which is a different language) and forwards to
it.  Import a flavour explicitly to choose one::

    from lupa import lua54
    lua = lua54.LuaRuntime()
"""

from contextlib import contextmanager as _contextmanager

from lupa.version import __version__ as __version__

# `re` and `os` are imported where needed: importing `re` would double the import time.
_FLAVOUR_FILE = r"^((lua[a-z]*)([0-9]*))\..*"
_FLAVOUR_NAME = r"^lua[a-z]*[0-9]*$"
# Flavour modules that are never the default: Luau is a language of its own (no `io`, no
# `package`, different syntax), so code written for `lupa.LuaRuntime` should not get it.
_NOT_DEFAULT = ("luau",)
_default_module = None


@_contextmanager
def allow_lua_module_loading():
    """Make the Lua C API visible to Lua binary modules loaded with ``require``.

    Wrap the *first* import of a flavour module in this context manager; it sets the
    ``RTLD_NOW | RTLD_GLOBAL`` dlopen flags during the import (nothing on Windows)::

        import lupa
        with lupa.allow_lua_module_loading():
            from lupa import lua54
        lua54.LuaRuntime().require("cjson")

    Only one flavour's Lua symbols can be global in a process, so use it once.
    """
    try:
        from os import RTLD_GLOBAL, RTLD_NOW
    except ImportError:  # Windows: no dlopen flags.
        yield
        return

    import sys

    old_flags = sys.getdlopenflags()
    try:
        sys.setdlopenflags(RTLD_NOW | RTLD_GLOBAL)
        yield
    finally:
        sys.setdlopenflags(old_flags)


def _is_flavour_name(name):
    import re

    return re.match(_FLAVOUR_NAME, name) is not None


def _flavour_preference(groups):
    """Sort key: plain Lua before LuaJIT, then the highest version digits."""
    _name, kind, digits = groups
    return (kind == "lua", tuple(int(digit) for digit in (digits or "0")))


def _import_default_module():
    global _default_module
    if _default_module is None:
        import os
        import re
        from importlib.machinery import EXTENSION_SUFFIXES

        package_dir = os.path.dirname(__file__)
        pattern = re.compile(_FLAVOUR_FILE)
        # Extension modules only: the type stubs (lua54.pyi, ...) are next to them.
        files = [f for f in os.listdir(package_dir) if f.endswith(tuple(EXTENSION_SUFFIXES))]
        found = [match.groups() for match in map(pattern.match, files) if match]
        candidates = [groups for groups in found if groups[0] not in _NOT_DEFAULT]
        if not candidates and found:
            raise RuntimeError(
                "Failed to import Lupa binary module: only lupa.luau was built, which is never "
                "the default; import it by name (from lupa import luau)."
            )
        if not candidates:
            raise RuntimeError("Failed to import Lupa binary module.")
        found = candidates
        name = max(found, key=_flavour_preference)[0]
        _default_module = __import__(name, globals(), None, ["*"], 1)
    return _default_module


def to_python(value, *, max_depth=None, empty_table=None, strict=False):
    """Converts a Lua value into plain Python data, recursively, with the flavour module the
    value belongs to (``lupa.lua54.to_python`` ...): a table with the keys 1..n becomes a
    list, any other table a dict.  See the flavour modules' ``to_python`` for the options.
    A value that is not a Lua value is returned as it is."""
    import sys

    flavour = sys.modules.get(type(value).__module__)
    if flavour is None or not _is_flavour_name(flavour.__name__.rpartition(".")[2]):
        flavour = _import_default_module()
    return flavour.to_python(value, max_depth=max_depth, empty_table=empty_table, strict=strict)


def __getattr__(name):
    """Flavour modules (``lupa.lua54``) and the names of the default flavour module."""
    if name.startswith("lua") and _is_flavour_name(name):
        import importlib

        try:
            module = importlib.import_module("." + name, __name__)
        except ImportError:
            raise AttributeError(name) from None
        globals()[name] = module
        return module
    value = getattr(_import_default_module(), name)
    globals()[name] = value
    return value
