"""Run benchmark cases for one Lua flavour in a fresh process; print JSON lines.

Usage: ``python benchmarks/worker.py --flavour lua54 --cases call_0args,call_1arg``

Whichever ``lupa`` the running interpreter imports is the one measured, so the driver
(``run.py``) starts this script once with the lupa-rs interpreter and once with the upstream
venv's interpreter. The first line describes the implementation; then one line per case is
printed as soon as it finishes, so that if the process dies (a crash in a case) the driver
knows which cases completed and which one took the process down.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib
import json
import sys
import traceback

from cases import CASES_BY_NAME, PRELUDE
from timing import measure


def describe(module) -> dict:
    """Identify the implementation, so the driver can check it runs what it thinks it runs."""
    import lupa

    return {
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "prefix": sys.prefix,
        "lupa_file": lupa.__file__,
        "lupa_version": getattr(lupa, "__version__", "?"),
        "lua_version": ".".join(map(str, getattr(module, "LUA_VERSION", ()))),
        "lua_implementation": module.LuaRuntime().lua_implementation,
    }


def collect_garbage(module, namespace: dict) -> None:
    """Full Lua collection in every runtime of the case, then Python's: a clean slate.

    Lua userdata can keep Python objects alive until Lua's collector runs, so Python's
    ``gc.collect()`` alone would leave one sample's garbage to burden the next.
    """
    for value in list(namespace.values()):
        if isinstance(value, module.LuaRuntime):
            value.gccollect()
    gc.collect()


def run_case(module, name: str, sample_s: float, samples: int) -> dict:
    case = CASES_BY_NAME[name]
    namespace = {"__name__": f"bench_{name}", "lupa": module}
    try:
        exec(compile(PRELUDE + case.setup, f"<setup {name}>", "exec"), namespace)
        if not eval(case.check, namespace):
            return {"case": name, "error": f"check failed: {case.check}"}
        reset = functools.partial(collect_garbage, module, namespace)
        result = measure(case.stmt, namespace, case.ops, sample_s, samples, reset)
    except Exception as exc:
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return {"case": name, "error": line}
    finally:
        namespace.clear()
        gc.collect()
    return {
        "case": name,
        "ns_per_op": result.ns_per_op,
        "samples": result.samples,
        "iterations": result.iterations,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flavour", required=True, help="lupa submodule, e.g. lua54")
    parser.add_argument("--cases", required=True, help="comma-separated case names")
    parser.add_argument("--sample-time", type=float, default=0.2, help="seconds per sample")
    parser.add_argument("--samples", type=int, default=3, help="samples per case (best counts)")
    args = parser.parse_args(argv)

    names = [name for name in args.cases.split(",") if name]
    unknown = [name for name in names if name not in CASES_BY_NAME]
    if unknown:
        parser.error(f"unknown cases: {', '.join(unknown)}")

    module = importlib.import_module(f"lupa.{args.flavour}")
    print(json.dumps({"meta": describe(module)}), flush=True)
    for name in names:
        print(json.dumps(run_case(module, name, args.sample_time, args.samples)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
