"""Threading and locking, and the README's threaded mandelbrot example.

* every runtime has one re-entrant lock, held for a whole Lua call (callbacks included);
* the GIL is released while Lua code runs, so other Python threads make progress and separate
  runtimes can run in parallel;
* wrapper deallocation never blocks on the runtime lock.

Every threaded test runs under a ``faulthandler`` watchdog so that a deadlock fails the run
(with a traceback dump) instead of hanging it.
"""

import contextlib
import copy
import gc
import sys
import threading
import time
import types
from pathlib import Path

import pytest
from helpers import JOIN_TIMEOUT, busy_in_another_thread, fresh_python, watchdog


@contextlib.contextmanager
def fast_thread_switching():
    """Make the interpreter switch threads very often so that races actually interleave."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(old)


def run_threads(targets):
    """Start one thread per callable, join them and re-raise the first exception seen."""
    errors = []

    def wrap(target):
        def run():
            try:
                target()
            except BaseException as exc:
                errors.append(exc)

        return run

    threads = [threading.Thread(target=wrap(target)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "thread did not finish"
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------------------------
# README: mandelbrot in parallel threads, one runtime per thread

# The README's code, as a chunk that returns the function (with `table.unpack or unpack`, as
# Lua 5.1 and LuaJIT spell it).
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
MANDELBROT_CODE = (EXAMPLES / "mandelbrot.lua").read_text()


class TestMandelbrotExample:
    image_size = 64
    thread_count = 4

    def test_threaded_result_equals_single_threaded(self, lupa):
        lua_funcs = [
            lupa.LuaRuntime(encoding=None).execute(MANDELBROT_CODE)
            for _ in range(self.thread_count)
        ]
        results = [None] * self.thread_count

        def mandelbrot(i, lua_func):
            results[i] = lua_func(self.image_size, i + 1, self.thread_count)

        with watchdog():
            threads = [
                threading.Thread(target=mandelbrot, args=(i, lua_func))
                for i, lua_func in enumerate(lua_funcs)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(JOIN_TIMEOUT)

        assert all(type(result) is bytes for result in results)
        result_buffer = b"".join(results)
        # one bit per pixel
        assert len(result_buffer) == self.image_size * self.image_size // 8

        single = lupa.LuaRuntime(encoding=None).execute(MANDELBROT_CODE)(self.image_size, 1, 1)
        assert result_buffer == single
        # a real image: neither all black nor all white
        assert set(result_buffer) - {0, 255}


# --------------------------------------------------------------------------------------------
# separate runtimes in parallel threads


class TestSeparateRuntimes:
    def test_separate_runtimes_in_parallel_threads(self, lupa):
        count = 6
        runtimes = [lupa.LuaRuntime() for _ in range(count)]
        results = [None] * count
        barrier = threading.Barrier(count)

        def work(i):
            lua = runtimes[i]
            lua.globals().ident = i
            func = lua.eval(
                "function(n) local s = 0 for k = 1, n do s = s + k end return s + ident end"
            )
            barrier.wait(JOIN_TIMEOUT)
            total = 0
            for _ in range(20):
                total += func(1000)
            results[i] = total

        with watchdog():
            run_threads([lambda i=i: work(i) for i in range(count)])
        assert results == [20 * (500500 + i) for i in range(count)]

    def test_runtime_created_and_used_entirely_in_other_threads(self, lupa):
        results = {}

        def work(i):
            lua = lupa.LuaRuntime()
            table = lua.table_from({"i": i})
            results[i] = lua.eval("function(t) return t.i * 2 end")(table)
            del table, lua
            gc.collect()

        with watchdog():
            run_threads([lambda i=i: work(i) for i in range(4)])
        assert results == {0: 0, 1: 2, 2: 4, 3: 6}

    def test_runtime_created_in_one_thread_used_in_another(self, lupa):
        lua = lupa.LuaRuntime()
        func = lua.eval("function(x) return x .. '!' end")
        results = []
        with watchdog():
            run_threads([lambda: results.append(func("hi"))])
        assert results == ["hi!"]
        assert func("back") == "back!"


# --------------------------------------------------------------------------------------------
# GIL release


class TestGilReleased:
    """The main thread keeps running Python while another thread is inside Lua."""

    # Busy loop on os.clock() (process CPU time): bounded even when the machine is busy.
    busy_code = """
        function(duration)
            mark("start")
            local t = os.clock()
            while os.clock() - t < duration do end
            mark("end")
        end
    """

    def _progress_during(self, start_lua_call):
        """Count main-thread loop samples taken well inside the Lua call's time window."""
        marks = {}
        done = threading.Event()

        def mark(name):
            marks[name] = time.perf_counter()

        stamps = []

        def run():
            try:
                start_lua_call(mark)
            finally:
                done.set()

        with watchdog():
            thread = threading.Thread(target=run)
            thread.start()
            counter = 0
            while not done.is_set():
                counter += 1
                if counter % 256 == 0:
                    stamps.append(time.perf_counter())
            thread.join(JOIN_TIMEOUT)

        start, end = marks["start"], marks["end"]
        assert end > start
        # With the GIL held during Lua, the main thread could only run right after "start"
        # (at most one switch interval); the middle half of the window would stay empty.
        quarter = (end - start) / 4
        return counter, [s for s in stamps if start + quarter < s < end - quarter]

    def test_main_thread_progresses_during_lua_call(self, lupa):
        lua = lupa.LuaRuntime()

        def call(mark):
            lua.globals().mark = mark
            lua.eval(self.busy_code)(0.2)

        counter, inside = self._progress_during(call)
        assert counter > 0
        assert len(inside) > 0

    def test_main_thread_progresses_during_execute(self, lupa):
        lua = lupa.LuaRuntime()

        def call(mark):
            lua.globals().mark = mark
            lua.execute("local f = " + self.busy_code + "\nf(...)", 0.2)

        _, inside = self._progress_during(call)
        assert len(inside) > 0

    @pytest.mark.improvement
    def test_thread_started_during_a_lua_call_is_not_starved(self, lupa):
        """In a program with one thread, Lua runs with the GIL kept; a thread that a callback
        starts (a watchdog, a progress reporter) must still run while Lua does.  Lua waits
        until the thread has run 20 rounds, which it sees through a file (no GIL needed)."""
        result = fresh_python(
            f"""
            import os, tempfile, threading
            import {lupa.__name__} as flavour

            assert threading.active_count() == 1
            path = os.path.join(tempfile.mkdtemp(), "rounds")
            stop = threading.Event()

            def count():
                rounds = 0
                while not stop.is_set():
                    rounds += 1
                    with open(path, "w") as f:
                        f.write(str(rounds))
                    stop.wait(0.001)

            lua = flavour.LuaRuntime()
            lua.globals().start = lambda: threading.Thread(target=count).start()
            reached = lua.execute(
                '''
                local path = ...
                start()
                local deadline = os.time() + 20
                while os.time() < deadline do
                    local f = io.open(path)
                    local rounds = f and tonumber(f:read("*a"))
                    if f then f:close() end
                    if rounds and rounds >= 20 then return true end
                end
                return false
                ''',
                path,
            )
            stop.set()
            print(reached)
            """
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"

    def test_main_thread_progresses_during_coroutine_resume(self, lupa):
        lua = lupa.LuaRuntime()

        def call(mark):
            lua.globals().mark = mark
            gen = lua.eval(
                """
                function(duration)
                    coroutine.yield(1)
                    mark("start")
                    local t = os.clock()
                    while os.clock() - t < duration do end
                    mark("end")
                    coroutine.yield(2)
                end
                """
            ).coroutine(0.2)
            assert next(gen) == 1
            assert next(gen) == 2

        _, inside = self._progress_during(call)
        assert len(inside) > 0


# --------------------------------------------------------------------------------------------
# one runtime shared by several threads


class TestSharedRuntime:
    def test_a_busy_thread_does_not_starve_a_waiting_one(self, lupa):
        """One thread calls into the runtime in a loop; another still gets its turns."""
        lua = lupa.LuaRuntime()
        spin = lua.eval("function() local x = 0 for i = 1, 20000 do x = x + i end return x end")
        stop = threading.Event()
        done = threading.Event()

        def hog():
            while not stop.is_set():
                spin()

        def contender():
            for _ in range(20):
                spin()
            done.set()

        with watchdog():
            threads = [threading.Thread(target=hog), threading.Thread(target=contender)]
            for thread in threads:
                thread.start()
            try:
                finished = done.wait(JOIN_TIMEOUT / 3)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(JOIN_TIMEOUT)
        assert finished, "the waiting thread never got the runtime"

    def test_reentrant_calls_in_one_thread(self, lupa, lua):
        """Python -> Lua -> Python -> Lua in one thread does not deadlock."""

        def callback(x):
            return lua.eval("... + 1", x)

        lua.globals().cb = callback
        with watchdog():
            assert lua.eval("cb(1) * 10") == 20
            assert lua.execute("local a = cb(1); local b = cb(a); return a, b") == (2, 3)

    @pytest.mark.improvement
    def test_reentrant_call_through_attribute_getter(self, lupa):
        """A nested eval inside an ``__index`` callback returns only its own results.

        Upstream returns ``(obj, 'value', 40)`` from the nested ``lua.eval("40")``: it collects
        the callback frame's stack slots as extra results.
        """
        lua = lupa.LuaRuntime()

        class Obj:
            @property
            def value(self):
                return lua.eval("40") + 2

        lua.globals().obj = Obj()
        with watchdog():
            assert lua.eval("obj.value") == 42

    def test_callback_ordering(self, lupa, lua):
        """The runtime lock is held for the whole call, including Python callbacks."""
        order = []
        callback_started = threading.Event()
        other_about_to_call = threading.Event()

        other_done = threading.Event()

        def callback():
            order.append("cb-start")
            callback_started.set()
            other_about_to_call.wait(JOIN_TIMEOUT)
            # The other call cannot finish while this callback holds the runtime: if it did,
            # it would usually do so within this wait (which then does not change the order).
            other_done.wait(0.2)
            order.append("cb-end")

        lua.globals().callback = callback

        def first():
            lua.execute("callback()")

        def other():
            callback_started.wait(JOIN_TIMEOUT)
            order.append("other-call")
            other_about_to_call.set()
            lua.eval("1 + 1")
            order.append("other-done")
            other_done.set()

        with watchdog():
            run_threads([first, other])
        assert order == ["cb-start", "other-call", "cb-end", "other-done"]

    def test_lua_calls_are_serialized(self, lupa, lua):
        """Concurrent calls into one runtime never interleave inside Lua."""
        lua.execute("counter = 0")
        inc = lua.eval(
            """
            function(n)
                for i = 1, n do
                    local c = counter
                    counter = c + 1
                end
            end
            """
        )

        def work():
            for _ in range(20):
                inc(500)

        with watchdog(), fast_thread_switching():
            run_threads([work] * 4)
        assert lua.eval("counter") == 4 * 20 * 500

    def test_stress_callbacks_calls_and_object_churn(self, lupa):
        """One thread runs Lua->Python callbacks while others use the same runtime."""
        lua = lupa.LuaRuntime()
        calls = []

        def callback(i):
            calls.append(i)
            return i * 2

        lua.globals().cb = callback
        loop = lua.eval("function(n) local s = 0 for i = 1, n do s = s + cb(i) end return s end")
        stop = threading.Event()

        def run_callbacks():
            try:
                for _ in range(30):
                    assert loop(100) == 100 * 101
            finally:
                stop.set()

        def call_into():
            i = 0
            while not stop.is_set() or i < 200:
                assert lua.eval("... + 1", i) == i + 1
                assert lua.globals().cb is callback
                i += 1

        def create_and_drop_tables():
            i = 0
            while not stop.is_set() or i < 200:
                table = lua.table(i, str(i), x=i)
                assert len(table) == 2
                assert table[1] == i
                assert table.x == i
                assert list(table.keys())[:2] == [1, 2]
                del table
                i += 1

        def create_and_drop_functions():
            i = 0
            while not stop.is_set() or i < 200:
                func = lua.eval("function(x) return {x, x} end")
                result = func(i)
                assert result[2] == i
                del func, result
                if i % 50 == 0:
                    gc.collect()
                i += 1

        def keep_and_drop_later():
            kept = []
            i = 0
            while not stop.is_set() or i < 200:
                kept.append(lua.eval("{...}", i))
                if len(kept) > 20:
                    del kept[:10]
                i += 1
            assert kept[-1][1] == i - 1

        with watchdog(), fast_thread_switching():
            run_threads(
                [
                    run_callbacks,
                    call_into,
                    create_and_drop_tables,
                    create_and_drop_functions,
                    keep_and_drop_later,
                ]
            )
        assert len(calls) == 30 * 100
        # the runtime is still healthy afterwards
        lua.gccollect()
        assert lua.eval("cb(21)") == 42
        assert loop(10) == 110

    def test_objects_created_in_one_thread_dropped_in_another(self, lupa):
        lua = lupa.LuaRuntime()
        lua.execute("weak = setmetatable({}, {__mode = 'v'})")
        holder = []

        def create():
            for i in range(50):
                table = lua.eval("{}")
                lua.globals().weak[i + 1] = table
                holder.append(table)

        def drop():
            del holder[:]
            gc.collect()

        with watchdog():
            run_threads([create])
            run_threads([drop])
        lua.gccollect()
        lua.gccollect()
        assert lua.eval("next(weak) == nil") is True


# --------------------------------------------------------------------------------------------
# dropping wrappers while the runtime is busy


class TestDropWhileBusy:
    def test_dropping_wrapper_while_runtime_busy_does_not_block(self, lupa):
        lua = lupa.LuaRuntime()
        lua.execute("weak = setmetatable({}, {__mode = 'v'})")
        table = lua.eval("{}")
        lua.globals().weak[1] = table
        with busy_in_another_thread(lua):
            begin = time.perf_counter()
            del table  # the runtime lock is held by the other thread
            gc.collect()
            elapsed = time.perf_counter() - begin
        assert elapsed < 5  # blocking would have waited for the 10 s release timeout

        # the deferred unref is processed later: the table becomes collectable
        lua.execute("collectgarbage()")
        lua.gccollect()
        assert lua.eval("weak[1] == nil") is True

    def test_dropping_many_wrappers_while_busy(self, lupa):
        lua = lupa.LuaRuntime()
        wrappers = [lua.eval("{...}", i) for i in range(100)]
        functions = [lua.eval("function() return 1 end") for _ in range(20)]
        with busy_in_another_thread(lua):
            begin = time.perf_counter()
            del wrappers, functions
            gc.collect()
            elapsed = time.perf_counter() - begin
        assert elapsed < 5
        # the runtime keeps working after the deferred unrefs are drained
        assert lua.eval("1 + 1") == 2
        assert lua.eval("{...}", "x")[1] == "x"


# --------------------------------------------------------------------------------------------
# _LuaIter shared by several threads


class TestSharedIterator:
    @pytest.mark.parametrize("method", ["keys", "values", "items"])
    def test_shared_iterator_hands_out_every_item_once(self, lupa, lua, method):
        count = 3000
        table = lua.eval("{}")
        for i in range(1, count + 1):
            table[i] = -i
        iterator = getattr(table, method)()
        seen = [[] for _ in range(6)]
        barrier = threading.Barrier(6)

        def consume(k):
            barrier.wait(JOIN_TIMEOUT)
            for item in iterator:
                seen[k].append(item)

        with watchdog(), fast_thread_switching():
            run_threads([lambda k=k: consume(k) for k in range(6)])

        everything = sorted(item for part in seen for item in part)
        expected = {
            "keys": list(range(1, count + 1)),
            "values": sorted(-i for i in range(1, count + 1)),
            "items": sorted((i, -i) for i in range(1, count + 1)),
        }[method]
        assert everything == expected
        with pytest.raises(StopIteration):
            next(iterator)


# --------------------------------------------------------------------------------------------
# FastRLock


class TestFastRLock:
    def test_constructor_arguments_are_ignored_and_subclassing_works(self, lupa):
        class Lock(lupa.FastRLock):
            def __init__(self, name):
                self.name = name

        lock = Lock("mine")
        assert lock.name == "mine"
        assert lock.acquire() is True
        lock.release()
        assert lupa.FastRLock(1, x=2)._is_owned() is False

    def test_lock_cannot_be_copied(self, lupa):
        with pytest.raises(TypeError, match="^no default __reduce__"):
            copy.copy(lupa.FastRLock())

    def test_reentrant_acquire_release(self, lupa):
        lock = lupa.FastRLock()
        assert lock._is_owned() is False
        assert lock.acquire() is True
        assert lock.acquire() is True
        assert lock._is_owned() is True
        lock.release()
        assert lock._is_owned() is True
        lock.release()
        assert lock._is_owned() is False

    def test_release_unacquired_raises(self, lupa):
        lock = lupa.FastRLock()
        with pytest.raises(RuntimeError, match="^cannot release un-acquired lock$"):
            lock.release()

    def test_context_manager(self, lupa):
        lock = lupa.FastRLock()
        with lock:
            assert lock._is_owned() is True
            with lock:
                assert lock._is_owned() is True
            assert lock._is_owned() is True
        assert lock._is_owned() is False

    def test_other_thread_cannot_acquire_nonblocking_or_release(self, lupa):
        lock = lupa.FastRLock()
        lock.acquire()
        results = []

        def other():
            results.append(lock.acquire(False))
            results.append(lock.acquire(blocking=0))
            results.append(lock._is_owned())
            try:
                lock.release()
            except RuntimeError as exc:
                results.append(str(exc))

        try:
            with watchdog():
                run_threads([other])
        finally:
            lock.release()
        assert results == [False, False, False, "cannot release un-acquired lock"]

    def test_blocking_acquire_waits_for_release(self, lupa):
        lock = lupa.FastRLock()
        order = []
        holding = threading.Event()

        acquired = threading.Event()

        def holder():
            with lock:
                holding.set()
                # The waiter cannot get the lock while it is held here: if it did, it would
                # usually do so within this wait (which then does not change the order).
                acquired.wait(0.2)
                order.append("holder-release")

        def waiter():
            holding.wait(JOIN_TIMEOUT)
            order.append("waiter-try")
            assert lock.acquire() is True
            order.append("waiter-acquired")
            acquired.set()
            assert lock._is_owned() is True
            lock.release()

        with watchdog():
            run_threads([holder, waiter])
        assert order == ["waiter-try", "holder-release", "waiter-acquired"]

    def test_a_replaced_sys_module_cannot_break_waiting(self, lupa, monkeypatch):
        """The waiter reads the switch interval from `sys.modules['sys']`, which Python code
        can replace: a NaN there made the wait panic and leak its place among the waiters,
        and the next release handed the lock to nobody."""
        lock = lupa.FastRLock()
        lock.acquire()
        asked, got = threading.Event(), []

        def nan():
            asked.set()
            return float("nan")

        fake_sys = types.ModuleType("sys")
        fake_sys.getswitchinterval = nan

        def waiter():
            with lock:
                got.append(True)

        with watchdog():
            monkeypatch.setitem(sys.modules, "sys", fake_sys)
            try:
                thread = threading.Thread(target=waiter)
                thread.start()
                assert asked.wait(JOIN_TIMEOUT)
            finally:
                monkeypatch.undo()
            lock.release()
            thread.join(JOIN_TIMEOUT)
            assert got == [True]
            assert lock.acquire(False) is True
            lock.release()

    def test_contention_keeps_mutual_exclusion(self, lupa):
        lock = lupa.FastRLock()
        state = {"count": 0, "inside": 0, "max_inside": 0}

        def worker():
            for _ in range(300):
                with lock:
                    with lock:  # re-entrant while contended
                        state["inside"] += 1
                        state["max_inside"] = max(state["max_inside"], state["inside"])
                        value = state["count"]
                        time.sleep(0)  # invite a thread switch inside the critical section
                        state["count"] = value + 1
                        state["inside"] -= 1

        with watchdog(), fast_thread_switching():
            run_threads([worker] * 4)
        assert state["count"] == 4 * 300
        assert state["max_inside"] == 1
        assert lock._is_owned() is False
        # still usable afterwards
        assert lock.acquire(False) is True
        lock.release()
