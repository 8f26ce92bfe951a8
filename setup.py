"""Build script: one extension module per Lua flavour, all from the same Rust crate.

Which modules are built is controlled by environment variables (upstream lupa's build
options, as `LUPA_*` variables like upstream accepts them, plus one for development):

``LUPA_FLAVOURS``
    Comma-separated subset of ``lua51,lua52,lua53,lua54,lua55,luajit21,luau`` to build
    (default: all).  Use it to keep the edit-build-test loop short.  Luau is C++: building it
    needs a C++ compiler.
``LUPA_NO_LUAJIT=true`` (``--no-luajit``)
    Skip LuaJIT.
``LUPA_USE_BUNDLE=true`` (``--use-bundle``)
    Build the bundled Lua/LuaJIT sources (the default).
``LUPA_NO_BUNDLE=true`` (``--no-bundle``)
    Do not build the bundled sources; link an installed Lua found with pkg-config (LuaJIT
    first, then Lua 5.5 ... 5.1) into a single module ``lupa.lua``.
``LUPA_LUA_LIB=<file>`` and ``LUPA_LUA_INCLUDES=<dir>`` (``--lua-lib``, ``--lua-includes``)
    Link this Lua library into a single module ``lupa.lua``; its version is read from
    ``lua.h`` in the include directory.
``LUPA_DEBUG_BUILD=true``
    Build without optimisations (faster to compile; for development only).
"""

import os
import re
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools_rust import Binding, RustExtension
from setuptools_rust import build_rust as _build_rust

ALL_FLAVOURS = {
    "lua51": "lua51",
    "lua52": "lua52",
    "lua53": "lua53",
    "lua54": "lua54",
    "lua55": "lua55",
    "luajit21": "luajit",
    "luau": "luau",
}

# Upstream lupa's command line options, mapped to the environment variables above.
_OPTIONS = {
    "--no-luajit": "LUPA_NO_LUAJIT",
    "--use-bundle": "LUPA_USE_BUNDLE",
    "--no-bundle": "LUPA_NO_BUNDLE",
}
for option, variable in _OPTIONS.items():
    if option in sys.argv:
        sys.argv.remove(option)
        os.environ[variable] = "true"
for option, variable in {
    "--lua-lib": "LUPA_LUA_LIB",
    "--lua-includes": "LUPA_LUA_INCLUDES",
}.items():
    if option in sys.argv:
        index = sys.argv.index(option)
        os.environ[variable] = sys.argv[index + 1]
        del sys.argv[index : index + 2]


def flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def extension(module, features, env=None):
    # setuptools-rust replaces the whole environment with `env`: extend the current one.
    if env is not None:
        env = {**os.environ, **env}
    return RustExtension(
        f"lupa.{module}",
        path="Cargo.toml",
        binding=Binding.PyO3,
        features=features,
        debug=flag("LUPA_DEBUG_BUILD"),
        env=env,
    )


def bundled_extensions():
    wanted = os.environ.get("LUPA_FLAVOURS", "").strip()
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else list(ALL_FLAVOURS)
    unknown = [n for n in names if n not in ALL_FLAVOURS]
    if unknown:
        sys.exit(f"LUPA_FLAVOURS: unknown flavour(s) {unknown}; choose from {list(ALL_FLAVOURS)}")
    if flag("LUPA_NO_LUAJIT"):
        names = [n for n in names if not n.startswith("luajit")]
    return [extension(n, [ALL_FLAVOURS[n], "vendored"]) for n in names]


def header_version(include_dir):
    """The flavour feature of the Lua whose headers are in `include_dir`."""
    if os.path.exists(os.path.join(include_dir, "luajit.h")):
        return "luajit"
    with open(os.path.join(include_dir, "lua.h"), encoding="latin-1") as header:
        text = header.read()
    match = re.search(r"#define\s+LUA_VERSION_NUM\s+(\d+)", text)
    if not match:
        sys.exit(f"cannot find LUA_VERSION_NUM in {include_dir}/lua.h")
    number = int(match.group(1))
    return f"lua{number // 100}{number % 100}"


