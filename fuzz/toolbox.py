"""The Python side of a fuzzed program: the objects its Lua code reaches as globals, and the
function that runs one program in this process.

Each helper exists to let Lua code set up a hostile situation from the Python side: objects
whose attribute reads, calls or finalizers run Lua code again in the same runtime (dropping
references mid-call), handles on coroutine wrappers that Python resumes, closes or throws
into, and a way to change the memory limit in the middle of a run.

This file is self-contained (the standard library and lupa only): the fuzzer pastes its source
into the standalone reproducer scripts it writes for failures.
"""

import gc
import importlib
import itertools
import operator

#: Coroutine operations that Python can apply to a coroutine wrapper (``Coroutines.apply``).
COROUTINE_OPERATIONS = ("next", "send", "throw", "close", "bool")


class Toolbox:
    """The helpers of one runtime, by the global name Lua code sees them under."""

    def __init__(self, lua):
        self.lua = lua
        self.coroutines = Coroutines()
        self.objects = {
            "setmem": self.set_max_memory,
            "getmem": self.get_memory_used,
            "execute": self.execute,
            "pycall": self.call,
            "pygc": gc.collect,
            "attrgetter": operator.attrgetter,
            "itemgetter": operator.itemgetter,
            "methodcaller": operator.methodcaller,
            "Hostile": lambda action=None: Hostile(self, action),
            "HostileItems": lambda action=None: HostileItems(self, action),
            "Deleter": lambda action=None: Deleter(self, action),
            "Box": Box,
            "coros": self.coroutines,
            "lst": [1, None, "three"],
            "dct": {"a": 1, 2: "b"},
            "tup": (1, None, 3),
            "gen": lambda n=3: (i for i in range(int(n))),
        }

    def set_max_memory(self, limit):
        """``lua.set_max_memory()`` from a callback, in the middle of Lua code."""
        self.lua.set_max_memory(limit)

    def get_memory_used(self):
        return self.lua.get_memory_used()

    def execute(self, code, *args):
        """Runs Lua code from a callback, nested in the code that called it."""
        return self.lua.execute(code, *args)

    def call(self, function, *args):
        """Calls a Lua (or Python) function from Python, nested in the code that called it."""
        return function(*args)

    def run(self, action):
        """Runs an action: Lua source code, a callable (a Lua function), or nothing."""
        if action is None:
            return None
        if isinstance(action, (str, bytes)):
            return self.lua.execute(action)
        return action()


class Hostile:
    """Attribute protocol: every (non-dunder) attribute read and every call runs `action`
    first, and so does the finalizer.  Attribute reads return the object itself."""

    def __init__(self, toolbox, action):
        self._toolbox = toolbox
        self._action = action

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        self._toolbox.run(self._action)
        return self

    def __call__(self, *args):
        self._toolbox.run(self._action)
        return self

    def __del__(self):
        run_quietly(self._toolbox, self._action)


class HostileItems:
    """Item protocol (it has ``__getitem__``): item reads, length, iteration and calls run
    `action` first."""

    def __init__(self, toolbox, action):
        self._toolbox = toolbox
        self._action = action

    def __getitem__(self, key):
        self._toolbox.run(self._action)
        if isinstance(key, (int, float)) and key > 3:
            raise IndexError(key)
        return self

    def __len__(self):
        self._toolbox.run(self._action)
        return 3

    def __call__(self, *args):
        self._toolbox.run(self._action)
        return self

    def __del__(self):
        run_quietly(self._toolbox, self._action)


class Deleter:
    """An object whose finalizer acts: on its `target` coroutine (a handle of `coros` or a
    coroutine wrapper) when `action` names a coroutine operation, else like `Toolbox.run`.

    Passed as a start argument to ``coros.new``, a Deleter without a target adopts the new
    coroutine: it is then dropped while the coroutine holds it (by ``close()``, ``throw()``,
    the first resume, or the wrapper's own deallocation)."""

    def __init__(self, toolbox, action):
        self._toolbox = toolbox
        self.action = action
        self.target = None

    def __del__(self):
        action = self.action
        if isinstance(action, bytes):
            action = action.decode("latin-1")
        if action in COROUTINE_OPERATIONS:
            try:
                self._toolbox.coroutines.apply(action, self.target)
            except BaseException:
                pass
        else:
            run_quietly(self._toolbox, self.action)


class Box:
    """A plain object with attributes (attribute protocol)."""

    def __init__(self, *args, **kwargs):
        self.args = args
        self.x = self
        self.y = 1
        self.__dict__.update(kwargs)

    def m(self, *args):
        return args


