"""Module-level API: the ``lupa`` package and the per-flavour modules.

Tests about the *package* (default module choice, lazy forwarding, ``allow_lua_module_loading``)
do not depend on the flavour under test and therefore do not take the ``lupa`` fixture:
running them once per flavour would check exactly the same thing six times.  Those that need
a pristine ``lupa`` package (nothing imported or cached yet) run in a fresh interpreter.
"""

import faulthandler
import os
import pickle
import re
import shutil
import subprocess
import sys
import threading

import lupa as lupa_package
import pytest
from helpers import fresh_python

EXPECTED_ALL = [
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


def _flavour_files():
    """(name, letters, digits) of every binary flavour module file in the package directory."""
    package_dir = os.path.dirname(lupa_package.__file__)
    found = set()
    for filename in os.listdir(package_dir):
        match = re.match(r"^((lua[a-z]*)([0-9]*))\.(?:.+\.)?(?:so|pyd|dylib)$", filename)
        if match:
            found.add(match.groups())
    return sorted(found)


FLAVOUR_NAMES = [name for name, _, _ in _flavour_files()]


def _expected_default_name():
    """Plain ``lua`` beats ``luajit``; then the highest version digits win ("55" -> (5, 5))."""
    candidates = _flavour_files()
    best = max(
        candidates,
        key=lambda c: (c[1] == "lua", tuple(int(d) for d in (c[2] or "0"))),
    )
    return best[0]


DEFAULT_NAME = _expected_default_name()


def _run_fresh_python(code):
    """Run *code* in a fresh interpreter that imports the same ``lupa``; return its stdout."""
    result = fresh_python(code)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _short_name(module):
    return module.__name__.rpartition(".")[2]


def _expected_lua_version(module):
    name = _short_name(module)
    if name.startswith("luajit") or name == "luau":
        return (5, 1)
    digits = name[len("lua") :]
    if not digits:
        # A module built against an installed Lua (``lupa.lua``): ask Lua itself.
        version = module.LuaRuntime().eval("_VERSION")  # e.g. "Lua 5.4"
        major, minor = version.split()[1].split(".")
        return (int(major), int(minor))
    return (int(digits[0]), int(digits[1:]))


def _other_flavour(module):
    import importlib

    for name in FLAVOUR_NAMES:
        if name != _short_name(module):
            return importlib.import_module("lupa." + name)
    pytest.skip("needs a second flavour module to compare with")


# ---------------------------------------------------------------------------------------------
# The lupa package: default module
# ---------------------------------------------------------------------------------------------


class TestDefaultModule:
    def test_package_attributes_come_from_default_module(self):
        default = sys.modules.get("lupa." + DEFAULT_NAME) or getattr(lupa_package, DEFAULT_NAME)
        assert lupa_package.LuaRuntime is default.LuaRuntime
        assert lupa_package.LuaError is default.LuaError
        assert lupa_package.LuaSyntaxError is default.LuaSyntaxError
        assert lupa_package.LuaMemoryError is default.LuaMemoryError
        assert lupa_package.lua_type is default.lua_type
        assert lupa_package.LUA_VERSION == default.LUA_VERSION

    def test_import_lupa_does_not_import_any_flavour_module(self):
        """The flavour is only imported on first attribute access (needed for dlopen flags)."""
        out = _run_fresh_python(
            """
            import sys
            import lupa
            print(sorted(m for m in sys.modules if m.startswith("lupa.lua")))
            print("LuaRuntime" in vars(lupa))
            """
        )
        assert out.split("\n")[:2] == ["[]", "False"]

    def test_first_attribute_access_imports_only_default_and_caches(self):
        out = _run_fresh_python(
            f"""
            import sys
            import lupa
            runtime_class = lupa.LuaRuntime
            default = sys.modules["lupa.{DEFAULT_NAME}"]
            print(sorted(m for m in sys.modules if m.startswith("lupa.lua")))
            print(vars(lupa)["LuaRuntime"] is runtime_class is default.LuaRuntime)
            print(vars(lupa)["{DEFAULT_NAME}"] is default)
            print("LuaError" in vars(lupa))
            lupa.LuaError
            print(vars(lupa)["LuaError"] is default.LuaError)
            """
        )
        assert out.split("\n")[:5] == [
            str(["lupa." + DEFAULT_NAME]),
            "True",
            "True",
            "False",
            "True",
        ]

    def test_only_extension_modules_count_as_flavours(self, tmp_path):
        """The type stubs of all flavours (lua55.pyi, ...) are in the package directory even
        when fewer flavours are built: they, and other files, do not make a default module."""
        from importlib.machinery import EXTENSION_SUFFIXES

        package_dir = os.path.dirname(lupa_package.__file__)
        module_file = next(
            f
            for f in os.listdir(package_dir)
            if f.startswith(DEFAULT_NAME + ".") and f.endswith(tuple(EXTENSION_SUFFIXES))
        )
        package = tmp_path / "lupa"
        package.mkdir()
        for name in ("__init__.py", "version.py"):
            shutil.copyfile(os.path.join(package_dir, name), package / name)
        os.symlink(os.path.join(package_dir, module_file), package / module_file)
        for name in ("lua99.pyi", "luajit99.pyi", "lua99.txt", "lua99.py"):
            (package / name).write_text("")
        result = subprocess.run(
            [sys.executable, "-c", "import lupa; print(lupa.LuaRuntime.__module__)"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "lupa." + DEFAULT_NAME

    @pytest.mark.parametrize(
        "built, default",
        [
            (["luajit20", "luajit21"], "luajit21"),
            (["luajit20", "lua51"], "lua51"),
            (["luajit20", "luajit21", "lua"], "lua"),
            (["luajit20"], "luajit20"),
        ],
    )
    def test_default_module_order_with_luajit20(self, tmp_path, built, default):
        """lupa 2.8's order: plain Lua first, then the highest version, so LuaJIT 2.1 before
        2.0.  The package imports the module files it finds (empty files here, whose import
        fails naming the file it chose)."""
        from importlib.machinery import EXTENSION_SUFFIXES

        package_dir = os.path.dirname(lupa_package.__file__)
        package = tmp_path / "lupa"
        package.mkdir()
        for name in ("__init__.py", "version.py"):
            shutil.copyfile(os.path.join(package_dir, name), package / name)
        suffix = EXTENSION_SUFFIXES[0]
        for name in built:
            (package / (name + suffix)).write_bytes(b"")
        result = subprocess.run(
            [sys.executable, "-c", "import lupa; lupa.LuaRuntime"],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(tmp_path)},
            timeout=120,
        )
        assert result.returncode != 0
        assert "ImportError" in result.stderr
        chosen = re.findall(r"lupa[/\\](lua[a-z]*[0-9]*)\.", result.stderr)
        assert chosen and set(chosen) == {default}, result.stderr

    def test_unknown_attribute_error_names_default_module(self):
        with pytest.raises(AttributeError) as exc:
            _ = lupa_package.no_such_attribute_foo
        assert str(exc.value) == (
            f"module 'lupa.{DEFAULT_NAME}' has no attribute 'no_such_attribute_foo'"
        )
        assert not hasattr(lupa_package, "no_such_attribute_foo")

    @pytest.mark.parametrize("name", ["lua99", "luajit99", "luafoo"])
    def test_missing_flavour_submodule_raises_attribute_error_with_name(self, name):
        with pytest.raises(AttributeError) as exc:
            getattr(lupa_package, name)
        assert exc.value.args == (name,)
        assert not hasattr(lupa_package, name)

    def test_flavour_submodules_are_reachable_as_package_attributes(self):
        out = _run_fresh_python(
            f"""
            import sys
            import lupa
            for name in {FLAVOUR_NAMES!r}:
                module = getattr(lupa, name)
                print(name, module is sys.modules["lupa." + name], module.__name__)
            """
        )
        assert out.split("\n")[:-1] == [f"{n} True lupa.{n}" for n in FLAVOUR_NAMES]

    def test_from_lupa_import_flavour(self):
        out = _run_fresh_python(
            f"""
            import sys
            from lupa import {FLAVOUR_NAMES[0]} as mod
            print(mod is sys.modules["lupa.{FLAVOUR_NAMES[0]}"])
            """
        )
        assert out.strip() == "True"

    def test_star_import_exports_default_module_all(self):
        namespace = {}
        exec("from lupa import *", namespace)
        namespace.pop("__builtins__", None)
        default = getattr(lupa_package, DEFAULT_NAME)
        assert sorted(namespace) == sorted(EXPECTED_ALL)
        for name in EXPECTED_ALL:
            assert namespace[name] is getattr(default, name)

    def test_star_import_in_fresh_interpreter(self):
        out = _run_fresh_python(
            """
            from lupa import *
            print(LuaRuntime().eval("1 + 1"), LuaRuntime.__module__)
            """
        )
        assert out.strip() == f"2 lupa.{DEFAULT_NAME}"

    def test_default_runtime_is_usable(self):
        assert lupa_package.LuaRuntime().eval("1 + 1") == 2


class TestVersion:
    def test_version_is_nonempty_str(self):
        assert isinstance(lupa_package.__version__, str)
        assert lupa_package.__version__

    def test_version_module(self):
        import lupa.version

        assert lupa_package.version is lupa.version
        assert lupa.version.__version__ == lupa_package.__version__

    def test_version_does_not_import_flavour(self):
        out = _run_fresh_python(
            """
            import sys
            import lupa
            lupa.__version__
            print(sorted(m for m in sys.modules if m.startswith("lupa.lua")))
            """
        )
        assert out.strip() == "[]"


# ---------------------------------------------------------------------------------------------
# allow_lua_module_loading()
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "RTLD_GLOBAL"), reason="platform without dlopen flags")
class TestAllowLuaModuleLoading:
    def test_sets_rtld_now_global_inside_and_restores_afterwards(self):
        old = sys.getdlopenflags()
        with lupa_package.allow_lua_module_loading() as value:
            inside = sys.getdlopenflags()
        assert value is None
        assert inside == os.RTLD_NOW | os.RTLD_GLOBAL
        assert sys.getdlopenflags() == old

    def test_restores_non_default_previous_flags(self):
        old = sys.getdlopenflags()
        try:
            sys.setdlopenflags(os.RTLD_LAZY | os.RTLD_NODELETE)
            with lupa_package.allow_lua_module_loading():
                assert sys.getdlopenflags() == os.RTLD_NOW | os.RTLD_GLOBAL
            assert sys.getdlopenflags() == os.RTLD_LAZY | os.RTLD_NODELETE
        finally:
            sys.setdlopenflags(old)

    def test_restores_flags_when_block_raises(self):
        old = sys.getdlopenflags()
        with pytest.raises(KeyError):
            with lupa_package.allow_lua_module_loading():
                raise KeyError("boom")
        assert sys.getdlopenflags() == old

    def test_is_defined_on_package_without_importing_a_flavour(self):
        out = _run_fresh_python(
            """
            import sys
            import lupa
            print("allow_lua_module_loading" in vars(lupa))
            with lupa.allow_lua_module_loading():
                pass
            print(sorted(m for m in sys.modules if m.startswith("lupa.lua")))
            """
        )
        assert out.split("\n")[:2] == ["True", "[]"]

    def test_wrapped_import_makes_lua_symbols_global(self, lupa):
        """Binary Lua modules loaded later need the Lua C API symbols to be global."""
        out = _run_fresh_python(
            f"""
            import ctypes
            import lupa
            with lupa.allow_lua_module_loading():
                import {lupa.__name__}
            process = ctypes.CDLL(None)
            print(hasattr(process, "lua_gettop"), hasattr(process, "luaL_newstate"))
            """
        )
        assert out.strip() == "True True"

    def test_plain_import_keeps_lua_symbols_local(self, lupa):
        out = _run_fresh_python(
            f"""
            import ctypes
            import {lupa.__name__}
            print(hasattr(ctypes.CDLL(None), "lua_gettop"))
            """
        )
        assert out.strip() == "False"


