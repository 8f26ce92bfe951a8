"""What went wrong when a child process died or hung, and a signature to tell failures apart.

A failure is a crash (the child died: a signal, an abort, a fatal error) or a hang (the child
outlived the per-program timeout).  Its signature names the kind, how the process ended, the
first line of the diagnosis it printed (Rust's abort message, Lua's panic, Python's fatal
error) with numbers blanked out, and the place: the module of the innermost of lupa's own
functions in gdb's backtrace (when the program ran under gdb), else the two innermost Python
functions.  The
search (search.py) shrinks each new signature once and counts the others as repeats.  Without
gdb the signature is coarse, and two bugs may share one.
"""

import dataclasses
import re
import signal

#: Lines that diagnose a crash, most telling first.
DIAGNOSIS_PATTERNS = [
    r"fatal runtime error: .*",
    r"memory allocation of \d+ bytes failed",
    r"PANIC: unprotected error in call to Lua API.*",
    r"thread '.*' panicked at .*",
    r"panic in a function that cannot unwind",
    r"free\(\): .*|double free .*|corrupted .*",
    r"Fatal Python error: .*",
    r"Timeout \(\d+:\d+:\d+(?:\.\d+)?\)!",
]

#: Assertions of Lua's own API checks (debug builds of Lua only) that Lua's own library trips
#: on valid programs, which Lua's release builds handle correctly; checked against plain Lua,
#: without lupa.  A child that dies of one of these has not found a bug of lupa.
#:
#: * Lua 5.2.4's `lua_resume` checks the stack of the coroutine before it refuses a running
#:   one, so a `coroutine.wrap` function that calls itself aborts a debug build of Lua 5.2.4
#:   (`local co; co = coroutine.wrap(function() co() end); co()`); a release build raises
#:   "cannot resume non-suspended coroutine".  (lupa itself never resumes a running one.)
#: * LuaJIT 2.1's `close_state` asserts that its count of allocated bytes is back to where it
#:   started; after strings failed to allocate at a memory limit it can be 8 bytes off (an
#:   accounting slip of LuaJIT's: plain LuaJIT with an allocator refusing beyond 100 kB,
#:   `keep = {} for i = 1, 20000 do pcall(function() keep[#keep + 1] = 'x' .. i end) end`,
#:   trips it in a few of 40 states).
LUA_FALSE_ALARMS = [
    re.compile(
        r"lua-5\.2\.\d+/ldo\.c:\d+: lua_resume: Assertion .*not enough elements in the stack"
    ),
    re.compile(r"LuaJIT ASSERT lj_state\.c:\d+: close_state: memory leak of \d+ bytes"),
]


def is_lua_false_alarm(stderr):
    """Whether a child died of one of `LUA_FALSE_ALARMS`."""
    return any(alarm.search(stderr) for alarm in LUA_FALSE_ALARMS)


PYTHON_FRAME = re.compile(r'^\s+File "(?P<file>[^"]*)", line \d+ in (?P<function>\S+)')
#: A frame of gdb's backtrace: ``#3  0x... in name (args) at file:line`` or ``#4  name (...)``.
NATIVE_FRAME = re.compile(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(?P<function>.+?) \(")
#: Native frames that say nothing about the bug (signal delivery, abort, Rust's panic path).
NATIVE_NOISE = re.compile(
    r"^(__pthread_kill|pthread_kill|raise|abort|__GI_|std::sys::|std::panicking::|"
    r"core::panicking::|std::process::abort|__rust|rust_panic|std::alloc::|alloc::alloc::"
    r"|__restore_rt|<signal handler called>)"
)
#: lupa's low-level layers: the Lua safety layer, the allocator, CPython call helpers.
LOW_LEVEL = re.compile(r"^lupa::(lua::|memory::|pyhelpers::)")


@dataclasses.dataclass
class Failure:
    kind: str  # "crash" or "hang"
    #: How the child ended, e.g. "SIGSEGV", "exit status 1", "killed after 8 s".
    ending: str
    #: The child's standard error for this program (from its marker line on), with gdb's
    #: output when it ran under gdb.
    stderr: str

    @property
    def diagnosis(self):
        for pattern in DIAGNOSIS_PATTERNS:
            match = re.search(pattern, self.stderr)
            if match:
                return match.group(0).strip()
        return ""

    @property
    def native_frames(self):
        """The function names of gdb's backtrace, innermost first, without arguments,
        generic parameters, closures and the frames of signal delivery and abort."""
        names = []
        for line in self.stderr.splitlines():
            match = NATIVE_FRAME.match(line)
            if match:
                name = match.group("function")
                while re.search(r"<[^<>]*>", name):
                    name = re.sub(r"<[^<>]*>", "", name)
                name = re.sub(r"::\{closure#\d+\}", "", name)
                if not NATIVE_NOISE.match(name):
                    names.append(name)
        return names

    @property
    def place(self):
        """Where it happened, for the signature: the module of the innermost of lupa's
        functions outside its low-level layers (the same bug reaches the Lua C API on
        different paths), or the innermost native function, or (without gdb, or for a hang)
        the two innermost Python functions."""
        frames = self.native_frames
        ours = [f for f in frames if f.startswith("lupa::") and not LOW_LEVEL.match(f)]
        if ours:
            # Its module (or type): one bug reaches several functions of it.
            return re.sub(r"::\{impl#\d+\}", "", ours[0]).rsplit("::", 1)[0]
        if frames and self.kind == "crash":
            return frames[0]
        return self.python_functions

    @property
    def python_functions(self):
        """The two innermost frames of the first stack that faulthandler printed."""
        frames = []
        for line in self.stderr.splitlines():
            match = PYTHON_FRAME.match(line)
            if match:
                file = match.group("file").rsplit("/", 1)[-1]
                frames.append(f"{match.group('function')} ({file})")
                if len(frames) == 2:
                    break
            elif frames:
                break
        return " < ".join(frames)

    @property
    def signature(self):
        diagnosis = re.sub(r"0x[0-9a-fA-F]+|\d+", "N", self.diagnosis)
        ending = self.ending if self.kind == "crash" else ""
        parts = [self.kind, ending, diagnosis, self.place]
        return " | ".join(part for part in parts if part)

    def summary(self):
        return f"{self.kind} ({self.ending}): {self.diagnosis or 'no diagnosis printed'}"


def ending_of(returncode, stderr):
    """Describes how a child ended: its exit status, or the signal that gdb reported."""
    match = re.search(
        r'(?:Program|Thread \d+ "[^"]*") (?:terminated with|received) signal (SIG\w+)', stderr
    )
    if match:
        return match.group(1)
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return signal.Signals(-returncode).name
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def classify(returncode, stderr, killed_after=None):
    """The failure of a child that ended (or was killed) while running a program."""
    if killed_after is not None:
        return Failure("hang", f"killed after {killed_after:.0f} s", stderr)
    if re.search(r"Timeout \(\d+:\d+:\d+(?:\.\d+)?\)!", stderr):
        return Failure("hang", "timeout (faulthandler)", stderr)
    return Failure("crash", ending_of(returncode, stderr), stderr)
