"""Lua binary modules (``require`` of a C library) and ``lupa.allow_lua_module_loading()``.

Every flavour module links its own Lua statically and exports the Lua C API (``lua_*``,
``luaL_*``, ``luaopen_*``, ``luaJIT_*``).  Imported inside ``allow_lua_module_loading()``
(``RTLD_NOW | RTLD_GLOBAL``), those symbols become visible to shared libraries loaded later,
so a Lua binary module that is *not* linked against Lua can be ``require``d.

The tests compile ``tests/cmodule/lupa_test_cmod.c`` with the system C compiler against the
headers of exactly the Lua that the flavour was built from: the sources vendored in the Rust
crates ``lua-src``/``luajit-src`` (located with ``cargo metadata``), or, for a module built
against an installed Lua (``lupa.lua``), the headers that ``pkg-config`` reports.

The dlopen flags only matter for the *first* import of a flavour module in a process, so every
check runs in a fresh interpreter.
"""

import functools
import glob
import importlib
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
from conftest import FLAVOURS

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CMOD_SOURCE = os.path.join(REPO_ROOT, "tests", "cmodule", "lupa_test_cmod.c")
CMOD_NAME = "lupa_test_cmod"
SUBPROCESS_TIMEOUT = 60

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") and sys.platform != "darwin",
    reason="Lua binary modules need dlopen() symbol sharing (Linux/macOS only); "
    "on Windows they link against a Lua DLL, which a static build cannot provide",
)


# ---------------------------------------------------------------------------------------------
# Running a fresh interpreter
# ---------------------------------------------------------------------------------------------


def _describe_exit(returncode):
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit code {returncode}"


def run_python(script, *args, cwd):
    """Run `script` in a fresh interpreter; return the JSON value it printed after RESULT:."""
    command = [sys.executable, "-X", "faulthandler", "-c", script, *map(str, args)]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, cwd=cwd
        )
    except subprocess.TimeoutExpired as exc:
        # TimeoutExpired carries bytes even with text=True.
        stdout, stderr = (
            out.decode(errors="replace") if isinstance(out, bytes) else out or ""
            for out in (exc.stdout, exc.stderr)
        )
        pytest.fail(
            f"subprocess timed out after {SUBPROCESS_TIMEOUT}s, arguments {list(args)}\n"
            f"--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}"
        )
    result_lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT:")]
    if proc.returncode != 0 or len(result_lines) != 1:
        pytest.fail(
            f"subprocess failed ({_describe_exit(proc.returncode)}), arguments {list(args)}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
        )
    return json.loads(result_lines[0][len("RESULT:") :])


# ---------------------------------------------------------------------------------------------
# Compiling the test module
# ---------------------------------------------------------------------------------------------


def _c_compiler():
    compiler = shlex.split(os.environ.get("CC", "") or "cc")
    if not compiler or shutil.which(compiler[0]) is None:
        pytest.skip(f"no C compiler found ({' '.join(compiler) or 'cc'}): cannot build a module")
    return compiler


@functools.cache
def _cargo_packages():
    """{name: manifest directory} of the resolved dependencies with the vendored Lua sources.

    Returns a string (the reason) instead when cargo cannot tell.
    """
    cargo = shutil.which("cargo")
    if cargo is None:
        return "cargo not found: cannot locate the vendored Lua headers"
    manifest = os.path.join(REPO_ROOT, "Cargo.toml")
    if not os.path.exists(manifest):
        return f"{manifest} not found: cannot locate the vendored Lua headers"
    # `vendored` pulls in lua-src/luajit-src (optional build dependencies of mlua-sys).
    command = [
        cargo, "metadata", "--format-version", "1", "--offline",
        "--features", "vendored", "--manifest-path", manifest,
    ]  # fmt: skip
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, cwd=REPO_ROOT
        )
    except subprocess.TimeoutExpired:
        return f"`{shlex.join(command)}` timed out"
    if proc.returncode != 0:
        return f"`{shlex.join(command)}` failed:\n{proc.stderr.strip()}"
    packages = {}
    for package in json.loads(proc.stdout)["packages"]:
        if package["name"] in ("lua-src", "luajit-src"):
            packages[package["name"]] = os.path.dirname(package["manifest_path"])
    return packages