# ---------------------------------------------------------------------------------------------
# Per-flavour module contents
# ---------------------------------------------------------------------------------------------


class TestFlavourModule:
    def test_all(self, lupa):
        assert lupa.__all__ == EXPECTED_ALL

    def test_all_names_exist(self, lupa):
        for name in lupa.__all__:
            assert hasattr(lupa, name), name

    def test_fastrlock_is_public_but_not_in_all(self, lupa):
        assert "FastRLock" in dir(lupa)
        assert "FastRLock" not in lupa.__all__

    def test_module_name(self, lupa):
        assert lupa.__name__.startswith("lupa.lua")
        assert lupa.LuaRuntime.__module__ == lupa.__name__
        assert lupa.LuaRuntime.__name__ == "LuaRuntime"

    def test_lua_version_constant(self, lupa):
        assert type(lupa.LUA_VERSION) is tuple
        assert lupa.LUA_VERSION == _expected_lua_version(lupa)
        assert all(type(part) is int for part in lupa.LUA_VERSION)

    def test_integer_limits_are_int64_on_every_version(self, lupa):
        assert lupa.LUA_MAXINTEGER == 2**63 - 1
        assert lupa.LUA_MININTEGER == -(2**63)
        assert type(lupa.LUA_MAXINTEGER) is int
        assert type(lupa.LUA_MININTEGER) is int

    def test_classes_are_separate_per_flavour(self, lupa):
        other = _other_flavour(lupa)
        assert lupa.LuaError is not other.LuaError
        assert not issubclass(lupa.LuaError, other.LuaError)
        assert not issubclass(other.LuaError, lupa.LuaError)
        assert lupa.LuaRuntime is not other.LuaRuntime


