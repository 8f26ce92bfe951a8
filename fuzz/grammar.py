"""Hypothesis strategies that compose hostile Lua programs from a grammar of building blocks.

A program keeps its values in a few global slots (``v1`` .. ``v4``), so that one block can
set up what a later block abuses, and so that callbacks running in the middle of a call can
reach (and drop) the object being called.  Its blocks:

* values: Lua literals, sparse tables, Python objects (``python.*``, the toolbox objects of
  toolbox.py, ``operator`` getters), coroutines, functions, lupa's registry entries;
* uses of values: indexing, calls (with ``python.args``), iteration, ``tostring`` ...;
* the debug library on Python objects and on lupa's registry: replacing registry entries (all
  of them, the ``POBJECT`` metatable, the identity cache, the runtime's light userdata),
  tampering with the metatable of Python objects, ``debug.getupvalue``/``setupvalue`` on
  ``python.as_function`` closures and ``python.*`` functions, ``debug.sethook``;
* calling ``__gc`` by hand on Python objects, twice, then using them;
* ``python.*`` functions with odd arguments, forged calls of the ``python.iter`` step function;
* memory: ``setmem`` (``lua.set_max_memory`` from a callback), filling memory, allocation loops;
* coroutines: resumed from Lua or from Python callbacks, from inside themselves, closed or
  thrown into by Python, with start arguments whose finalizers act on the same coroutine;
* re-entrant calls: an object whose attribute read, call or finalizer runs Lua code that drops
  the last reference to the object being called.

Simpler alternatives come first in every choice, so that hypothesis shrinks towards them.
"""

import re

from hypothesis import strategies as st
from program import Program

SLOTS = ("v1", "v2", "v3", "v4")

#: Toolbox objects (see toolbox.Toolbox) that programs can use.
TOOLBOX_NAMES = (
    "setmem",
    "getmem",
    "execute",
    "pycall",
    "pygc",
    "attrgetter",
    "itemgetter",
    "methodcaller",
    "Hostile",
    "HostileItems",
    "Deleter",
    "Box",
    "coros",
    "lst",
    "dct",
    "tup",
    "gen",
)

COROUTINE_OPERATIONS = ("close", "send", "bool", "throw", "next")


def template(text, *parts):
    """Fills the ``{}`` holes of `text` with strings drawn from `parts` (strategies)."""
    return st.tuples(*parts).map(lambda values: text.format(*values))


def choice(*options):
    """One of several strategies or fixed strings, the first being the simplest."""
    return st.one_of(*(st.just(o) if isinstance(o, str) else o for o in options))


slot = st.sampled_from(SLOTS)

# ---- values ------------------------------------------------------------------------------

numbers = st.sampled_from(
    ["0", "1", "-1", "1.5", "2^31", "2^53", "2^63", "-2^63", "2^64", "1/0", "-1/0", "0/0"]
)
strings = st.sampled_from(["'x'", "''", "'y'", "'m'", "'__gc'", "string.rep('ab', 300)"])


@st.composite
def big_keys(draw):
    """A table whose keys are powers of two: its length `#t` can be a huge border."""
    low = draw(st.integers(0, 3))
    high = draw(st.integers(10, 52))
    order = draw(st.sampled_from(["down", "up", "down_then_one", "dense"]))
    if order == "down":
        fill = f"for i = {high}, {low}, -1 do t[2^i] = i end"
    elif order == "up":
        fill = f"for i = {low}, {high} do t[2^i] = i end"
    elif order == "down_then_one":
        fill = f"for i = {high}, 1, -1 do t[2^i] = i end t[1] = 0"
    else:  # about a hundred keys
        fill = f"for i = {high}, {low}, -1 do t[2^i] = i t[2^i + 1] = i t[3 * 2^i] = i end"
    return f"(function() local t = {{}} {fill} return t end)()"


