"""The parent side of the child processes: runs programs in a worker (worker.py), detects
crashes and hangs, and confirms each by running the program alone in a fresh child.

A worker runs many programs in a row for speed.  When it dies or hangs, the program it
announced last is the suspect; the suspect is run again alone, because a crash can also come
from what earlier programs left behind in the process.  Only a failure that the program
reproduces alone is `confirmed`; the others come with the programs the child ran before.
"""

import ctypes
import dataclasses
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from failure import Failure, classify, is_lua_false_alarm

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")

#: The environment of the children: Python's debug allocator and glibc's malloc perturbation
#: overwrite freed memory (Python objects, and C memory such as a closed Lua state), so that a
#: use after free crashes in the program that did it, instead of reading stale data that
#: still looks right or corrupting the heap for a later program; short Rust diagnostics (no
#: backtraces to symbolize); a fixed hash seed (see `same_addresses`).
CHILD_ENVIRONMENT = {
    "PYTHONMALLOC": "debug",
    "GLIBC_TUNABLES": "glibc.malloc.perturb=165",
    "RUST_BACKTRACE": "0",
    "PYTHONFAULTHANDLER": "1",
    "PYTHONHASHSEED": "0",
}

#: personality(2) flag: no address space layout randomisation.
ADDR_NO_RANDOMIZE = 0x0040000


def same_addresses():
    """Runs in the child before it starts Python: turns address randomisation off, so that a
    program meets the same addresses in the shared child, alone, and under gdb (which turns it
    off as well).  Lua code can depend on addresses (``pairs`` over tables keyed by objects,
    the order of the identity cache), and so can a crash."""
    try:
        ctypes.CDLL(None, use_errno=True).personality(ADDR_NO_RANDOMIZE)
    except (OSError, AttributeError):
        pass


#: The parent kills a child this long after the child's own timeout (faulthandler) should
#: have ended it.
KILL_GRACE_SECONDS = 5.0

#: gdb, when installed: a program that crashed is run again alone under it, for the native
#: backtrace (printed with the failure, and part of its signature) of a signal or of an exit
#: (Lua's panic exits the process).  Then the process goes on, so that faulthandler prints
#: the Python stack as well.
GDB = shutil.which("gdb")
GDB_COMMAND = [
    "-q",
    "-batch",
    "-nx",
    "-iex",
    "set auto-load python-scripts off",
    "-ex",
    "set print thread-events off",
    "-ex",
    "handle SIGPIPE nostop noprint pass",
    "-ex",
    "catch syscall exit_group",
    "-ex",
    "run",
    "-ex",
    "bt 40",
    "-ex",
    "continue",
    "--args",
]


@dataclasses.dataclass
class Result:
    """The outcome of one program: an outcome name ("ok", an exception type), or a failure."""

    outcome: str = ""
    failure: Failure = None
    #: For a failure: whether running the program alone reproduced it.
    confirmed: bool = False
    #: For an unconfirmed failure: the programs the child had run before, oldest first.
    history: list = dataclasses.field(default_factory=list)
    seconds: float = 0.0