class TestExceptions:
    def test_lua_error_mro(self, lupa):
        assert lupa.LuaError.__mro__ == (lupa.LuaError, Exception, BaseException, object)

    def test_lua_syntax_error_bases(self, lupa):
        assert lupa.LuaSyntaxError.__bases__ == (lupa.LuaError,)
        assert issubclass(lupa.LuaSyntaxError, Exception)

    def test_lua_memory_error_bases(self, lupa):
        assert lupa.LuaMemoryError.__bases__ == (lupa.LuaError, MemoryError)
        assert issubclass(lupa.LuaMemoryError, MemoryError)

    def test_memory_error_caught_as_memory_error(self, lupa):
        with pytest.raises(MemoryError):
            raise lupa.LuaMemoryError("x")

    @pytest.mark.parametrize(
        "name, doc",
        [
            ("LuaError", "Base class for errors in the Lua runtime."),
            ("LuaSyntaxError", "Syntax error in Lua code."),
            ("LuaMemoryError", "Memory error in Lua code."),
        ],
    )
    def test_docstrings(self, lupa, name, doc):
        assert getattr(lupa, name).__doc__.strip() == doc

    @pytest.mark.parametrize("name", ["LuaError", "LuaSyntaxError", "LuaMemoryError"])
    def test_module_and_name(self, lupa, name):
        cls = getattr(lupa, name)
        assert cls.__module__ == lupa.__name__
        assert cls.__name__ == name

    @pytest.mark.parametrize("name", ["LuaError", "LuaSyntaxError", "LuaMemoryError"])
    def test_plain_exception_args(self, lupa, name):
        cls = getattr(lupa, name)
        assert cls("msg").args == ("msg",)
        assert cls().args == ()
        assert str(cls("msg")) == "msg"

    @pytest.mark.parametrize("name", ["LuaError", "LuaSyntaxError", "LuaMemoryError"])
    def test_exceptions_pickle(self, lupa, name):
        cls = getattr(lupa, name)
        copy = pickle.loads(pickle.dumps(cls("msg")))
        assert type(copy) is cls
        assert copy.args == ("msg",)