tables = choice(
    "{}",
    "{1, 2, 3}",
    "{1, nil, 3}",
    "{[2^40] = 1}",
    "{[1] = 1, [2^20] = 2}",
    "{x = 1, [true] = 2}",
    "{n = python.none, [python.none] = 1}",
    "{[-1] = 1, [0] = 2, [1.5] = 3}",
    "setmetatable({}, {__index = function() error('index') end})",
    "setmetatable({}, {__gc = function() collectgarbage() end})",
    big_keys(),
)

plain_python_values = st.sampled_from(
    [
        "python.none",
        "python.builtins",
        "python.eval",
        "python.builtins.len",
        "python.builtins.list",
        "python.builtins.iter",
        "python.builtins.getattr",
        "python.builtins.object()",
        "python.builtins.range(3)",
        "python.eval('[1, 2, 3]')",
        "python.eval('(1, None, 3)')",
        "python.eval('{1: 2}')",
        "python.eval('iter([1, 2])')",
        "python.eval('(x for x in range(3))')",
        "python.eval('lambda *a: a')",
        "lst",
        "dct",
        "tup",
        "gen(3)",
        "Box()",
        "Box",
        "coros",
        "pygc",
        "setmem",
        "attrgetter('x')",
        "attrgetter('x.y')",
        "attrgetter('x', 'y')",
        "itemgetter(1)",
        "itemgetter(1, 2)",
        "methodcaller('m')",
        "methodcaller('m', 1)",
    ]
)

#: C-level callables that read their own fields after calling back into Python, and Python
#: ones: the targets of re-entrant calls.
callables = st.sampled_from(
    [
        "python.builtins.getattr",
        "attrgetter('x')",
        "attrgetter('x.y')",
        "attrgetter('x', 'y')",
        "itemgetter(1)",
        "itemgetter(1, 2)",
        "methodcaller('m')",
        "methodcaller('m', 1)",
        "Hostile()",
        "python.eval('lambda *a: a')",
        "Box",
    ]
)

registry_values = st.sampled_from(
    [
        "debug.getregistry()",
        "debug.getregistry().POBJECT",
        "debug.getmetatable(python.none)",
        "getmetatable(python.none)",
        "io.stdout",
        "coroutine.running()",
    ]
)

lua_functions = st.sampled_from(
    [
        "function(...) return ... end",
        "print",
        "python.iter",
        "python.as_function",
        "debug.getregistry",
        "collectgarbage",
        "coroutine.yield",
        "function() coroutine.yield(1) coroutine.yield(2) end",
        "function(...) error('boom') end",
    ]
)

values = st.deferred(
    lambda: choice(
        "nil",
        "true",
        numbers,
        strings,
        slot,
        tables,
        plain_python_values,
        python_wrappers,
        lua_functions,
        registry_values,
        coroutine_values,
    )
)

python_wrappers = st.deferred(
    lambda: choice(
        template("Hostile({})", actions),
        template("HostileItems({})", actions),
        template("Deleter({})", deleter_actions),
        template("python.as_function({})", plain_python_values),
        template("python.as_attrgetter({})", plain_python_values),
        template("python.as_itemgetter({})", plain_python_values),
        template("python.args({})", tables),
    )
)

coroutine_values = st.deferred(
    lambda: choice(
        template("coroutine.create(function(...) {} end)", coroutine_bodies),
        template("coroutine.wrap(function(...) {} end)", coroutine_bodies),
        template("coros.new(function(...) {} end, {})", coroutine_bodies, start_arguments),
    )
)

start_arguments = st.deferred(
    lambda: choice(
        "nil",
        template("Deleter('{}')", st.sampled_from(COROUTINE_OPERATIONS)),
        template("Deleter({})", deleter_actions),
        values,
    )
)

# ---- actions: Lua code that Python callbacks (and finalizers) run --------------------------


