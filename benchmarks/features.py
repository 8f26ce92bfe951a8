"""What lupa-rs' own features cost, measured within one build (upstream has none of them).

Each comparison is a pair of variants of the same work (A: the baseline, B: with the
feature); both run in the same process, interleaved (A B, B A, ...) over several rounds, and
the report gives the median of the per-round ratios B / A.

* ``limits_off`` / ``far_timeout``: the README mandelbrot without limits and with a time limit
  that never fires (the watchdog arms nothing until the deadline).
* ``far_budget``: the same with an instruction budget that never runs out (a count hook every
  1000 instructions).
* ``jit_off`` (LuaJIT): what running without the trace compiler costs, as runtimes with limits
  do.
* ``to_python`` against the loop a user writes by hand over ``items()`` for a 1,000-entry
  nested table.

Run it with the interpreter of a **release** build (``pip install .``)::

    python benchmarks/features.py --flavours lua54,luajit21 --rounds 7
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import MANDELBROT  # noqa: E402
from timing import measure  # noqa: E402

HAND_LOOP = """
def to_python_by_hand(value):
    if lupa.lua_type(value) != "table":
        return value
    items = {k: to_python_by_hand(v) for k, v in value.items()}
    n = len(items)
    if n and all(isinstance(k, int) for k in items) and set(items) == set(range(1, n + 1)):
        return [items[i] for i in range(1, n + 1)]
    return items
"""

NESTED = (
    "nested = lua.eval('''(function() local t = {} for i = 1, 100 do "
    "t['k' .. i] = {id = i, tags = {'a', 'b', 'c'}, pos = {x = i, y = -i}} end "
    "return t end)()''')\n"
)

PAIRS = {
    "far_timeout": (
        f"mandelbrot = lupa.LuaRuntime(encoding=None).execute({MANDELBROT!r})\n",
        f"mandelbrot = lupa.LuaRuntime(encoding=None, timeout=3600).execute({MANDELBROT!r})\n",
        "mandelbrot(128, 1, 1)",
    ),
    "far_budget": (
        f"mandelbrot = lupa.LuaRuntime(encoding=None).execute({MANDELBROT!r})\n",
        "mandelbrot = lupa.LuaRuntime(encoding=None, max_instructions=10**15)"
        f".execute({MANDELBROT!r})\n",
        "mandelbrot(128, 1, 1)",
    ),
    "jit_off": (
        f"mandelbrot = lupa.LuaRuntime(encoding=None).execute({MANDELBROT!r})\n",
        "runtime = lupa.LuaRuntime(encoding=None)\nruntime.execute('jit.off()')\n"
        f"mandelbrot = runtime.execute({MANDELBROT!r})\n",
        "mandelbrot(128, 1, 1)",
    ),
    "to_python": (
        "lua = lupa.LuaRuntime()\n" + NESTED + HAND_LOOP,
        "lua = lupa.LuaRuntime()\n" + NESTED,
        None,  # per variant, below
    ),
}

STATEMENTS = {"to_python": ("to_python_by_hand(nested)", "lupa.to_python(nested)")}


def run_pair(flavour, name, rounds, sample_s):
    setup_a, setup_b, stmt = PAIRS[name]
    stmt_a, stmt_b = STATEMENTS.get(name, (stmt, stmt))
    spaces = []
    for setup in (setup_a, setup_b):
        namespace = {"lupa": flavour}
        exec(setup, namespace)
        spaces.append(namespace)
    ratios, times = [], ([], [])
    for round_ in range(rounds):
        order = (0, 1) if round_ % 2 == 0 else (1, 0)
        result = [0.0, 0.0]
        for i in order:
            stmt_i = (stmt_a, stmt_b)[i]
            result[i] = measure(stmt_i, spaces[i], 1, sample_s, 3).ns_per_op
            times[i].append(result[i])
        ratios.append(result[1] / result[0])
    return statistics.median(times[0]), statistics.median(times[1]), statistics.median(ratios)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flavours", default="lua54,luajit21")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sample", type=float, default=0.2, help="seconds per sample")
    args = parser.parse_args()
    print(f"{'flavour':10} {'comparison':12} {'A (ns)':>14} {'B (ns)':>14} {'B/A':>6}")
    for name in args.flavours.split(","):
        flavour = importlib.import_module("lupa." + name)
        for pair in PAIRS:
            if pair == "jit_off" and not name.startswith("luajit"):
                continue
            a, b, ratio = run_pair(flavour, pair, args.rounds, args.sample)
            print(f"{name:10} {pair:12} {a:14,.0f} {b:14,.0f} {ratio:6.2f}", flush=True)


if __name__ == "__main__":
    main()