# ---------------------------------------------------------------------------------------------
# lua_type()
# ---------------------------------------------------------------------------------------------


class TestLuaType:
    def test_table(self, lupa, lua):
        assert lupa.lua_type(lua.eval("{}")) == "table"
        assert lupa.lua_type(lua.table()) == "table"
        assert lupa.lua_type(lua.globals()) == "table"

    def test_lua_function(self, lupa, lua):
        assert lupa.lua_type(lua.eval("function() end")) == "function"

    def test_c_function(self, lupa, lua):
        assert lupa.lua_type(lua.eval("print")) == "function"

    def test_coroutine_wrap_is_function(self, lupa, lua):
        assert lupa.lua_type(lua.eval("coroutine.wrap(function() end)")) == "function"

    def test_unstarted_coroutine_arrives_as_function(self, lupa, lua):
        assert lupa.lua_type(lua.eval("coroutine.create(function() end)")) == "function"

    def test_coroutine_from_python_is_thread(self, lupa, lua):
        assert lupa.lua_type(lua.eval("function() end").coroutine()) == "thread"

    def test_started_coroutine_is_thread(self, lupa, lua):
        thread = lua.execute(
            "local c = coroutine.create(function() coroutine.yield(1) end) "
            "coroutine.resume(c) return c"
        )
        assert lupa.lua_type(thread) == "thread"

    def test_full_userdata(self, lupa, lua):
        assert lupa.lua_type(lua.eval("io.stdout")) == "userdata"

    def test_light_userdata(self, lupa, lua):
        if not lua.eval("debug.upvalueid ~= nil"):
            pytest.skip("no debug.upvalueid to make a light userdata (Lua 5.1)")
        light = lua.execute("local t = {} return debug.upvalueid(function() return t end, 1)")
        assert lupa.lua_type(light) == "userdata"

    def test_cdata(self, lupa, lua):
        if not lupa.__name__.endswith(("luajit20", "luajit21")):
            pytest.skip("FFI cdata only exists in LuaJIT")
        assert lupa.lua_type(lua.eval('require("ffi").new("int[2]")')) == "cdata"

    @pytest.mark.parametrize("value", [None, 1, 1.5, "s", b"b", True, [], {}, object()])
    def test_python_values_give_none(self, lupa, value):
        assert lupa.lua_type(value) is None

    def test_python_object_back_from_lua_gives_none(self, lupa, lua):
        builtins = lua.eval("python.builtins")
        assert lupa.lua_type(builtins) is None
        obj = object()
        assert lupa.lua_type(lua.eval("function(x) return x end")(obj)) is None

    def test_lua_scalars_give_none(self, lupa, lua):
        assert lupa.lua_type(lua.eval("'s'")) is None
        assert lupa.lua_type(lua.eval("1")) is None
        assert lupa.lua_type(lua.eval("nil")) is None

    def test_container_of_wrappers_gives_none(self, lupa, lua):
        assert lupa.lua_type((lua.table(),)) is None

    def test_wrapper_of_other_runtime_same_module(self, lupa):
        other_runtime = lupa.LuaRuntime()
        assert lupa.lua_type(other_runtime.table()) == "table"

    def test_wrapper_of_other_flavour_gives_none(self, lupa):
        other = _other_flavour(lupa)
        runtime = other.LuaRuntime()
        assert lupa.lua_type(runtime.table()) is None
        assert other.lua_type(runtime.table()) == "table"

    def test_requires_exactly_one_argument(self, lupa):
        with pytest.raises(TypeError):
            lupa.lua_type()
        with pytest.raises(TypeError):
            lupa.lua_type(1, 2)