def _vendored_include_dir(flavour):
    packages = _cargo_packages()
    if isinstance(packages, str):
        pytest.skip(packages)
    if flavour.startswith("luajit"):
        # luajit-src ships LuaJIT 2.1; its C API is the Lua 5.1 API, the same as LuaJIT 2.0's.
        crate, include_dirs = "luajit-src", ["luajit2/src"]
    else:
        match = re.fullmatch(r"lua(\d)(\d)", flavour)
        if not match:
            pytest.skip(f"do not know which vendored headers belong to lupa.{flavour}")
        crate = "lua-src"
        include_dirs = [f"lua-{match.group(1)}.{match.group(2)}.*"]
    if crate not in packages:
        pytest.skip(f"`cargo metadata` lists no {crate} package (not a vendored build?)")
    found = sorted(glob.glob(os.path.join(packages[crate], include_dirs[0])))
    found = [path for path in found if os.path.exists(os.path.join(path, "lua.h"))]
    if not found:
        pytest.skip(f"no {include_dirs[0]}/lua.h in {packages[crate]}")
    return found[-1]


def _pkg_config_cflags(flavour):
    """Compiler flags for the installed Lua that `lupa.lua` was built against."""
    pkg_config = shutil.which("pkg-config")
    if pkg_config is None:
        pytest.skip(f"lupa.{flavour} uses an installed Lua and pkg-config is not available")
    module = importlib.import_module("lupa." + flavour)
    major, minor = module.LUA_VERSION[:2]
    if module.LuaRuntime().lua_implementation.startswith("LuaJIT"):
        candidates = ["luajit"]
    else:
        candidates = [f"lua{major}.{minor}", f"lua-{major}.{minor}", f"lua{major}{minor}", "lua"]
    for package in candidates:
        proc = subprocess.run([pkg_config, "--modversion", package], capture_output=True, text=True)
        if proc.returncode != 0:
            continue
        if package == "lua" and not proc.stdout.strip().startswith(f"{major}.{minor}"):
            continue
        cflags = subprocess.run(
            [pkg_config, "--cflags", package], capture_output=True, text=True, check=True
        ).stdout
        return shlex.split(cflags)
    pytest.skip(
        f"lupa.{flavour} uses an installed Lua {major}.{minor}; "
        f"pkg-config knows none of {candidates}"
    )


def _expected_version_num(flavour):
    if flavour.startswith("luajit"):
        return 501
    match = re.fullmatch(r"lua(\d)(\d)", flavour)
    if match:
        return int(match.group(1)) * 100 + int(match.group(2))
    major, minor = importlib.import_module("lupa." + flavour).LUA_VERSION[:2]
    return major * 100 + minor


@pytest.fixture(scope="session")
def build_cmod(tmp_path_factory):
    """build_cmod(flavour) -> directory containing lupa_test_cmod.so for that flavour."""
    built = {}

    def build(flavour):
        if flavour not in built:
            compiler = _c_compiler()
            if flavour == "lua":
                cflags = _pkg_config_cflags(flavour)
            else:
                cflags = ["-I", _vendored_include_dir(flavour)]
            if sys.platform == "darwin":
                link_flags = ["-bundle", "-undefined", "dynamic_lookup"]
            else:
                link_flags = ["-shared"]
            out_dir = tmp_path_factory.mktemp(f"cmod-{flavour}")
            # Deliberately no -llua: the Lua API must come from the lupa flavour module.
            command = [
                *compiler, "-O1", "-fPIC", "-Wall", *cflags, *link_flags,
                "-o", str(out_dir / f"{CMOD_NAME}.so"), CMOD_SOURCE,
            ]  # fmt: skip
            proc = subprocess.run(
                command, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT
            )
            if proc.returncode != 0:
                pytest.fail(
                    f"compiling the test module failed: {shlex.join(command)}\n"
                    f"{proc.stdout}{proc.stderr}"
                )
            built[flavour] = out_dir
        return built[flavour]

    return build