class Coroutines:
    """Coroutine wrappers kept on the Python side, by integer handle, so that Lua code can
    make Python resume, close or throw into them (also from inside themselves).  Every
    method also accepts a coroutine itself instead of a handle."""

    def __init__(self):
        self.kept = {}
        self.handles = itertools.count(1)

    def new(self, function, *args):
        """``function.coroutine(*args)``, kept: returns its handle."""
        wrapper = function.coroutine(*args)
        for arg in args:
            if isinstance(arg, Deleter) and arg.target is None:
                arg.target = wrapper
        handle = next(self.handles)
        self.kept[handle] = wrapper
        return handle

    def wrapper(self, target):
        if isinstance(target, (int, float)):
            return self.kept[int(target)]
        return target

    def apply(self, operation, target, value=None):
        """Applies a coroutine operation (``COROUTINE_OPERATIONS``) to a coroutine."""
        if isinstance(operation, bytes):
            operation = operation.decode("latin-1")
        co = self.wrapper(target)
        if operation == "next":
            return next(co)
        if operation == "send":
            return co.send(value)
        if operation == "throw":
            return co.throw(ValueError("thrown by python"))
        if operation == "close":
            return co.close()
        if operation == "bool":
            return bool(co)
        raise ValueError(f"no coroutine operation {operation!r}")

    def send(self, target, value=None):
        return self.apply("send", target, value)

    def next(self, target):
        return self.apply("next", target)

    def throw(self, target):
        return self.apply("throw", target)

    def close(self, target):
        return self.apply("close", target)

    def alive(self, target):
        return self.apply("bool", target)

    def get(self, target):
        return self.wrapper(target)

    def drop(self, target):
        """Forgets a handle: its wrapper may be deallocated now."""
        self.kept.pop(int(target), None)

    def drop_all(self):
        kept, self.kept = self.kept, {}
        kept.clear()


def run_quietly(toolbox, action):
    """Runs an action from a finalizer, where exceptions could only be printed."""
    try:
        toolbox.run(action)
    except BaseException:
        pass


def python_steps_targets(toolbox, results, main):
    """The coroutine wrappers that the Python steps of a program act on."""
    targets = [r for r in results if type(r).__name__ == "_LuaThread"]
    if main is not None:
        targets.append(main)
    targets.extend(toolbox.coroutines.kept.values())
    return targets


def run_python_step(lua, toolbox, step, results, main):
    """One step of the Python side after (or instead of) running the Lua chunk."""
    name, _, argument = step.partition(":")
    if name == "call":
        for result in results:
            if type(result).__name__ == "_LuaFunction":
                result(*results)
    elif name == "iterate":
        for result in results:
            if type(result).__name__ == "_LuaTable":
                list(itertools.islice(result.items(), 50))
            elif type(result).__name__ == "_LuaThread":
                list(itertools.islice(result, 20))
    elif name in COROUTINE_OPERATIONS:
        for co in python_steps_targets(toolbox, results, main):
            toolbox.coroutines.apply(name, co, int(argument) if argument else None)
    elif name == "setmem":
        lua.set_max_memory(int(argument))
    elif name == "gccollect":
        lua.gccollect()
    elif name == "pygc":
        gc.collect()
    elif name == "drop":
        toolbox.coroutines.drop_all()
        results.clear()
        gc.collect()
    else:
        raise ValueError(f"unknown python step {step!r}")


def run_program(program):
    """Runs one program (a dict, see program.py) in a fresh runtime.  Returns its outcome:
    ``"ok"``, or the name of the first exception raised (each step runs even if an earlier
    one raised)."""
    module = importlib.import_module("lupa." + program["flavour"])
    first_error = None

    def note(error):
        nonlocal first_error
        if first_error is None:
            first_error = type(error).__name__

    try:
        lua = module.LuaRuntime(**program["options"])
    except BaseException as error:
        return type(error).__name__
    toolbox = Toolbox(lua)
    results = []
    main = lua_globals = None
    try:
        lua_globals = lua.globals()
        for name in program["globals"]:
            lua_globals[name.encode()] = toolbox.objects[name]
        if program["mode"] == "coroutine":
            # The chunk runs as a coroutine, started here: the Python steps resume it.
            main = lua.compile(program["lua"]).coroutine()
            result = next(main)
        else:
            result = lua.execute(program["lua"])
        results = list(result) if isinstance(result, tuple) else [result]
    except BaseException as error:
        note(error)
    for step in program["python_steps"]:
        try:
            run_python_step(lua, toolbox, step, results, main)
        except BaseException as error:
            note(error)
    del results, main, toolbox, lua, lua_globals
    return first_error or "ok"


def run_and_collect(program):
    """`run_program`, then the program's garbage: Python's cycles through the runtime (which
    the program's own frame kept alive) are collected here, not in the next program; and a
    call into the flavour once more runs the reference drops that PyO3 defers to its next
    entry (when it released an object without knowing that the GIL was held)."""
    outcome = run_program(program)
    gc.collect()
    importlib.import_module("lupa." + program["flavour"]).LuaRuntime().eval("0")
    gc.collect()
    return outcome
