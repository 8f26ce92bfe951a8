#!/usr/bin/env python3
"""Checks lupa's type stubs against the installed package.

    python3 .ci/typecheck.py VENV           # run the checks
    python3 .ci/typecheck.py --write-stubs  # regenerate python/lupa/<flavour>.pyi

VENV is a virtual environment with lupa installed (the README's `.venv`); mypy (pinned below)
is installed into it.  The checks:

1. Every flavour module's stub, python/lupa/<flavour>.pyi, is a copy of stubs/flavour.pyi
   (`--write-stubs` makes the copies).
2. stubtest, mypy's comparison of stubs with the runtime, reports nothing for the package and
   every flavour module that is built, with stubs/allowlist.txt.  The flavour stubs declare the
   wrapper classes (_LuaTable, _LuaFunction, ...) @type_check_only: they are not module
   attributes at run time (as upstream), which stubtest checks, but then it does not compare
   them with anything.  So stubtest runs on copies of the stubs without that decorator, in a
   process where those classes are made attributes of the flavour modules.
3. `mypy --strict` accepts tests/typing/user_program.py, a program that uses the whole API
   (and whose `type: ignore` comments show that wrong uses are rejected).
"""

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "stubs" / "flavour.pyi"
ALLOWLIST = ROOT / "stubs" / "allowlist.txt"
PACKAGE = ROOT / "python" / "lupa"
USER_PROGRAM = ROOT / "tests" / "typing" / "user_program.py"
MYPY = "mypy==2.4.1"

#: Every flavour module name the build can produce (`luajit20`: built from a LuaJIT 2.0 tree,
#: LUPA_LUAJIT20_SRC; `lua`: the module built against an installed Lua, LUPA_NO_BUNDLE /
#: LUPA_LUA_LIB).
FLAVOURS = ("lua51", "lua52", "lua53", "lua54", "lua55", "luajit20", "luajit21", "luau", "lua")
# What only lupa.luau's LuaRuntime has, put in place of the template's `# luau: ...` lines
# (which the other flavours' copies leave out).
LUAU_ONLY = {
    "        # luau: constructor keywords\n": (
        "        luau_optimization_level: int | None = None,\n"
        "        luau_debug_level: int | None = None,\n"
    ),
    "    # luau: methods\n": (
        "    def vector(self, x: float, y: float, z: float) -> _LuaObject: ...\n"
        "    def buffer(self, data: bytes | bytearray | memoryview | int) -> _LuaObject: ...\n"
    ),
}
HEADER = "# Generated from stubs/flavour.pyi by `python3 .ci/typecheck.py --write-stubs`.\n"
BUILT_MODULE = re.compile(r"^(lua[a-z]*[0-9]*)\.(?:.+\.)?(?:so|pyd|dylib)$")


def flavour_stub_text(flavour):
    """The stub of `flavour`: the template, with Luau's additions for lupa.luau only."""
    text = TEMPLATE.read_text(encoding="utf-8")
    for marker, addition in LUAU_ONLY.items():
        text = text.replace(marker, addition if flavour == "luau" else "")
    return HEADER + text


def write_stubs():
    for flavour in FLAVOURS:
        text = flavour_stub_text(flavour)
        path = PACKAGE / f"{flavour}.pyi"
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")


def check_copies():
    stale = [f for f in FLAVOURS if not (PACKAGE / f"{f}.pyi").is_file()]
    stale += [
        f
        for f in FLAVOURS
        if f not in stale
        and (PACKAGE / f"{f}.pyi").read_text(encoding="utf-8") != flavour_stub_text(f)
    ]
    extra = sorted(
        p.name
        for p in PACKAGE.glob("lua*.pyi")
        if p.stem not in FLAVOURS  # a flavour stub that is not generated
    )
    if stale or extra:
        for flavour in stale:
            print(f"error: python/lupa/{flavour}.pyi is not a copy of stubs/flavour.pyi")
        for name in extra:
            print(f"error: python/lupa/{name} is not in FLAVOURS of .ci/typecheck.py")
        print("run: python3 .ci/typecheck.py --write-stubs")
        return False
    print(f"flavour stubs: {len(FLAVOURS)} up-to-date copies of stubs/flavour.pyi")
    return True


def type_check_only_classes(text):
    """The classes decorated @type_check_only in a stub."""
    names, decorators = [], []
    for line in text.splitlines():
        if line.startswith("@"):
            decorators.append(line.strip())
        elif line.startswith("class "):
            if "@type_check_only" in decorators:
                names.append(re.match(r"class (\w+)", line).group(1))
            decorators = []
        elif line.strip() and not line.startswith("#"):
            decorators = []
    return names


def wrapper_classes(module):
    """The wrapper classes of a flavour module, found through values that the runtime makes."""
    lua = module.LuaRuntime()
    table = lua.table()
    function = lua.eval("function() end")
    return {
        "_LuaObject": type(table).__mro__[1],
        "_LuaTable": type(table),
        "_LuaFunction": type(function),
        # A coroutine created in Lua that has not started yet.
        "_LuaCoroutineFunction": type(lua.eval("coroutine.create(function() end)")),
        "_LuaThread": type(function.coroutine()),
        "_LuaIter": type(iter(table)),
        "_LuaNoGC": type(lua.nogc()),
        "_PyProtocolWrapper": type(module.as_attrgetter(None)),
    }