# ---------------------------------------------------------------------------------------------
# 1. require() of a binary module in each flavour
# ---------------------------------------------------------------------------------------------

REQUIRE_SCRIPT = textwrap.dedent(
    """
    import importlib, json, sys
    import lupa

    flavour, cmod_dir, mode = sys.argv[1:4]
    if mode == "global":
        with lupa.allow_lua_module_loading():
            module = importlib.import_module("lupa." + flavour)
    else:
        module = importlib.import_module("lupa." + flavour)
    lua = module.LuaRuntime()
    lua.globals().package.cpath = cmod_dir + "/?.so"
    result = {}
    try:
        # Parenthesised: Lua 5.4+ require() also returns the loader data (the file name).
        cmod = lua.eval("(require('lupa_test_cmod'))")
    except module.LuaError as exc:
        result["require_error"] = str(exc)
        result["loaded"] = lua.eval("package.loaded.lupa_test_cmod ~= nil")
        result["still_works"] = lua.eval("1 + 1")
    else:
        is_loaded = lua.eval("function(t) return rawequal(t, package.loaded.lupa_test_cmod) end")
        result["same_table"] = is_loaded(cmod)
        result["version_num"] = cmod.version_num
        result["version"] = cmod.version
        result["runtime_version"] = lua.eval("_VERSION")
        result["add"] = cmod.add(2, 3)
        result["add_big"] = cmod.add(2**40, -1)
        result["half"] = cmod.half(5)
        result["greet"] = cmod.greet("lupa")
        result["from_lua"] = lua.eval("require('lupa_test_cmod').add(40, 2)")
        try:
            cmod.add(1, "x")
        except module.LuaError as exc:
            result["arg_error"] = str(exc)
        lua.execute("collectgarbage()")
    print("RESULT:" + json.dumps(result))
    """
)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_require_binary_module(flavour, build_cmod, tmp_path):
    cmod_dir = build_cmod(flavour)
    result = run_python(REQUIRE_SCRIPT, flavour, cmod_dir, "global", cwd=tmp_path)
    assert "require_error" not in result, result["require_error"]
    assert result["same_table"] is True
    # The module was compiled against the headers of the Lua that runs it.
    assert result["version_num"] == _expected_version_num(flavour)
    assert result["version"] == result["runtime_version"]
    assert result["add"] == 5
    assert result["add_big"] == 2**40 - 1
    assert result["half"] == 2.5
    assert result["greet"] == "hello lupa"
    assert result["from_lua"] == 42
    # luaL_argerror() raised inside the C module arrives as a LuaError.
    assert "bad argument #2" in result["arg_error"]
    assert "number expected" in result["arg_error"]


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="what an unresolved symbol does at load time is only checked on Linux (ELF)",
)
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_require_binary_module_without_global_symbols(flavour, build_cmod, tmp_path):
    """Imported with the default (RTLD_LOCAL) flags, the Lua API stays private to the flavour
    module: Lua's loader dlopen()s the module with RTLD_NOW, which fails on the first undefined
    symbol, and require() raises a LuaError instead of crashing."""
    cmod_dir = build_cmod(flavour)
    result = run_python(REQUIRE_SCRIPT, flavour, cmod_dir, "local", cwd=tmp_path)
    assert "require_error" in result, f"require() unexpectedly succeeded: {result}"
    message = result["require_error"]
    assert "undefined symbol" in message
    assert CMOD_NAME in message
    assert result["loaded"] is False
    assert result["still_works"] == 2


# ---------------------------------------------------------------------------------------------
# 2. Several flavours with global symbols in one process
# ---------------------------------------------------------------------------------------------