def library_extension(lib_file, include_dir):
    """`--lua-lib`/`--lua-includes`: link one given library as `lupa.lua`."""
    lib_dir, lib_name = os.path.split(os.path.abspath(lib_file))
    match = re.match(r"^(?:lib)?(.+?)\.(a|so[.\d]*|dylib|lib|dll)$", lib_name)
    if not match:
        sys.exit(f"LUPA_LUA_LIB: cannot make sense of library file name {lib_name!r}")
    link = "static" if match.group(2) in ("a", "lib") else "dylib"
    env = {"LUA_LIB": lib_dir, "LUA_LIB_NAME": match.group(1), "LUA_LINK": link}
    return [extension("lua", [header_version(include_dir), "module-name-lua"], env=env)]


def installed_extension():
    """`--no-bundle`: find an installed LuaJIT or Lua with pkg-config, build `lupa.lua`."""
    candidates = [] if flag("LUPA_NO_LUAJIT") else [("luajit", "luajit")]
    for version in ("5.5", "5.4", "5.3", "5.2", "5.1"):
        feature = "lua" + version.replace(".", "")
        for package in (f"lua{version}", f"lua-{version}", feature, "lua"):
            candidates.append((package, feature))
    pkg_config = shutil.which("pkg-config")
    for package, feature in candidates:
        if not pkg_config:
            break
        if subprocess.run([pkg_config, "--exists", package]).returncode != 0:
            continue
        if package == "lua":
            version = subprocess.run(
                [pkg_config, "--modversion", package], capture_output=True, text=True
            ).stdout.strip()
            if not version.startswith(feature[3] + "." + feature[4]):
                continue
        libs = subprocess.run(
            [pkg_config, "--libs-only-l", package], capture_output=True, text=True
        ).stdout.split()
        lib_dirs = subprocess.run(
            [pkg_config, "--libs-only-L", package], capture_output=True, text=True
        ).stdout.split()
        name = next((lib[2:] for lib in libs if "lua" in lib), None)
        if name is None:
            continue
        env = {"LUA_LIB_NAME": name, "LUA_LINK": "dylib"}
        if lib_dirs:
            env["LUA_LIB"] = lib_dirs[0][2:]
        return [extension("lua", [feature, "module-name-lua"], env=env)]
    sys.exit("LUPA_NO_BUNDLE: no installed LuaJIT or Lua 5.1-5.5 found with pkg-config")


def rust_extensions():
    lua_lib = os.environ.get("LUPA_LUA_LIB")
    lua_includes = os.environ.get("LUPA_LUA_INCLUDES")
    if lua_lib or lua_includes:
        if not (lua_lib and lua_includes):
            sys.exit("LUPA_LUA_LIB and LUPA_LUA_INCLUDES must be given together")
        return library_extension(lua_lib, lua_includes)
    if flag("LUPA_NO_BUNDLE") and not flag("LUPA_USE_BUNDLE"):
        return installed_extension()
    return bundled_extensions()


class build_rust(_build_rust):
    """Also removes flavour modules left in the build directory by earlier builds with other
    options, which would otherwise end up in the wheel (say, the six bundled flavours next to
    the `lupa.lua` of a LUPA_NO_BUNDLE build).  In-place (editable) builds keep other modules.
    """

    def run(self):
        super().run()
        if self.inplace:
            return
        build_ext = self.get_finalized_command("build_ext")
        package_dir = os.path.dirname(build_ext.get_ext_fullpath("lupa.placeholder"))
        built = {ext.name.split(".")[-1] for ext in self.distribution.rust_extensions}
        for filename in os.listdir(package_dir) if os.path.isdir(package_dir) else ():
            match = re.match(r"^(lua[a-z]*[0-9]*)\..+\.(so|pyd|dylib)$", filename)
            if match and match.group(1) not in built:
                os.remove(os.path.join(package_dir, filename))


setup(
    cmdclass={"build_rust": build_rust},
    packages=["lupa"],
    package_dir={"": "python"},
    package_data={"lupa": ["py.typed", "*.pyi"]},
    rust_extensions=rust_extensions(),
    zip_safe=False,
)
