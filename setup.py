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
``LUPA_LUAJIT20_SRC=<dir>`` (``--luajit20-src <dir>``; upstream has no such option)
    Also build ``lupa.luajit20`` (upstream's LuaJIT 2.0 module) from this LuaJIT 2.0 source
    tree, e.g. ``third-party/luajit20`` of lupa 2.8's source distribution (the unpacked
    distribution itself is accepted too).  The tree is copied to ``build/luajit20/``, built
    there with its Makefile as a static, position-independent library (needs ``make`` and a
    C compiler; tested on x86-64 Linux; ``CC``, ``CFLAGS`` and ``XCFLAGS`` are passed on), and
    linked into the module.  ``LUPA_FLAVOURS=luajit20`` builds only this module; otherwise it
    comes in addition to the other flavours (bundled, or ``lupa.lua``).
``LUPA_DEBUG_BUILD=true``
    Build without optimisations (faster to compile; for development only).
"""

import hashlib
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
    "--luajit20-src": "LUPA_LUAJIT20_SRC",
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
    if "luajit20" in names:
        # Built by luajit20_extension() (LUPA_LUAJIT20_SRC), not from a bundled source.
        if not luajit20_source():
            sys.exit("LUPA_FLAVOURS: luajit20 needs LUPA_LUAJIT20_SRC=<LuaJIT 2.0 source tree>")
        names.remove("luajit20")
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


def luajit20_source():
    """The LuaJIT 2.0 source tree named by LUPA_LUAJIT20_SRC (its root, with `src/`), or None."""
    given = os.environ.get("LUPA_LUAJIT20_SRC", "").strip()
    if not given:
        return None
    root = os.path.abspath(os.path.expanduser(given))
    # The tree, its src/ directory, or lupa's source distribution (third-party/luajit20).
    # A git checkout has only luajit_rolling.h, from which the build makes luajit.h.
    headers = ("luajit.h", "luajit_rolling.h")
    for candidate in (root, os.path.dirname(root), os.path.join(root, "third-party", "luajit20")):
        found = [h for h in headers if os.path.isfile(os.path.join(candidate, "src", h))]
        if found and os.path.isfile(os.path.join(candidate, "src", "Makefile")):
            root = candidate
            break
    else:
        sys.exit(f"LUPA_LUAJIT20_SRC: no LuaJIT source tree (src/luajit.h) in {given!r}")
    with open(os.path.join(root, "src", found[0]), encoding="latin-1") as header:
        match = re.search(r'#define\s+LUAJIT_VERSION\s+"([^"]*)"', header.read())
    if not match or not match.group(1).startswith("LuaJIT 2.0"):
        found = match.group(1) if match else "no LUAJIT_VERSION"
        sys.exit(f"LUPA_LUAJIT20_SRC: {root} is not LuaJIT 2.0 ({found})")
    return root


# Where setup.py builds LuaJIT 2.0 (build_rust.run): build/luajit20/<release|debug>/.
LUAJIT20_BUILD_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "build",
    "luajit20",
    "debug" if flag("LUPA_DEBUG_BUILD") else "release",
)


def luajit20_extension():
    """`lupa.luajit20`, linked with the LuaJIT 2.0 that build_rust builds first; LUA_LIB is
    set then (a directory named after the library's contents, so that cargo relinks when
    the library changes: mlua-sys reruns only when LUA_LIB changes)."""
    if not luajit20_source():
        return []
    if flag("LUPA_NO_LUAJIT"):
        sys.exit("LUPA_LUAJIT20_SRC asks for a LuaJIT module, LUPA_NO_LUAJIT for none")
    if os.name != "posix":
        sys.exit("LUPA_LUAJIT20_SRC: building LuaJIT 2.0 needs make (POSIX)")
    # Until build_rust sets it: a directory that does not exist, so that the link fails
    # rather than find another libluajit.a (a LuaJIT 2.1) in the system's directories.
    unbuilt = os.path.join(LUAJIT20_BUILD_DIR, "lib-not-built")
    env = {"LUA_LIB": unbuilt, "LUA_LIB_NAME": "luajit", "LUA_LINK": "static"}
    return [extension("luajit20", ["luajit20"], env=env)]


def read_text(path):
    try:
        with open(path, encoding="latin-1") as file:
            return file.read()
    except FileNotFoundError:
        return ""


def luajit20_release(source):
    """The rolling release number of a LuaJIT 2.0 tree (`jit.version` is "LuaJIT 2.0.<it>"):
    its commit time from git for a checkout, else `.relver` as `git archive` fills it in, else
    `src/luajit_relver.txt` left by an earlier build (lupa's source distribution has it).
    None if unknown (the version is then "LuaJIT 2.0.ROLLING")."""
    if os.path.exists(os.path.join(source, ".git")) and shutil.which("git"):
        result = subprocess.run(
            ["git", "-C", source, "show", "-s", "--format=%ct"], capture_output=True, text=True
        )
        if result.returncode == 0 and result.stdout.strip().isdigit():
            return result.stdout.strip()
    for candidate in (".relver", os.path.join("src", "luajit_relver.txt")):
        text = read_text(os.path.join(source, candidate)).strip()
        if text.isdigit():
            return text
    return None


def tree_fingerprint(source):
    """Path, size and modification time of every file of a source tree."""
    lines = []
    for directory, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        for name in sorted(files):
            path = os.path.join(directory, name)
            info = os.stat(path)
            lines.append(f"{os.path.relpath(path, source)} {info.st_size} {info.st_mtime_ns}")
    return lines


def build_luajit20(source):
    """Builds LuaJIT 2.0 from a copy of `source` in LUAJIT20_BUILD_DIR (once: the copy is
    made again when the options or the tree change) as a static library compiled as
    position-independent code, as luajit-src builds the vendored LuaJIT 2.1.  Returns the
    directory that holds libluajit.a for the linker."""
    tree = os.path.join(LUAJIT20_BUILD_DIR, "tree")
    xcflags = ["-fPIC"]
    command = ["make", "-C", os.path.join(tree, "src"), f"-j{os.cpu_count() or 1}"]
    command += ["BUILDMODE=static"]
    if flag("LUPA_DEBUG_BUILD"):
        # What luajit-src does for a debug build: the Lua API checks and LuaJIT's assertions.
        xcflags += ["-DLUA_USE_APICHECK", "-DLUA_USE_ASSERT"]
        command += ["CCDEBUG=-g"]
    else:
        # As .cargo/config.toml builds the vendored LuaJIT 2.1: amalgamated, -O3.
        command += ["LJCORE_O=ljamalg.o", "CCOPT=-O3 -fomit-frame-pointer"]
    if os.environ.get("XCFLAGS"):
        xcflags.append(os.environ["XCFLAGS"])
    command.append("XCFLAGS=" + " ".join(xcflags))
    if os.environ.get("CC"):  # LuaJIT's Makefile sets CC itself (gcc) unless told
        command.append("CC=" + os.environ["CC"])
    command.append("libluajit.a")
    # Other options, another tree or a changed one: build from a fresh copy; else make finds
    # the earlier build up to date.
    stamp = os.path.join(LUAJIT20_BUILD_DIR, "build-options.txt")
    options = "\n".join(
        [source, *command[4:], os.environ.get("CFLAGS", ""), *tree_fingerprint(source)]
    )
    if read_text(stamp) != options or not os.path.isdir(tree):
        shutil.rmtree(tree, ignore_errors=True)
        # Without `.git` (a submodule's points elsewhere): the Makefile then takes the
        # release number for `jit.version` from `.relver`.
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns(".git"))
        relver = luajit20_release(source)
        if relver:
            with open(os.path.join(tree, ".relver"), "w") as file:
                file.write(relver + "\n")
        with open(stamp, "w") as file:
            file.write(options)
    print("building LuaJIT 2.0:", " ".join(command), flush=True)
    result = subprocess.run(command)
    library = os.path.join(tree, "src", "libluajit.a")
    if result.returncode != 0 or not os.path.isfile(library):
        sys.exit(f"LUPA_LUAJIT20_SRC: building LuaJIT 2.0 in {tree} failed")
    with open(library, "rb") as lib:
        digest = hashlib.sha256(lib.read()).hexdigest()[:16]
    lib_dir = os.path.join(LUAJIT20_BUILD_DIR, "lib-" + digest)
    if not os.path.isdir(lib_dir):
        for old in os.listdir(LUAJIT20_BUILD_DIR):
            if old.startswith("lib-"):
                shutil.rmtree(os.path.join(LUAJIT20_BUILD_DIR, old))
        os.makedirs(lib_dir)
        shutil.copy2(library, lib_dir)
    return lib_dir


def rust_extensions():
    return base_extensions() + luajit20_extension()


def base_extensions():
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
    """Builds LuaJIT 2.0 first for `lupa.luajit20` (LUPA_LUAJIT20_SRC).  Also removes flavour
    modules left in the build directory by earlier builds with other options, which would
    otherwise end up in the wheel (say, the six bundled flavours next to the `lupa.lua` of a
    LUPA_NO_BUNDLE build).  In-place (editable) builds keep other modules.
    """

    def run(self):
        for ext in self.distribution.rust_extensions:
            if ext.name == "lupa.luajit20":
                ext.env.env["LUA_LIB"] = build_luajit20(luajit20_source())
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
