"""Many Lua scripts on many cores: a process pool with one sandboxed Lua runtime per worker.

A Lua runtime runs on one core at a time (lupa releases the GIL, so threads with one runtime
each also run in parallel, but they share one Python process and its garbage collector).
Processes scale further and isolate failures: each worker process makes one runtime when it
starts, and the tasks that reach it carry only plain data: the script's source text and its
input go in, the script's result comes back as plain Python data (lists, dicts, numbers,
strings), which pickles.

    python examples/many_cores.py                  # a few scripts, including failing ones
    python examples/many_cores.py --benchmark      # one process against a pool, CPU-bound
    python examples/many_cores.py --flavour lua54  # any flavour module of lupa

docs/guide.md ("Many scripts on many cores") explains the choices; tests/test_examples.py
runs this file.
"""

import argparse
import concurrent.futures
import importlib
import multiprocessing
import os
import time

#: Seconds one task may run: a script that runs longer ends with an error, and the worker
#: goes on with its next task.
TIMEOUT = 10.0

#: Bytes of memory the Lua code of one worker may allocate.
MAX_MEMORY = 256 * 2**20

# The worker process's flavour module and runtime, made by start_worker().
_lupa = None
_runtime = None


def start_worker(flavour=None, timeout=TIMEOUT):
    """The pool's initializer: runs once in every worker process, before its first task."""
    global _lupa, _runtime
    _lupa = importlib.import_module("lupa" if flavour is None else f"lupa.{flavour}")
    _runtime = _lupa.LuaRuntime(sandbox=True, timeout=timeout, max_memory=MAX_MEMORY)


def run_script(script, data):
    """One task, run in a worker: the script gets ``data`` as its argument (``...``).

    Returns ``("ok", result)`` with the script's result as plain Python data, or
    ``("error", message)``: a Lua error (a timeout is one) travels back as text, since Lua
    objects cannot leave their process.  Globals that a script sets stay in the worker's
    runtime for its next tasks: scripts here compute from their argument only.
    """
    try:
        function = _runtime.compile(script)
        if isinstance(data, (dict, list, tuple)):
            data = _runtime.table_from(data, recursive=True)
        result = function(data)
    except _lupa.LuaError as error:
        return "error", str(error).split("\n")[0]
    try:
        # Lists and dicts; strict: a function or coroutine in the result is an error.
        return "ok", _lupa.to_python(result, strict=True)
    except (TypeError, ValueError) as error:
        return "error", f"the result is not plain data: {error}"


def make_pool(workers, flavour=None, timeout=TIMEOUT):
    """A pool of worker processes, each with its own runtime.

    The workers are started with "spawn" (a fresh interpreter), not "fork": a forked child
    has none of its parent's threads, and lupa's time limits are enforced by a thread of the
    process that used them first.  ("forkserver" works too; it is Python 3.14's default.)
    """
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=start_worker,
        initargs=(flavour, timeout),
    )


# The demonstration ----------------------------------------------------------------------

WORD_COUNT = """
local text = ...
local counts = {}
for word in text:lower():gmatch("%a+") do
  counts[word] = (counts[word] or 0) + 1
end
return counts
"""

FIBONACCI = """
local n = ...
local numbers = {1, 1}
for i = 3, n do numbers[i] = numbers[i - 1] + numbers[i - 2] end
return numbers
"""

ORDER = """
local order = ...
return {total = order.price * order.quantity}
"""

NOT_DATA = "return {callback = function() end}"

RUNAWAY = "while true do end"

NOT_LUA = "return 1 +"


def demonstration(flavour=None, timeout=TIMEOUT):
    tasks = {
        "word count": (WORD_COUNT, "the cat and the hat"),
        "fibonacci": (FIBONACCI, 10),
        "order": (ORDER, {"price": 2.5, "quantity": 4}),
        "not data": (NOT_DATA, None),
        "runaway": (RUNAWAY, None),
        "not Lua": (NOT_LUA, None),
    }
    with make_pool(2, flavour, timeout) as pool:
        futures = {name: pool.submit(run_script, *task) for name, task in tasks.items()}
        for name, future in futures.items():
            status, value = future.result()
            if isinstance(value, dict):  # in key order, for reading (Lua's order is arbitrary)
                value = dict(sorted(value.items()))
            print(f"{name}: {status}: {value}")


# The benchmark --------------------------------------------------------------------------

#: A CPU-bound script: counts the primes in [first, last] by trial division.
PRIMES = """
local range = ...
local count = 0
for n = range.first, range.last do
  local prime = n > 1
  local d = 2
  while prime and d * d <= n do
    if n % d == 0 then prime = false end
    d = d + 1
  end
  if prime then count = count + 1 end
end
return {first = range.first, last = range.last, primes = count}
"""


def benchmark(tasks, workers, flavour=None, size=100_000):
    batch = [(PRIMES, {"first": i * size, "last": (i + 1) * size - 1}) for i in range(tasks)]

    start_worker(flavour)  # this process as the only worker
    started, cpu_started = time.perf_counter(), time.process_time()
    alone = [run_script(script, data) for script, data in batch]
    one_process = time.perf_counter() - started
    one_process_cpu = time.process_time() - cpu_started

    workers_cpu = _children_cpu_time()
    started = time.perf_counter()
    with make_pool(workers, flavour) as pool:
        pooled = list(pool.map(run_script, *zip(*batch)))
    in_pool = time.perf_counter() - started
    workers_cpu = _children_cpu_time() - workers_cpu  # (the workers have exited)

    assert pooled == alone, "the pool computed something else"
    primes = sum(result["primes"] for _, result in alone)
    print(f"{tasks} tasks, {primes} primes below {tasks * size}, {_runtime.lua_implementation}")
    print(f"one process:        {one_process:6.2f} s ({one_process_cpu:.2f} s of CPU)")
    print(
        f"{workers} worker processes: {in_pool:6.2f} s ({workers_cpu:.2f} s of CPU in the "
        "workers; starting them included)"
    )
    print(f"speed-up:           {one_process / in_pool:6.2f}x")


def _children_cpu_time():
    """CPU seconds used by the finished child processes (0 where Python cannot tell)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flavour", help="a flavour module of lupa (default: lupa's)")
    parser.add_argument("--benchmark", action="store_true", help="time one process and a pool")
    parser.add_argument("--tasks", type=int, default=32, help="benchmark: number of tasks")
    parser.add_argument("--size", type=int, default=100_000, help="benchmark: numbers per task")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per task")
    args = parser.parse_args()
    if args.benchmark:
        benchmark(args.tasks, args.workers, args.flavour, args.size)
    else:
        demonstration(args.flavour, args.timeout)


if __name__ == "__main__":
    main()