class Worker:
    """A child process that runs programs until it dies or is closed."""

    def __init__(self, timeout, environment=None, debugger=False):
        self.timeout = timeout
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        self.stderr = tempfile.TemporaryFile(mode="w+b")
        env = dict(os.environ)
        env.update(CHILD_ENVIRONMENT if environment is None else environment)
        command = [sys.executable, WORKER, str(request_read), str(response_write), str(timeout)]
        if debugger and GDB:
            command = [GDB, *GDB_COMMAND, *command]
        # A session of its own: a hung child (and gdb's inferior) is killed as a group.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
            pass_fds=(request_read, response_write),
            env=env,
            start_new_session=True,
            preexec_fn=same_addresses,
        )
        os.close(request_read)
        os.close(response_write)
        self.requests = os.fdopen(request_write, "w", buffering=1)
        self.responses = response_read
        self.buffer = b""
        self.next_id = 0
        self.history = []

    def run(self, program):
        """Runs one program (a `program.Program`); returns a `Result`."""
        self.next_id += 1
        request_id = self.next_id
        started = time.monotonic()
        try:
            self.requests.write(json.dumps({"id": request_id, "program": program.to_dict()}))
            self.requests.write("\n")
            self.requests.flush()
        except BrokenPipeError:
            pass  # died already: read_message sees the end of the pipe
        deadline = started + self.timeout + KILL_GRACE_SECONDS
        while True:
            message = self.read_message(deadline)
            if message is None:
                return self.failed(program, request_id, started, killed=False)
            if message == "timeout":
                return self.failed(program, request_id, started, killed=True)
            if message["event"] == "done" and message["id"] == request_id:
                self.history.append(program)
                seconds = time.monotonic() - started
                return Result(outcome=message["outcome"], seconds=seconds)

    def read_message(self, deadline):
        """The next message from the child; None when the child is gone, "timeout" when the
        deadline passed."""
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout"
            readable, _, _ = select.select([self.responses], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(self.responses, 65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def failed(self, program, request_id, started, killed):
        if killed:
            self.kill()
        try:
            returncode = self.process.wait(timeout=self.timeout + KILL_GRACE_SECONDS)
        except subprocess.TimeoutExpired:  # gdb still busy with a dead inferior
            self.kill()
            returncode = self.process.wait()
        seconds = time.monotonic() - started
        failure = classify(
            returncode,
            self.stderr_of(request_id),
            killed_after=seconds if killed else None,
        )
        history = self.history
        self.close()
        return Result(failure=failure, history=history, seconds=seconds)

    def stderr_of(self, request_id):
        """The child's standard error from the marker line of program `request_id` on."""
        self.stderr.seek(0)
        text = self.stderr.read().decode("utf-8", "replace")
        marker = f"=== program {request_id}\n"
        position = text.rfind(marker)
        return text[position + len(marker) :] if position >= 0 else text

    def kill(self):
        """Kills the child's process group (the child, and gdb's inferior under gdb)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def close(self):
        if self.process.poll() is None:
            try:
                self.requests.close()
            except BrokenPipeError:
                pass
            try:
                self.process.wait(timeout=self.timeout + KILL_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                self.kill()
                self.process.wait()
        else:
            try:
                self.requests.close()
            except BrokenPipeError:
                pass
        os.close(self.responses)
        self.stderr.close()


#: A program that outlives the timeout is run alone with this many times the timeout before
#: it counts as a hang.  Debug builds under Python's debug allocator make some programs that
#: end take longer than the timeout (tens of thousands of finalizers that each run Lua code
#: under a memory limit, where every failing allocation is a full collection: quadratic); a
#: hang does not end however long it is given.  A program that ends is counted as "slow".
HANG_CONFIRMATION_FACTOR = 6


class Runner:
    """Runs programs in a reused worker; confirms failures in a fresh one (under gdb when
    `debugger` and gdb is installed; a second time without, if that did not fail).  A hang
    is confirmed alone with a longer timeout (`HANG_CONFIRMATION_FACTOR`)."""

    def __init__(self, timeout, environment=None, debugger=True):
        self.timeout = timeout
        self.environment = environment
        self.debugger = debugger
        self.worker = None

    def run(self, program, confirm=True):
        """Runs a program in the current worker; a failure is run again alone if `confirm`."""
        if self.worker is None:
            self.worker = Worker(self.timeout, self.environment)
        result = self.worker.run(program)
        if result.failure is None:
            return result
        self.worker = None  # closed by the failure
        if is_lua_false_alarm(result.failure.stderr):
            return Result(outcome="Lua's own assertion (debug build)", seconds=result.seconds)
        if not confirm:
            return result
        if result.failure.kind == "hang":
            # (gdb adds nothing to a hang.)
            alone = self.run_alone(program, timeout=self.timeout * HANG_CONFIRMATION_FACTOR)
            if alone.failure is None:
                return Result(outcome="slow", seconds=result.seconds)
            alone.confirmed = True
            return alone
        use_gdb = self.debugger and GDB is not None and result.failure.kind == "crash"
        for debugger in dict.fromkeys([use_gdb, False]):
            alone = self.run_alone(program, debugger)
            if alone.failure is not None:
                alone.confirmed = True
                return alone
        return result

    def run_alone(self, program, debugger=False, timeout=None):
        """Runs one program in a child of its own (with the runner's timeout by default)."""
        worker = Worker(timeout or self.timeout, self.environment, debugger)
        result = worker.run(program)
        if result.failure is None:
            worker.close()
        return result

    def close(self):
        if self.worker is not None:
            self.worker.close()
            self.worker = None