# ---------------------------------------------------------------------------------------------
# as_attrgetter() / as_itemgetter(), Python side
# ---------------------------------------------------------------------------------------------


class TestProtocolWrappers:
    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_type_name_and_module(self, lupa, func):
        wrapper = getattr(lupa, func)([])
        assert type(wrapper).__name__ == "_PyProtocolWrapper"
        assert type(wrapper).__module__ == lupa.__name__

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_cannot_be_instantiated(self, lupa, func):
        wrapper_type = type(getattr(lupa, func)([]))
        with pytest.raises(TypeError, match=re.escape("Type cannot be instantiated from Python")):
            wrapper_type()

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_default_object_repr(self, lupa, func):
        wrapper = getattr(lupa, func)({})
        assert re.match(
            rf"^<{re.escape(lupa.__name__)}\._PyProtocolWrapper object at 0x[0-9a-f]+>$",
            repr(wrapper),
        )

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_no_python_side_item_protocol(self, lupa, func):
        wrapper = getattr(lupa, func)([1])
        expected = f"'{lupa.__name__}._PyProtocolWrapper' object is not subscriptable"
        with pytest.raises(TypeError, match=re.escape(expected)):
            wrapper[0]

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_new_wrapper_per_call(self, lupa, func):
        obj = {}
        make = getattr(lupa, func)
        assert make(obj) is not make(obj)

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_requires_exactly_one_argument(self, lupa, func):
        with pytest.raises(TypeError):
            getattr(lupa, func)()
        with pytest.raises(TypeError):
            getattr(lupa, func)(1, 2)

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_lua_type_is_none(self, lupa, func):
        assert lupa.lua_type(getattr(lupa, func)({})) is None

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_original_object_comes_back_from_lua(self, lupa, lua, func):
        obj = {"a": 1}
        identity = lua.eval("function(x) return x end")
        assert identity(getattr(lupa, func)(obj)) is obj

    @pytest.mark.parametrize("func", ["as_attrgetter", "as_itemgetter"])
    def test_is_userdata_in_lua(self, lupa, lua, func):
        assert lua.eval("type(...)", getattr(lupa, func)({})) == "userdata"

    def test_attrgetter_indexes_with_getattr_in_lua(self, lupa, lua):
        obj = {"get": "item"}
        assert lua.eval("function(o) return o.get end")(lupa.as_attrgetter(obj)) == obj.get

    def test_itemgetter_indexes_with_getitem_in_lua(self, lupa, lua):
        class Obj:
            a = "attribute"

            def __getitem__(self, key):
                return "item " + key

        assert lua.eval("function(o) return o.a end")(lupa.as_itemgetter(Obj())) == "item a"
        assert lua.eval("function(o) return o.a end")(lupa.as_attrgetter(Obj())) == "attribute"

    def test_itemgetter_makes_list_zero_based_item_access(self, lupa, lua):
        assert lua.eval("function(o) return o[0] end")(lupa.as_itemgetter([5, 6])) == 5