def reentrant_on(target):
    """Lua statements that drop, finalize or otherwise disturb `target` (a slot) from inside
    a call that uses it."""
    return choice(
        "collectgarbage()",
        f"{target} = nil",
        f"{target} = nil; collectgarbage()",
        f"local _, u = debug.getupvalue({target}, 1); if u then debug.getmetatable(u).__gc(u) end",
        f"debug.getmetatable({target}).__gc({target})",
        f"debug.setupvalue({target}, 1, nil)",
        template("setmem({})", memory_limits),
        f"coros.close({target})",
        f"coroutine.resume({target})",
        f"coros.send({target})",
        "error('boom')",
        "coroutine.yield(1)",
        "pygc()",
        "debug.getregistry().POBJECT = nil",
    )


actions = st.deferred(
    lambda: choice(
        "nil",
        slot.flatmap(lambda s: template("function(...) {} end", reentrant_on(s))),
        st.sampled_from(["'collectgarbage()'", "'error(\"boom\")'", "'return ...'"]),
    )
)

deleter_actions = choice(
    actions,
    st.sampled_from([f"'{op}'" for op in COROUTINE_OPERATIONS]),
)

memory_limits = st.sampled_from(["0", "1", "100", "1000", "5000", "20000", "200000"])

# ---- coroutines ---------------------------------------------------------------------------

coroutine_steps = st.deferred(
    lambda: choice(
        "coroutine.yield(...)",
        "coroutine.yield(1, 2)",
        "coroutine.resume(coroutine.running())",
        "coros.send(coroutine.running())",
        "coros.close(coroutine.running())",
        "coros.throw(coroutine.running())",
        "coros.alive(coroutine.running())",
        "coroutine.wrap(function() coroutine.yield() end)()",
        "collectgarbage()",
        template("coros.send({})", slot),
        template("coros.close({})", slot),
        template("coros.throw({})", slot),
        template("coroutine.resume({})", slot),
        template("pycall({}, {})", slot, values),
        template("setmem({})", memory_limits),
        template("{}", uses),
    )
)

coroutine_bodies = st.lists(coroutine_steps, min_size=0, max_size=3).map(" ".join)

# ---- statements ---------------------------------------------------------------------------

uses_of = {
    "tostring": "tostring({x})",
    "attribute": "local _ = {x}.x",
    "item": "local _ = {x}[1]",
    "call": "{x}()",
    "call_with": "{x}({v})",
    "call_args": "{x}(python.args({t}))",
    "method": "{x}:m()",
    "set_attribute": "{x}.x = {v}",
    "set_item": "{x}[1] = {v}",
    "iter": "for a, b in python.iter({x}) do end",
    "iterex": "for a, b in python.iterex({x}) do end",
    "enumerate": "for a, b in python.enumerate({x}, {n}) do end",
    "as_function": "python.as_function({x})({v})",
    "length": "local _ = #{x}",
    "equal": "local _ = {x} == {v}",
    "pairs": "for k in pairs({x}) do end",
    "type": "local _ = type({x})",
    "concat": "local _ = {x} .. 'x'",
}


@st.composite
def use(draw, target=None):
    """One use of a value (a slot by default)."""
    form = draw(st.sampled_from(sorted(uses_of)))
    x = target if target is not None else draw(slot)
    return uses_of[form].format(
        x=x, v=draw(values), t=draw(tables), n=draw(choice("nil", numbers, strings))
    )


uses = use()

assignments = template("{} = {}", slot, values)

manual_gc = st.deferred(
    lambda: template(
        "local u = {} local gc = debug.getmetatable(u).__gc gc(u) {} {}",
        choice(slot, plain_python_values, python_wrappers),
        choice("gc(u)", ""),
        use("u"),
    )
)

