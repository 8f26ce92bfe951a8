"""Shared fixtures: every test runs once per Lua flavour module found in the package.

The flavours are discovered the way upstream lupa's own test harness does it: every file in
the installed ``lupa`` package directory whose name starts with ``lua`` is a flavour module
(``lua54.cpython-311-x86_64-linux-gnu.so`` -> ``lupa.lua54``).  The suite therefore runs
unchanged against upstream lupa 2.8, which is how its expectations were checked.
"""

import importlib
import os
import re

import luau_skips
import lupa as lupa_package
import pytest


def _find_flavours():
    package_dir = os.path.dirname(lupa_package.__file__)
    names = set()
    for filename in os.listdir(package_dir):
        match = re.match(r"^(lua[a-z]*[0-9]*)\.(?:.+\.)?(?:so|pyd|dylib)$", filename)
        if match:
            names.add(match.group(1))
    return sorted(names)


FLAVOURS = _find_flavours()
if not FLAVOURS:
    raise pytest.UsageError(
        f"no Lua flavour module found in {os.path.dirname(lupa_package.__file__)}: "
        "install the package first (see README)"
    )


def _is_lupa_rs():
    """lupa-rs's flavour modules say so (upstream lupa's have no such attribute)."""
    flavour = importlib.import_module("lupa." + FLAVOURS[0])
    return getattr(flavour, "_IMPLEMENTATION", "").startswith("lupa-rs")


#: True when the suite runs against this project, False against upstream lupa 2.8.
IS_LUPA_RS = _is_lupa_rs()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "improvement: behaviour where lupa-rs deliberately differs from upstream lupa 2.8 "
        "(an upstream defect or a missing feature); not run against upstream",
    )


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("lupa") == "luau":
            reason = luau_skips.reason_for(item.nodeid)
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=f"Luau: {reason}"))
    if IS_LUPA_RS:
        return
    skip = pytest.mark.skip(
        reason="lupa-rs improvement over upstream lupa 2.8 (upstream crashes or differs)"
    )
    for item in items:
        if "improvement" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=FLAVOURS)
def lupa(request):
    """The flavour module under test, e.g. ``lupa.lua54``."""
    return importlib.import_module("lupa." + request.param)


@pytest.fixture
def lua(lupa):
    """A fresh ``LuaRuntime()`` of the flavour under test."""
    return lupa.LuaRuntime()


#: What `LuaRuntime(max_memory=...)` raises on LuaJIT 2.0, which (64 bit) cannot run with a
#: custom allocator (see the guide's LuaJIT 2.0 section and test_memory.py).
_NO_CUSTOM_ALLOCATOR = "Failed to initialise Lua runtime"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On `lupa.luajit20`, a test that needs `max_memory` (directly, or in a child process
    whose error output it reports) is skipped, with the reason, instead of failing."""
    outcome = yield
    callspec = getattr(item, "callspec", None)
    if call.excinfo is None or callspec is None or callspec.params.get("lupa") != "luajit20":
        return
    if _NO_CUSTOM_ALLOCATOR in str(call.excinfo.value):
        report = outcome.get_result()
        report.outcome = "skipped"
        report.longrepr = (
            str(item.path),
            item.location[1] or 0,
            "Skipped: LuaJIT 2.0 (64 bit) cannot create a runtime with max_memory",
        )