# ---------------------------------------------------------------------------------------------
# FastRLock
# ---------------------------------------------------------------------------------------------


def _in_thread(func):
    """Run *func* in another thread (with a deadlock watchdog) and return its result."""
    result = []
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        thread = threading.Thread(target=lambda: result.append(func()))
        thread.start()
        thread.join()
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert len(result) == 1
    return result[0]


class TestFastRLock:
    def test_acquire_and_release(self, lupa):
        lock = lupa.FastRLock()
        assert not lock._is_owned()
        assert lock.acquire() is True
        assert lock._is_owned()
        assert lock.release() is None
        assert not lock._is_owned()

    def test_reentrant(self, lupa):
        lock = lupa.FastRLock()
        assert lock.acquire()
        assert lock.acquire()
        assert lock.acquire(blocking=False)
        lock.release()
        lock.release()
        assert lock._is_owned()
        lock.release()
        assert not lock._is_owned()

    def test_acquire_positional_blocking_flag(self, lupa):
        lock = lupa.FastRLock()
        assert lock.acquire(True) is True
        assert lock.acquire(False) is True
        lock.release()
        lock.release()
        assert not lock._is_owned()

    def test_release_unacquired_raises(self, lupa):
        lock = lupa.FastRLock()
        with pytest.raises(RuntimeError, match=re.escape("cannot release un-acquired lock")):
            lock.release()

    def test_release_too_often_raises(self, lupa):
        lock = lupa.FastRLock()
        lock.acquire()
        lock.release()
        with pytest.raises(RuntimeError, match=re.escape("cannot release un-acquired lock")):
            lock.release()

    def test_context_manager(self, lupa):
        lock = lupa.FastRLock()
        with lock as value:
            assert lock._is_owned()
            with lock:
                assert lock._is_owned()
            assert lock._is_owned()
        assert value is True
        assert not lock._is_owned()

    def test_context_manager_releases_on_exception(self, lupa):
        lock = lupa.FastRLock()
        with pytest.raises(ValueError):
            with lock:
                raise ValueError("x")
        assert not lock._is_owned()

    def test_not_owned_by_other_thread(self, lupa):
        lock = lupa.FastRLock()
        lock.acquire()
        try:
            assert _in_thread(lock._is_owned) is False
        finally:
            lock.release()

    def test_nonblocking_acquire_from_other_thread_fails_while_held(self, lupa):
        lock = lupa.FastRLock()
        lock.acquire()
        try:
            assert _in_thread(lambda: lock.acquire(blocking=False)) is False
            assert _in_thread(lambda: lock.acquire(False)) is False
        finally:
            lock.release()

    def test_nonblocking_acquire_from_other_thread_succeeds_when_free(self, lupa):
        lock = lupa.FastRLock()

        def acquire_and_release():
            acquired = lock.acquire(blocking=False)
            if acquired:
                lock.release()
            return acquired

        assert _in_thread(acquire_and_release) is True
        assert lock.acquire(blocking=False) is True
        lock.release()

    def test_release_from_other_thread_raises(self, lupa):
        lock = lupa.FastRLock()
        lock.acquire()
        try:

            def release():
                try:
                    lock.release()
                except RuntimeError as exc:
                    return str(exc)
                return "released"

            assert _in_thread(release) == "cannot release un-acquired lock"
            assert lock._is_owned()
        finally:
            lock.release()

    def test_blocking_acquire_waits_for_release(self, lupa):
        lock = lupa.FastRLock()
        events = []
        started = threading.Event()

        def waiter():
            started.set()
            assert lock.acquire()
            events.append("acquired")
            lock.release()

        lock.acquire()
        faulthandler.dump_traceback_later(60, exit=True)
        try:
            thread = threading.Thread(target=waiter)
            thread.start()
            started.wait()
            thread.join(0.05)
            events.append("releasing")
            lock.release()
            thread.join()
        finally:
            faulthandler.cancel_dump_traceback_later()
        assert events == ["releasing", "acquired"]


@pytest.mark.improvement
def test_free_threaded_python_without_gil_is_refused(lupa):
    """On a free-threaded CPython run with the GIL disabled (PYTHON_GIL=0), importing a flavour
    module raises ImportError: lupa-rs relies on the GIL.  (Faked here: this interpreter has
    a GIL.)"""
    result = fresh_python(
        f"""
        import sys

        class Flags:
            gil = 0

            def __getattr__(self, name):
                return getattr(real_flags, name)

        real_flags = sys.flags
        sys.flags = Flags()
        sys._is_gil_enabled = lambda: False
        try:
            import {lupa.__name__}
        except ImportError as exc:
            print("ImportError:", exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "ImportError:" in result.stdout
    assert "GIL disabled" in result.stdout


@pytest.mark.improvement
def test_free_threaded_python_that_enables_the_gil_imports(lupa):
    """Without PYTHON_GIL=0 (`sys.flags.gil` is None), CPython turns the GIL on when it imports
    a module that needs it: the import succeeds."""
    result = fresh_python(
        f"""
        import sys

        sys._is_gil_enabled = lambda: False
        import {lupa.__name__} as flavour
        print(flavour.LuaRuntime().eval("1 + 1"))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
