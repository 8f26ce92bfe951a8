"""Instructions per operation under callgrind, for lupa-rs and upstream lupa 2.8.

A noise-free companion to ``run.py``: wall-clock ratios on a shared 2-core machine move by
several percent from run to run, instruction counts do not.  They are what the optimisation
work in this project was steered by (BENCHMARKS.md, "Where the time goes").

    python benchmarks/instructions.py [--flavours lua54,luajit21] [--cases PATTERN]
                                      [--markdown FILE]

For every case and side, the case's setup and statement run in a child process under
``valgrind --tool=callgrind``, once with ``n`` and once with ``2n`` executions of the
statement; the difference of the two totals divided by ``n * ops`` is the count per
operation, free of interpreter start-up, imports and setup.  ``n`` is calibrated natively
first (about 5 ms of work), so slow cases stay affordable under valgrind's ~50x slow-down.
``PYTHONHASHSEED`` is fixed so that both runs of a pair do the same work.

Fewer instructions is not the same as less time (cache misses, branch prediction and code
placement are not counted: see the mandelbrot caveat in BENCHMARKS.md), but an instruction
count that changes is a real change.  Needs ``valgrind`` on the PATH.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import math
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import report
import upstream_env
from cases import CASES_BY_NAME, PRELUDE, select
from timing import calibrate, compile_loop

HERE = Path(__file__).resolve().parent
CALIBRATION_NS = 5e6
VALGRIND = [
    "valgrind",
    "--tool=callgrind",
    "--callgrind-out-file=/dev/null",
    # LuaJIT writes and runs machine code; make valgrind notice.
    "--smc-check=all-non-file",
]
COLLECTED = re.compile(r"Collected : (\d+)")


def _prepare(flavour: str, name: str):
    module = importlib.import_module(f"lupa.{flavour}")
    case = CASES_BY_NAME[name]
    namespace = {"__name__": f"bench_{name}", "lupa": module}
    exec(compile(PRELUDE + case.setup, f"<setup {name}>", "exec"), namespace)
    return compile_loop(case.stmt, namespace), namespace


def child(argv: list) -> int:
    """``--child calibrate|run FLAVOUR CASE [N]``: runs inside the measured process."""
    mode, flavour, name = argv[:3]
    loop, namespace = _prepare(flavour, name)
    if mode == "calibrate":
        print(calibrate(loop, namespace, CALIBRATION_NS))
    else:
        loop(int(argv[3]), time.perf_counter_ns, namespace)
    return 0


def _child_command(python: str, *args) -> list:
    return [python, str(HERE / "instructions.py"), "--child", *map(str, args)]


def _instructions(python: str, flavour: str, name: str, n: int) -> int:
    result = subprocess.run(
        VALGRIND + _child_command(python, "run", flavour, name, n),
        capture_output=True,
        text=True,
        env={**upstream_env.clean_env(), "PYTHONHASHSEED": "0"},
    )
    found = COLLECTED.search(result.stderr)
    if result.returncode != 0 or not found:
        raise RuntimeError(f"{name} under callgrind failed:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_op(python: str, flavour: str, name: str) -> float:
    """Instructions per operation of case ``name`` with interpreter ``python``."""
    calibrated = subprocess.run(
        _child_command(python, "calibrate", flavour, name),
        capture_output=True,
        text=True,
        check=True,
        env=upstream_env.clean_env(),
    )
    n = max(1, int(calibrated.stdout))
    once = _instructions(python, flavour, name, n)
    twice = _instructions(python, flavour, name, 2 * n)
    return (twice - once) / (n * CASES_BY_NAME[name].ops)


def _count(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavours", default="lua54,luajit21", help="comma-separated")
    parser.add_argument("--cases", help="comma-separated globs; plain words match substrings")
    parser.add_argument("--markdown", metavar="FILE", help="write/replace the section in FILE")
    parser.add_argument("--upstream-python", help="interpreter with upstream lupa 2.8")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        parser.error("valgrind is not installed")

    cases = select(args.cases)
    upstream = args.upstream_python or str(upstream_env.ensure())
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    lines = [
        f"### instructions per op (callgrind), {started}",
        "",
        "Command: `python benchmarks/instructions.py"
        + (f" --flavours {args.flavours}" if args.flavours != "lua54,luajit21" else "")
        + (f" --cases '{args.cases}'" if args.cases else "")
        + "`",
        "",
    ]
    for flavour in args.flavours.split(","):
        rows, ratios = [], []
        for case in cases:
            ours = per_op(sys.executable, flavour, case.name)
            theirs = per_op(upstream, flavour, case.name)
            ratio = ours / theirs if theirs > 0 else math.nan
            ratios.append(ratio)
            rows.append([case.name, _count(ours), _count(theirs), f"{ratio:.2f}"])
            print(
                json.dumps(
                    {"flavour": flavour, "case": case.name, "ours": ours, "upstream": theirs}
                ),
                file=sys.stderr,
                flush=True,
            )
        rows.append(["**geometric mean**", "", "", f"**{report.geomean(ratios):.2f}**"])
        header = ["case", "ours instr/op", "upstream instr/op", "ratio"]
        lines += [f"#### {flavour}", ""]
        lines += report.format_table(header, rows, True, "lrrr") + [""]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        report.write_markdown(args.markdown, "instructions", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
