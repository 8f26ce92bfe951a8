"""One-shot measurements that need a process of their own: import time and runtime memory.

Usage: ``python benchmarks/probes.py import lua54`` prints the ns taken by
``import lupa.lua54`` (the package ``__init__`` included); ``python benchmarks/probes.py
memory lua54 200`` prints the resident-memory growth per idle ``LuaRuntime``.

Import time needs a fresh process per measurement, and nothing but ``sys`` and ``time`` may
be imported before it, or modules that lupa itself imports would be counted as free.

Memory is measured as RSS from ``/proc/self/statm`` rather than with ``tracemalloc``, which
only sees Python's allocator and would miss the Lua state and anything the extension
allocates in C or Rust. A fresh process is used so that memory freed by earlier work cannot
be reused and hide the growth. A few runtimes are created and dropped first so that one-time
initialisation is not billed to the runtimes being counted.
"""

import sys
import time


def import_ns(flavour: str) -> int:
    start = time.perf_counter_ns()
    __import__(f"lupa.{flavour}")
    return time.perf_counter_ns() - start


def rss_bytes() -> int:
    import os

    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_per_runtime(flavour: str, count: int) -> float:
    import gc
    import importlib

    module = importlib.import_module(f"lupa.{flavour}")
    for _ in range(5):
        module.LuaRuntime().eval("1")
    gc.collect()
    before = rss_bytes()
    runtimes = [module.LuaRuntime() for _ in range(count)]
    gc.collect()
    grown = rss_bytes() - before
    del runtimes
    return grown / count


def main(argv: list) -> int:
    if len(argv) >= 2 and argv[0] == "import":
        elapsed = import_ns(argv[1])
        print(elapsed)
    elif len(argv) >= 2 and argv[0] == "memory":
        count = int(argv[2]) if len(argv) > 2 else 200
        print(memory_per_runtime(argv[1], count))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
