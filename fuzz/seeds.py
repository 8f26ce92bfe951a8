"""Known hostile programs, run before the search and offered to the grammar as whole blocks.

Each was a real crash or hang of lupa-rs when the fuzzer was written; they stay as regression
seeds, so that every run checks them on every flavour.  The grammar (grammar.py) produces
variations of them from smaller blocks as well.
"""

from program import Program

#: `python.as_function(obj)` calls `obj` through a reference borrowed from the userdata;
#: Lua code run by that call (here from `__getattr__`, reached through `methodcaller`, a C-level
#: callable that reads its own fields after the attribute lookup) finalizes the userdata by
#: hand and drops the last reference: a use after free.
AS_FUNCTION_USE_AFTER_FREE = """\
v1 = python.as_function(methodcaller('m'))
v2 = Hostile(function()
    local _, u = debug.getupvalue(v1, 1)
    debug.getmetatable(u).__gc(u)
end)
return v1(v2)
"""

#: Creating the C closure of `python.as_function` fails under a tight memory limit; on
#: LuaJIT the memory error unwinds through Rust frames, which aborts the process.
AS_FUNCTION_OUT_OF_MEMORY = """\
local keep = {}
for i = 1, 100000 do keep[i] = python.as_function(python.builtins.len) end
"""

#: `python.args` sizes its argument vector from `#t`; with keys 2^40 .. 2^0 (all in the
#: hash part), `#t` is 2^40 on Lua 5.3 and 5.4.
ARGS_HUGE_LENGTH = """\
local t = {}
for i = 40, 0, -1 do t[2^i] = i end
return python.args(t)
"""

#: A coroutine's start arguments are dropped while its state lock is held; the finalizer of
#: an argument that closes the same coroutine waits for that lock forever.
COROUTINE_START_ARGUMENT_CLOSES = """\
local d = Deleter('close')
local h = coros.new(function(...) return ... end, d)
d = nil
collectgarbage()
collectgarbage()
coros.close(h)
"""


def seed_programs(flavour):
    """The seed programs for one flavour, by name."""
    return {
        "as_function use after free": Program(
            flavour, AS_FUNCTION_USE_AFTER_FREE, globals=("methodcaller", "Hostile")
        ),
        "as_function out of memory": Program(
            flavour,
            AS_FUNCTION_OUT_OF_MEMORY,
            options={"max_memory": 5000},
        ),
        "python.args huge length": Program(flavour, ARGS_HUGE_LENGTH),
        "coroutine start argument closes": Program(
            flavour, COROUTINE_START_ARGUMENT_CLOSES, globals=("Deleter", "coros")
        ),
    }


#: The seeds' Lua sources, for the grammar (their globals: every toolbox object is exposed).
SEED_SOURCES = (
    AS_FUNCTION_USE_AFTER_FREE,
    AS_FUNCTION_OUT_OF_MEMORY,
    ARGS_HUGE_LENGTH,
    COROUTINE_START_ARGUMENT_CLOSES,
)