def run_stubtest():
    """Runs inside VENV: stubtest over the package and the built flavour modules."""
    import importlib

    import lupa
    from mypy import stubtest

    package_dir = Path(lupa.__file__).parent
    built = sorted({m.group(1) for m in map(BUILT_MODULE.match, os.listdir(package_dir)) if m})
    unknown = sorted(set(built) - set(FLAVOURS))
    if unknown:
        print(f"error: built flavour modules without stubs: {unknown} (see FLAVOURS)")
        return 1
    hidden = type_check_only_classes(flavour_stub_text("lua54"))
    ok = True
    for flavour in built:
        module = importlib.import_module(f"lupa.{flavour}")
        present = [name for name in hidden if hasattr(module, name)]
        if present:
            ok = False
            print(f"error: lupa.{flavour} has {present}, which the stubs declare @type_check_only")
        classes = wrapper_classes(module)
        for name in hidden:
            cls = classes.get(name)
            if cls is None or cls.__name__ != name:
                print(f"error: no runtime class for {name}: update wrapper_classes()")
                return 1
            setattr(module, name, cls)

    with tempfile.TemporaryDirectory() as tmp:
        stubs = Path(tmp, "lupa")
        stubs.mkdir()
        for path in PACKAGE.iterdir():
            if path.suffix == ".pyi" or path.name == "version.py":
                (stubs / path.name).write_bytes(path.read_bytes())
        for flavour in FLAVOURS:
            visible = re.sub(r"(?m)^@type_check_only\n", "", flavour_stub_text(flavour))
            (stubs / f"{flavour}.pyi").write_text(visible, encoding="utf-8")
        not_built = Path(tmp, "allowlist.txt")
        not_built.write_text(
            "# Flavour modules that are not built in this installation.\n"
            + "".join(f"lupa\\.{f}\n" for f in FLAVOURS if f not in built),
            encoding="utf-8",
        )
        os.environ["MYPYPATH"] = tmp
        # --strict-type-check-only: a private class missing at run time must be marked.
        args = ["--strict-type-check-only", "--allowlist", str(ALLOWLIST)]
        args += ["--allowlist", str(not_built), "lupa"]
        status = stubtest.test_stubs(stubtest.parse_options(args))
    print(f"stubtest: package lupa and built flavour modules {built}")
    return 1 if status or not ok else 0


def declared_names(text):
    """Module-level and class-level names a stub file declares ("Class.method")."""
    import ast

    names = set()

    def walk(body, prefix):
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                names.add(prefix + node.name)
                walk(node.body, prefix + node.name + ".")
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(prefix + node.target.id)
            elif isinstance(node, ast.Assign):
                names.update(prefix + t.id for t in node.targets if isinstance(t, ast.Name))

    walk(ast.parse(text).body, "")
    return names


# Names of types-lupa that ours lack on purpose: methods our stubs declare on a base class.
TYPES_LUPA_INHERITED = {"_LuaTable.__getitem__"}


def check_types_lupa(python):
    """Every name that types-lupa (typeshed's stubs of upstream lupa) declares for a flavour
    module or the package is declared by ours too, so that its users lose nothing."""
    import zipfile

    with tempfile.TemporaryDirectory() as tmp:
        download = [python, "-m", "pip", "download", "--quiet", "--no-deps", "-d", tmp]
        if subprocess.run(download + ["types-lupa"]).returncode != 0:
            print("error: cannot download types-lupa to compare with it")
            return False
        (wheel,) = Path(tmp).glob("types_lupa-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            theirs_flavour = archive.read("lupa-stubs/lua54.pyi").decode()
            theirs_package = archive.read("lupa-stubs/__init__.pyi").decode()
    missing = declared_names(theirs_flavour) - declared_names(flavour_stub_text("lua54"))
    missing -= TYPES_LUPA_INHERITED
    package = (ROOT / "python" / "lupa" / "__init__.pyi").read_text()
    missing |= {f"lupa.{n}" for n in declared_names(theirs_package) - declared_names(package)}
    for name in sorted(missing):
        print(f"error: types-lupa declares {name}, our stubs do not")
    print(f"types-lupa: {'all names declared' if not missing else 'names missing'}")
    return not missing


def venv_python(venv):
    for candidate in (Path(venv, "bin", "python"), Path(venv, "Scripts", "python.exe")):
        if candidate.exists():
            return str(candidate)
    sys.exit(f"error: {venv} is not a virtual environment (no bin/python)")


def main(argv):
    if argv == ["--write-stubs"]:
        write_stubs()
        return 0
    if argv == ["--stubtest"]:
        return run_stubtest()
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__)
        return 2
    python = venv_python(argv[0])
    start = time.monotonic()
    ok = check_copies()
    installed = subprocess.run(
        [python, "-c", "import mypy.version; print('mypy==' + mypy.version.__version__)"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    if installed != MYPY:
        subprocess.run([python, "-m", "pip", "install", "--quiet", MYPY], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("MYPYPATH", "PYTHONPATH")}
    ok &= subprocess.run([python, __file__, "--stubtest"], cwd=ROOT, env=env).returncode == 0
    ok &= check_types_lupa(python)
    with tempfile.TemporaryDirectory() as cache:
        mypy = [python, "-m", "mypy", "--strict", "--cache-dir", cache, str(USER_PROGRAM)]
        ok &= subprocess.run(mypy, cwd=ROOT, env=env).returncode == 0
    print(f"type checks {'passed' if ok else 'FAILED'} in {time.monotonic() - start:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