MULTI_SCRIPT = textwrap.dedent(
    """
    import importlib, json, sys
    import lupa

    flavours, cmod_dir = sys.argv[1].split(","), sys.argv[2]
    with lupa.allow_lua_module_loading():
        modules = [importlib.import_module("lupa." + name) for name in flavours]
    runtimes = [module.LuaRuntime() for module in modules]
    result = {"versions": [], "exchange": []}
    for lua in runtimes:
        result["versions"].append(lua.eval("_VERSION"))
        lua.execute("local t = {} for i = 1, 1000 do t[i] = tostring(i) end")
        lua.gccollect()
    for a, b in zip(runtimes, runtimes[1:] + runtimes[:1]):
        table = a.eval("{10, 20, name = 'a'}")
        total = b.eval("function(t) return t[1] + t[2] end")(table)
        a.globals().from_b = b.eval("function(s) return s .. '!' .. _VERSION end")
        text = a.eval("from_b(string.rep('x', 3))")
        number = b.eval("function(x) return x * 2 end")(a.eval("21"))
        result["exchange"].append([total, text, number])
    if cmod_dir:
        # The first flavour's Lua comes first in the global symbol scope.
        runtimes[0].globals().package.cpath = cmod_dir + "/?.so"
        cmod = runtimes[0].eval("(require('lupa_test_cmod'))")
        result["cmod"] = [cmod.add(40, 2), cmod.greet("first")]
    for lua in runtimes:
        lua.gccollect()
    # The runtimes are left to the interpreter shutdown, which must not crash either.
    print("RESULT:" + json.dumps(result))
    """
)


def _runtime_version(flavour):
    if flavour.startswith("luajit"):
        return "Lua 5.1"
    if flavour == "luau":
        return "Luau"
    match = re.fullmatch(r"lua(\d)(\d)", flavour)
    return f"Lua {match.group(1)}.{match.group(2)}" if match else None


def _check_multi(result, flavours):
    for flavour, version in zip(flavours, result["versions"]):
        expected = _runtime_version(flavour)
        if expected is not None:
            assert version == expected
    for (total, text, number), target in zip(result["exchange"], flavours[1:] + flavours[:1]):
        assert total == 30
        assert text.startswith(("xxx!Lua ", "xxx!Luau"))
        if _runtime_version(target) is not None:
            assert text == "xxx!" + _runtime_version(target)
        assert number == 42


FLAVOUR_PAIRS = list(itertools.combinations(FLAVOURS, 2))


@pytest.mark.improvement
@pytest.mark.parametrize("first, second", FLAVOUR_PAIRS)
def test_two_flavours_with_global_symbols(first, second, tmp_path):
    """Upstream lupa crashes here: the second module's Lua calls bind to the first one's."""
    result = run_python(MULTI_SCRIPT, f"{first},{second}", "", cwd=tmp_path)
    _check_multi(result, [first, second])


@pytest.mark.improvement
@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_all_flavours_with_global_symbols(order, tmp_path):
    flavours = FLAVOURS if order == "forward" else FLAVOURS[::-1]
    if len(flavours) < 2:
        pytest.skip("needs at least two flavour modules")
    result = run_python(MULTI_SCRIPT, ",".join(flavours), "", cwd=tmp_path)
    _check_multi(result, flavours)


@pytest.mark.improvement
@pytest.mark.parametrize("first, second", FLAVOUR_PAIRS)
def test_binary_module_with_two_global_flavours(first, second, build_cmod, tmp_path):
    """A binary module for the flavour imported first still works after a second flavour
    was imported with global symbols too (its Lua is found first in the global scope)."""
    cmod_dir = build_cmod(first)
    result = run_python(MULTI_SCRIPT, f"{first},{second}", cmod_dir, cwd=tmp_path)
    _check_multi(result, [first, second])
    assert result["cmod"] == [42, "hello first"]