upvalues = st.deferred(
    lambda: choice(
        template(
            "local f = python.as_function({}) local n, u = debug.getupvalue(f, 1) {} f({})",
            plain_python_values,
            choice(
                "debug.getmetatable(u).__gc(u)",
                template("debug.setupvalue(f, 1, {})", values),
                "debug.getmetatable(u).__gc(u) debug.getmetatable(u).__gc(u)",
                template("u = nil {} = nil collectgarbage()", slot),
            ),
            values,
        ),
        template(
            "debug.setupvalue(python.{}, 1, {})",
            st.sampled_from(["iter", "as_function", "args", "enumerate", "eval"]),
            values,
        ),
        template("local n, u = debug.getupvalue({}, 1) {} = u", slot, slot),
        template(
            "local step = python.iter({}) debug.setupvalue(step, 1, {}) step()",
            plain_python_values,
            values,
        ),
    )
)

#: The keys of a table in a fixed order (numbers, then strings, then the others), so that
#: walks over the registry do the same in every run: `pairs` follows the string hash seed,
#: which Lua 5.4 takes from the clock.
SORTED_KEYS = """\
local function sorted_keys(t)
  local keys, rank = {}, {number = 1, string = 2}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ra, rb = rank[type(a)] or 3, rank[type(b)] or 3
    if ra ~= rb or ra == 3 then return ra < rb end
    return a < b
  end)
  return keys
end
"""

registry_tampering = st.deferred(
    lambda: choice(
        template("debug.getregistry().POBJECT = {}", values),
        template(
            "local r = debug.getregistry() for _, k in ipairs(sorted_keys(r)) do r[k] = {} end",
            values,
        ),
        template(
            "local r = debug.getregistry() "
            "for i, k in ipairs(sorted_keys(r)) do if i % {} == 0 then r[k] = {} end end",
            st.integers(1, 8).map(str),
            values,
        ),
        template(
            "local r = debug.getregistry() for _, k in ipairs(sorted_keys(r)) do "
            "local v = r[k] local mt = type(v) == 'table' and getmetatable(v) "
            "if mt and mt.__mode then {} end end",
            choice(
                template("r[k] = {}", values),
                template("for kk in pairs(v) do v[kk] = {} end", values),
                "setmetatable(v, nil)",
                template("rawset(v, 1, {})", values),
            ),
        ),
        template(
            "local r = debug.getregistry() for _, k in ipairs(sorted_keys(r)) do "
            "if type(k) == 'userdata' then r[k] = {} end end",
            values,
        ),
        template(
            "local r = debug.getregistry() for _, k in ipairs(sorted_keys(r)) do "
            "if type(k) == 'number' then r[k] = {} end end",
            values,
        ),
    )
)

metatable_fields = st.sampled_from(
    ["__gc", "__index", "__newindex", "__tostring", "__metatable", "__name", "__mode"]
)

#: What `__call` is set to: functions (or nil).  Any other value is called through its own
#: `__call`, and a chain that comes back to a metatable it passed (a Python object as the
#: `__call` of the shared metatable of Python objects, a string as that of strings, ...) never
#: ends on Lua 5.4, which follows `__call` without limit and copies the stack at every step
#: (plain Lua 5.4.9 hangs on `local mt = {} mt.__call = setmetatable({}, mt) pcall(mt.__call)`;
#: 5.1-5.3 follow one `__call`, 5.5 raises "'__call' chain too long").  Such a program is an
#: endless loop, not a hang of lupa.
call_handlers = st.deferred(
    lambda: choice(
        "nil",
        lua_functions,
        template("python.as_function({})", plain_python_values),
        template("function(...) {} end", reentrant_on("v1")),
    )
)

metatable_tampering = st.deferred(
    lambda: choice(
        template(
            "debug.getmetatable({}).{} = {}",
            choice("python.none", slot, plain_python_values),
            metatable_fields,
            values,
        ),
        template(
            "debug.getmetatable({}).__call = {}",
            choice("python.none", slot, plain_python_values),
            call_handlers,
        ),
        template("debug.setmetatable({}, {})", choice(slot, plain_python_values), values),
        template("getmetatable({}).__gc = nil collectgarbage()", choice("python.none", slot)),
        template(
            "local mt = getmetatable(python.none) mt.__index = function(...) {} end",
            reentrant_on("v1"),
        ),
    )
)

