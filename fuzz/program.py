"""A fuzzed program: the Lua source and the Python harness around it.

The harness settings are part of the program because the Python side is generated too: the
`LuaRuntime` options (a tiny ``max_memory``, ``unpack_returned_tuples``, ``encoding=None``,
...), which toolbox objects become Lua globals, whether the chunk runs plainly or as a
coroutine that Python drives, and the Python steps that follow (resume, close or throw into
coroutines, call returned functions, change the memory limit, collect garbage).

A program travels as a plain dict (JSON between the fuzzer and its child processes) and can
be written out as a standalone Python script that reproduces it.
"""

import dataclasses
import json
import pathlib
import pprint

TOOLBOX_SOURCE = pathlib.Path(__file__).with_name("toolbox.py")

#: The environment in which the fuzzer's children run programs (see supervisor.py).
REPRODUCE_ENVIRONMENT = "PYTHONMALLOC=debug GLIBC_TUNABLES=glibc.malloc.perturb=165"


@dataclasses.dataclass(frozen=True)
class Program:
    flavour: str
    lua: str
    #: Keyword arguments of `LuaRuntime`.
    options: dict = dataclasses.field(default_factory=dict)
    #: Names of toolbox objects set as Lua globals (see `toolbox.Toolbox`).
    globals: tuple = ()
    #: "execute" (``lua.execute(source)``) or "coroutine" (the chunk as a coroutine).
    mode: str = "execute"
    #: Python steps run afterwards (see `toolbox.run_python_step`).
    python_steps: tuple = ()

    def to_dict(self):
        return {
            "flavour": self.flavour,
            "lua": self.lua,
            "options": dict(self.options),
            "globals": list(self.globals),
            "mode": self.mode,
            "python_steps": list(self.python_steps),
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            flavour=data["flavour"],
            lua=data["lua"],
            options=dict(data["options"]),
            globals=tuple(data["globals"]),
            mode=data["mode"],
            python_steps=tuple(data["python_steps"]),
        )

    def with_flavour(self, flavour):
        return dataclasses.replace(self, flavour=flavour)

    def key(self):
        """A canonical text of the program, for caching outcomes."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def describe(self):
        """The harness settings and the Lua source, for people."""
        settings = ", ".join(f"{k}={v!r}" for k, v in self.options.items()) or "defaults"
        return (
            f"flavour: {self.flavour}\n"
            f"LuaRuntime({settings}); mode: {self.mode}\n"
            f"globals: {', '.join(self.globals) or '-'}\n"
            f"python steps afterwards: {', '.join(self.python_steps) or '-'}\n"
            f"--- Lua source ---\n{self.lua.rstrip()}\n------------------"
        )

    def to_script(self):
        """A standalone Python script that runs this program (the toolbox is pasted in)."""
        settings = self.to_dict()
        settings.pop("lua")
        source = self.lua
        if "'''" in source or source.endswith("\\"):
            source_literal = repr(source)
        else:
            source_literal = f"r'''{source}'''"
        return (
            '"""Reproduces a program found by lupa-rs\'s fuzzer (fuzz/run.py).\n\n'
            "Run it as the fuzzer ran it, with freed memory overwritten (so that a use after\n"
            "free crashes):\n\n"
            f"    {REPRODUCE_ENVIRONMENT} python THIS_FILE\n"
            '"""\n\n'
            "# ---- fuzz/toolbox.py, pasted ----\n"
            f"{TOOLBOX_SOURCE.read_text()}\n"
            "# ---- the program ----\n"
            "import faulthandler  # noqa: E402\n\n"
            f"LUA_SOURCE = {source_literal}\n\n"
            f"PROGRAM = {pprint.pformat(settings, sort_dicts=False)}\n"
            'PROGRAM["lua"] = LUA_SOURCE\n\n'
            'if __name__ == "__main__":\n'
            "    faulthandler.enable()\n"
            '    print("outcome:", run_and_collect(PROGRAM))\n'
        )
