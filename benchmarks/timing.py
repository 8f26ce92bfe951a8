"""Calibrated timing of one case inside the current process.

The statement is compiled into a ``for`` loop (like ``timeit``) instead of being wrapped in a
function call, so the per-iteration overhead is a few ns and identical on both sides. Names
that the setup defined are copied into local variables of the loop function: a global lookup
per name and iteration would add noise-free but ratio-diluting overhead to the cheapest cases.
The loop overhead itself (about 10 ns per iteration) is *not* subtracted; it is the same for
both implementations, so it only pulls ratios of the very cheapest cases slightly towards 1.

The garbage collector stays enabled (unlike ``timeit``): an implementation that creates more
cyclic garbage should pay for collecting it. Collecting garbage before each sample (Python's
and, via ``reset``, Lua's) keeps one sample's garbage from being billed to the next.
"""

from __future__ import annotations

import gc
import itertools
import textwrap
import time
from dataclasses import dataclass

_TEMPLATE = """
def _bench_loop(_n, _clock, _ns):
{hoist}
    _it = _repeat(None, _n)
    _t0 = _clock()
    for _ in _it:
{stmt}
    return _clock() - _t0
"""


@dataclass
class Measurement:
    ns_per_op: float  # best sample, per operation
    samples: list[float]  # every sample, ns per operation
    iterations: int  # statement executions per sample


def compile_loop(stmt: str, namespace: dict):
    """Return ``loop(n, clock, namespace) -> elapsed ns`` running ``stmt`` ``n`` times."""
    used = set(compile(stmt, "<stmt>", "exec").co_names)
    hoisted = sorted(name for name in used if name in namespace)
    hoist = "".join(f"    {name} = _ns[{name!r}]\n" for name in hoisted) or "    pass\n"
    source = _TEMPLATE.format(hoist=hoist.rstrip("\n"), stmt=textwrap.indent(stmt, " " * 8))
    scope = {"_repeat": itertools.repeat, "__builtins__": __builtins__}
    exec(compile(source, "<bench-loop>", "exec"), scope)
    return scope["_bench_loop"]


def calibrate(loop, namespace: dict, target_ns: float) -> int:
    """Iterations so that one sample takes about ``target_ns`` (at least 1).

    Grows ``n`` until a run takes a tenth of the target, then scales linearly. This also
    serves as warm-up (caches, LuaJIT traces) before the samples that count.
    """
    n = 1
    while True:
        elapsed = loop(n, time.perf_counter_ns, namespace)
        if elapsed >= target_ns / 10 or n >= 1 << 30:
            break
        n *= int(min(10, max(2, target_ns / 10 / max(elapsed, 1))))
    return max(1, round(n * target_ns / max(elapsed, 1)))


def measure(
    stmt: str, namespace: dict, ops: int, sample_s: float, samples: int, reset=gc.collect
) -> Measurement:
    """Time ``stmt``; report the best of ``samples`` samples in ns per operation.

    The best rather than the mean, because noise from other processes on the machine only
    ever adds time; medians across processes are taken by the driver (``run.py``).
    ``reset`` runs untimed before each sample to collect the garbage of the previous one.
    """
    loop = compile_loop(stmt, namespace)
    target_ns = sample_s * 1e9
    n = calibrate(loop, namespace, target_ns)
    per_op = []
    for _ in range(samples):
        reset()
        per_op.append(loop(n, time.perf_counter_ns, namespace) / (n * ops))
    return Measurement(min(per_op), per_op, n)