python_functions = st.sampled_from(
    [
        "as_attrgetter",
        "as_itemgetter",
        "as_function",
        "iter",
        "iterex",
        "enumerate",
        "args",
        "set_overflow_handler",
    ]
)

odd_python_calls = st.deferred(
    lambda: choice(
        template("python.{}({})", python_functions, values),
        template("python.{}({}, {})", python_functions, values, values),
        template("python.{}()", python_functions),
        template("python.{}({}, {}, {})", python_functions, values, values, values),
        template("python.enumerate({}, {})", plain_python_values, numbers),
        template("local _ = {}(python.args({}))", callables, tables),
        template("python.args({})", big_keys()),
        template(
            "local step, s, c = python.{}({}) step({}, {})",
            st.sampled_from(["iter", "iterex", "enumerate"]),
            plain_python_values,
            choice("s", values),
            choice("c", values),
        ),
    )
)

#: Values to allocate in bulk: their finalizers run no code of the program.
plain_allocations = st.deferred(
    lambda: choice(
        "{}",
        "string.rep('x', 64) .. i",
        template("python.as_function({})", plain_python_values),
        template("python.iter({})", plain_python_values),
        template("python.as_attrgetter({})", plain_python_values),
        "python.args({1, 2, x = 3})",
        "coroutine.create(print)",
    )
)

#: Any value, including objects whose finalizers run an action (a collection, Lua code):
#: allocated by the thousand at most.  Tens of thousands of finalizers that each collect
#: garbage are quadratic (each collection visits all the others): 20 s and more in a debug
#: build, an endless loop for the fuzzer, not a hang of lupa.
allocation_expressions = st.deferred(lambda: choice(plain_allocations, template("{}", values)))

memory_pressure = st.deferred(
    lambda: choice(
        template("setmem({})", memory_limits),
        template("collectgarbage('{}')", st.sampled_from(["collect", "step", "stop", "restart"])),
        template(
            "keep = keep or {{}} for i = 1, {} do keep[#keep + 1] = {} end",
            st.sampled_from(["10", "1000"]),
            allocation_expressions,
        ),
        template(
            "keep = keep or {{}} for i = 1, {} do keep[#keep + 1] = {} end",
            st.just("30000"),
            plain_allocations,
        ),
        template(
            "keep = keep or {{}} for i = 1, {} do pcall(function() keep[#keep + 1] = {} end) end",
            st.sampled_from(["10", "1000"]),
            allocation_expressions,
        ),
        template(
            "keep = keep or {{}} for i = 1, {} do pcall(function() keep[#keep + 1] = {} end) end",
            st.just("20000"),
            plain_allocations,
        ),
    )
)

coroutine_statements = st.deferred(
    lambda: choice(
        template("{} = {}", slot, coroutine_values),
        template("coroutine.resume({}, {})", slot, values),
        template(
            "coros.{}({})", st.sampled_from(["send", "next", "close", "throw", "alive"]), slot
        ),
        template("coros.drop({})", slot),
        template("{} = coros.new({}, {})", slot, slot, start_arguments),
        template("coroutine.close({})", slot),
        template("coroutine.wrap(function() {} end)()", coroutine_bodies),
        "coroutine.yield(1)",
    )
)

hooks = st.deferred(
    lambda: choice(
        "debug.sethook()",
        template(
            "hook_count = 0 debug.sethook(function() hook_count = hook_count + 1 "
            "if hook_count % {} == 0 then {} end end, '{}', {})",
            st.sampled_from(["1", "3", "50"]),
            choice(
                "error('hook')",
                "collectgarbage()",
                template("setmem({})", memory_limits),
                "python.builtins.len('x')",
                "coroutine.yield()",
                "debug.sethook()",
                template("{}", uses),
            ),
            st.sampled_from(["", "c", "r", "l", "crl"]),
            st.sampled_from(["0", "1", "7"]),
        ),
    )
)

reentrant_calls = st.deferred(
    lambda: slot.flatmap(
        lambda s: choice(
            template(
                f"{s} = python.as_function({{}}) {s}({{}}(function(...) {{}} end))",
                callables,
                st.sampled_from(["Hostile", "HostileItems"]),
                reentrant_on(s),
            ),
            template(
                f"{s} = {{}} {s}({{}}(function(...) {{}} end))",
                callables,
                st.sampled_from(["Hostile", "HostileItems"]),
                reentrant_on(s),
            ),
            template(
                f"{s} = {{}} pycall({s}, {{}}(function(...) {{}} end))",
                choice(callables, "function(x) return x.x end"),
                st.sampled_from(["Hostile", "HostileItems"]),
                reentrant_on(s),
            ),
            template(
                f"{s} = Hostile(function(...) {{}} end) local _ = {s}.{{}}",
                reentrant_on(s),
                st.sampled_from(["x", "y"]),
            ),
        )
    )
)


def finalizing(target):
    """Lua statements that drop the last reference to `target` (a slot) or to the object
    behind it, from inside a call through it."""
    return choice(
        f"local _, u = debug.getupvalue({target}, 1) if u then debug.getmetatable(u).__gc(u) end",
        f"{target} = nil collectgarbage()",
        f"local _, u = debug.getupvalue({target}, 1) debug.setupvalue({target}, 1, nil) "
        "u = nil collectgarbage()",
        f"debug.getmetatable({target}).__gc({target})",
    )


@st.composite
def reentrant_scenario(draw):
    """A call through an object (a `python.as_function` closure, or the userdata itself)
    whose argument's attribute or item access runs Lua code that drops the object being
    called.  C-level callables (`operator` getters) read their own fields after calling
    back, which is where a dropped object shows."""
    target = draw(slot)
    callable_ = draw(callables)
    hostile = "HostileItems" if callable_.startswith("itemgetter") else "Hostile"
    if draw(st.booleans()):
        hostile = draw(st.sampled_from(["Hostile", "HostileItems"]))
    wrap = draw(st.sampled_from(["python.as_function({})", "{}", "python.as_attrgetter({})"]))
    action = draw(choice(finalizing(target), reentrant_on(target)))
    return f"{target} = {wrap.format(callable_)} {target}({hostile}(function(...) {action} end))"


@st.composite
def dropped_start_argument_scenario(draw):
    """A coroutine made from Python with a start argument that only the coroutine holds
    (its Lua userdata is collected), then acted on by Python: the argument's finalizer may
    act on the same coroutine."""
    target = draw(slot)
    argument = draw(
        choice(template("Deleter('{}')", st.sampled_from(COROUTINE_OPERATIONS)), start_arguments)
    )
    body = draw(coroutine_bodies)
    operations = draw(
        st.lists(
            st.sampled_from(["close", "throw", "send", "next", "alive", "drop"]),
            min_size=1,
            max_size=2,
        )
    )
    acts = " ".join(f"coros.{op}({target})" for op in operations)
    gc = draw(choice("collectgarbage()", "collectgarbage() pygc()", ""))
    # (Made in a function of its own: a register of this one would keep the argument.)
    return (
        f"{target} = (function() return coros.new(function(...) {body} end, {argument}) end)() "
        f"{gc} {acts}"
    )


@st.composite
def allocation_scenario(draw):
    """python.* functions that allocate in a loop until the memory limit strikes (a limit
    set from Python in the middle of the run, or the runtime's own)."""
    limit = draw(choice("", template("setmem({})", memory_limits)))
    expression = draw(
        st.sampled_from(
            [
                "python.as_function(python.builtins.len)",
                "python.as_function(lst)",
                "python.iter(lst)",
                "python.enumerate(lst, 1)",
                "python.as_attrgetter(dct)",
                "python.as_itemgetter(Box())",
                "python.args({1, x = 2})",
                "python.builtins.len",
                "Box()",
            ]
        )
    )
    count = draw(st.sampled_from(["100", "10000", "30000"]))
    protect = draw(st.booleans())
    step = f"keep[#keep + 1] = {expression}"
    if protect:
        step = f"pcall(function() {step} end)"
    return f"{limit} local keep = {{}} for i = 1, {count} do {step} end"


#: Compound hostile situations: several blocks that make sense together (the grammar's other
#: blocks meet this way only by chance).
scenarios = st.deferred(
    lambda: st.one_of(
        reentrant_scenario(),
        dropped_start_argument_scenario(),
        allocation_scenario(),
        template("local _ = {}(python.args({}))", callables, big_keys()),
    )
)


nested_python = st.deferred(
    lambda: choice(
        template("pycall({}, {})", slot, values),
        template(
            "execute({})",
            st.sampled_from(["'collectgarbage()'", "'return python.none'", "'error(1)'"]),
        ),
        "pygc()",
    )
)


def statements(use_seeds):
    """A statement of the grammar; with `use_seeds`, the seed programs are statements too."""
    from seeds import SEED_SOURCES

    blocks = [
        assignments,
        uses,
        manual_gc,
        upvalues,
        registry_tampering,
        metatable_tampering,
        odd_python_calls,
        memory_pressure,
        coroutine_statements,
        hooks,
        reentrant_calls,
        nested_python,
        scenarios,
    ]
    if use_seeds:
        # Rare (1 in 50 of this branch's draws, which shrink towards the assignment): seeds
        # crash at once, and each crash costs a confirmation in fresh children.
        seed_blocks = st.sampled_from(SEED_SOURCES).map(
            lambda source: f"local _ = (function()\n{source}end)()"
        )
        blocks.append(st.integers(0, 49).flatmap(lambda n: seed_blocks if n == 49 else assignments))
    return st.one_of(*blocks)


@st.composite
def lua_sources(draw, use_seeds=True):
    """A chunk: slot initialisation, statements (most inside pcall), maybe a return."""
    lines = []
    for name in draw(st.lists(slot, max_size=3, unique=True)):
        lines.append(f"pcall(function() {name} = {draw(values)} end)")
    for statement in draw(st.lists(statements(use_seeds), min_size=1, max_size=6)):
        if draw(st.sampled_from([True, True, True, False])):
            lines.append(f"pcall(function()\n  {statement}\nend)")
        else:
            lines.append(statement)
    returned = draw(st.lists(slot, max_size=2))
    if returned:
        lines.append("return " + ", ".join(returned))
    if any("sorted_keys(" in line for line in lines):
        lines.insert(0, SORTED_KEYS)
    return "\n".join(lines) + "\n"


options = st.fixed_dictionaries(
    {},
    optional={
        "max_memory": choice(
            st.just(0), st.integers(1, 2000), st.integers(2000, 200000), st.just(None)
        ),
        "unpack_returned_tuples": st.booleans(),
        "encoding": st.sampled_from([None, "latin-1"]),
        "register_eval": st.booleans(),
        "register_builtins": st.booleans(),
    },
)

python_steps = st.lists(
    choice(
        "call",
        "iterate",
        "gccollect",
        "pygc",
        "drop",
        st.sampled_from(["next", "send", "send:1", "throw", "close", "bool"]),
        template("setmem:{}", memory_limits),
    ),
    max_size=4,
)

NAME = re.compile(r"[A-Za-z_]+")


@st.composite
def programs(draw, flavour, use_seeds=True):
    """A whole program for `flavour`: harness settings, Lua source, Python steps."""
    source = draw(lua_sources(use_seeds))
    referenced = set(NAME.findall(source)) & set(TOOLBOX_NAMES)
    extra = draw(st.sets(st.sampled_from(TOOLBOX_NAMES), max_size=3))
    return Program(
        flavour=flavour,
        lua=source,
        options=draw(options),
        globals=tuple(name for name in TOOLBOX_NAMES if name in referenced | extra),
        mode=draw(st.sampled_from(["execute", "coroutine"])),
        python_steps=tuple(draw(python_steps)),
    )
