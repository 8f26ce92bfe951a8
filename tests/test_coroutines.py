"""Lua coroutines seen from Python, and the README coroutine examples.

A Lua coroutine reaches Python in one of three shapes:

* ``lua_function.coroutine(*args)`` -> ``_LuaThread`` (a generator-like object);
* an *unstarted* thread created in Lua -> ``_LuaCoroutineFunction`` (calling it starts a fresh
  coroutine from the thread's function every time);
* an already started thread created in Lua -> ``_LuaThread``.
"""

import re
import threading

import pytest
from helpers import run_isolated

# --------------------------------------------------------------------------------------------
# helpers


def _is_luajit(lupa):
    return lupa.__name__.endswith(("luajit20", "luajit21"))


def _yield_across_pcall_works(lupa):
    """Lua 5.2+, LuaJIT and Luau can yield from inside ``pcall``; plain Lua 5.1 cannot."""
    return lupa.LUA_VERSION >= (5, 2) or _is_luajit(lupa) or lupa.__name__.endswith(".luau")


def _resume_dead_message(lua):
    """Lua's own message for resuming a coroutine that died with an error."""
    if lua.lua_version >= (5, 2) or lua.lua_implementation == "Luau":
        return "cannot resume dead coroutine"
    # Lua 5.1 and LuaJIT word it differently.
    return "cannot resume non-suspended coroutine"


# --------------------------------------------------------------------------------------------
# README examples


class TestReadmeExamples:
    def test_enumerate_coroutine_of_lua_function(self, lupa):
        lua = lupa.LuaRuntime()
        f = lua.eval(
            """
            function(N)
                for i=0,N do
                    coroutine.yield( i%2 )
                end
            end
            """
        )
        gen = f.coroutine(4)
        assert list(enumerate(gen)) == [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)]

    def test_send_values_into_coroutine(self, lupa):
        lua = lupa.LuaRuntime()
        f = lua.eval(
            """
            function()
                local t,i = {},0
                local value = coroutine.yield()
                while value do
                    t[i] = value
                    i = i + 1
                    value = coroutine.yield()
                end
                return t
            end
            """
        )
        co = f.coroutine()
        assert co.send(None) is None  # starts the coroutine, stops at the first yield
        for i in range(3):
            assert co.send(i * 2) is None
        mapping = co.send(None)  # loop termination signal
        assert sorted(mapping.items()) == [(0, 0), (1, 2), (2, 4)]

    def test_coroutines_created_in_lua(self, lupa):
        lua = lupa.LuaRuntime()
        lua_code = """
            function f(N)
                for i=0,N do
                    coroutine.yield( i%2 )
                end
            end ;
            co1 = coroutine.create(f) ;
            co2 = coroutine.create(f) ;

            status, first_result = coroutine.resume(co2, 2) ;   -- starting!

            return f, co1, co2, status, first_result
        """
        f, co, lua_gen, status, first_result = lua.execute(lua_code)

        # a running coroutine
        assert status is True
        assert first_result == 0
        assert list(lua_gen) == [1, 0]
        assert list(lua_gen) == []

        # an uninitialised coroutine
        gen = co(4)
        assert list(enumerate(gen)) == [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)]
        gen = co(2)
        assert list(enumerate(gen)) == [(0, 0), (1, 1), (2, 0)]

        # a plain function
        gen = f.coroutine(4)
        assert list(enumerate(gen)) == [(0, 0), (1, 1), (2, 0), (3, 1), (4, 0)]


# --------------------------------------------------------------------------------------------
# creating coroutines


class TestCreation:
    def test_coroutine_method_returns_lua_thread(self, lupa, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert type(gen).__name__ == "_LuaThread"
        assert type(gen).__module__ == lupa.__name__
        assert lupa.lua_type(gen) == "thread"

    def test_lua_thread_repr(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert re.fullmatch(r"<Lua thread at 0x[0-9a-fA-F]+>", repr(gen))

    def test_lua_thread_len_is_zero(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert len(gen) == 0

    def test_start_args_are_passed_on_first_resume(self, lua):
        f = lua.eval("function(a, b) coroutine.yield(a + b) end")
        assert list(f.coroutine(1, 2)) == [3]

    def test_start_args_are_kept_until_the_first_next(self, lua):
        """The args live on the Python side; the Lua function has not run yet."""
        lua.execute("calls = 0")
        f = lua.eval("function(a) calls = calls + 1; coroutine.yield(a) end")
        gen = f.coroutine("x")
        assert lua.eval("calls") == 0
        assert next(gen) == "x"
        assert lua.eval("calls") == 1

    def test_each_coroutine_call_is_independent(self, lua):
        f = lua.eval("function(n) for i = 1, n do coroutine.yield(i) end end")
        g1 = f.coroutine(2)
        g2 = f.coroutine(3)
        assert next(g1) == 1
        assert list(g2) == [1, 2, 3]
        assert list(g1) == [2]

    @pytest.mark.parametrize("expr", ["print", "string.rep", "coroutine.yield"])
    def test_coroutine_of_c_function_raises_type_error(self, lua, expr):
        with pytest.raises(TypeError, match=re.escape("Lua object is not a function")):
            lua.eval(expr).coroutine()


class TestCoroutineFunctionFromLua:
    """An unstarted ``coroutine.create(f)`` arrives as ``_LuaCoroutineFunction``."""

    def test_type_and_mro(self, lupa, lua):
        co = lua.eval("coroutine.create(function() end)")
        assert type(co).__name__ == "_LuaCoroutineFunction"
        assert [c.__name__ for c in type(co).__mro__] == [
            "_LuaCoroutineFunction",
            "_LuaFunction",
            "_LuaObject",
            "object",
        ]

    def test_lua_type_is_function(self, lupa, lua):
        co = lua.eval("coroutine.create(function() end)")
        assert lupa.lua_type(co) == "function"

    def test_repr_shows_the_function(self, lua):
        co = lua.eval("coroutine.create(function() end)")
        assert re.fullmatch(r"<Lua function at 0x[0-9a-fA-F]+>", repr(co))

    def test_calling_returns_a_started_thread_object(self, lupa, lua):
        co = lua.eval("coroutine.create(function(a) coroutine.yield(a) end)")
        gen = co(1)
        assert type(gen).__name__ == "_LuaThread"
        assert lupa.lua_type(gen) == "thread"

    def test_each_call_starts_a_fresh_coroutine(self, lua):
        co = lua.eval("coroutine.create(function(a) coroutine.yield(a) coroutine.yield(a * 2) end)")
        g2 = co(2)
        g3 = co(3)
        assert next(g2) == 2
        assert list(g3) == [3, 6]
        assert list(g2) == [4]
        # calling again still works after the others finished
        assert list(co(5)) == [5, 10]

    def test_coroutine_method_also_works(self, lua):
        co = lua.eval("coroutine.create(function(...) coroutine.yield(...) end)")
        assert list(co.coroutine(1, 2)) == [(1, 2)]
        assert list(co(3)) == [3]

    def test_passing_back_to_lua_passes_the_function(self, lua):
        co = lua.eval("coroutine.create(function() return 42 end)")
        assert lua.eval("type")(co) == "function"
        assert lua.eval("function(f) return f() end")(co) == 42

    def test_the_original_lua_thread_is_not_consumed(self, lua):
        lua.execute("co = coroutine.create(function(a) coroutine.yield(a) end)")
        co = lua.eval("co")
        assert list(co(1)) == [1]
        assert lua.eval("coroutine.status(co)") == "suspended"
        assert lua.eval("select(2, coroutine.resume(co, 7))") == 7

    def test_attribute_and_item_access_is_refused(self, lua):
        co = lua.eval("coroutine.create(function() end)")
        with pytest.raises(
            AttributeError, match=re.escape("item/attribute access not supported on functions")
        ):
            co.x  # noqa: B018
        with pytest.raises(
            TypeError, match=re.escape("item/attribute access not supported on functions")
        ):
            co[1]  # noqa: B018


class TestStartedThreadFromLua:
    def test_started_thread_arrives_as_lua_thread(self, lupa, lua):
        thread = lua.execute(
            """
            local co = coroutine.create(function() coroutine.yield(1) coroutine.yield(2) end)
            coroutine.resume(co)
            return co
            """
        )
        assert type(thread).__name__ == "_LuaThread"
        assert lupa.lua_type(thread) == "thread"
        assert bool(thread) is True
        assert list(thread) == [2]
        assert bool(thread) is False

    def test_dead_thread_arrives_as_lua_thread(self, lupa, lua):
        thread = lua.execute(
            """
            local co = coroutine.create(function() end)
            coroutine.resume(co)
            return co
            """
        )
        assert type(thread).__name__ == "_LuaThread"
        assert bool(thread) is False
        assert list(thread) == []

    def test_errored_thread_arrives_as_lua_thread(self, lupa, lua):
        thread = lua.execute(
            """
            local co = coroutine.create(function() error("x") end)
            coroutine.resume(co)
            return co
            """
        )
        assert type(thread).__name__ == "_LuaThread"
        assert bool(thread) is False

    def test_idle_main_thread_counts_as_finished(self, lupa, lua):
        """`coroutine.running()` outside a coroutine (5.2+; nil on 5.1 and LuaJIT)."""
        main = lua.eval("coroutine.running()")
        if main is None:
            assert lua.lua_version < (5, 2) or lua.lua_implementation.startswith("LuaJIT")
            return
        main = main[0] if isinstance(main, tuple) else main
        assert type(main).__name__ == "_LuaThread"
        assert bool(main) is False
        with pytest.raises(StopIteration):
            next(main)
        assert list(main) == []
        assert lua.eval("1 + 1") == 2

    @pytest.mark.improvement
    def test_a_running_coroutine_cannot_be_resumed_from_its_callback(self, lupa, lua):
        """Lua's own error (upstream raises StopIteration inside the callback)."""
        seen = []

        def callback(thread):
            seen.append(bool(thread))
            return next(thread)

        run = lua.eval(
            "function(cb) local co = coroutine.create(function() "
            "return cb((coroutine.running())) end) return coroutine.resume(co) end"
        )
        ok, error = run(callback)
        assert ok is False
        assert isinstance(error, lupa.LuaError)
        assert "cannot resume non-suspended coroutine" in str(error)
        assert seen == [True]


class TestCoroutineWrap:
    def test_wrap_is_a_plain_function(self, lua):
        w = lua.eval("coroutine.wrap(function(a) coroutine.yield(a) end)")
        assert type(w).__name__ == "_LuaFunction"

    def test_wrap_is_called_repeatedly(self, lua):
        w = lua.eval("coroutine.wrap(function(a) coroutine.yield(a) coroutine.yield(a * 2) end)")
        assert w(5) == 5
        assert w() == 10
        assert w() is None  # the body returned without values

    def test_wrap_returns_multiple_values_as_tuple(self, lua):
        w = lua.eval("coroutine.wrap(function() coroutine.yield(1, 2) end)")
        assert w() == (1, 2)

    def test_calling_a_dead_wrap_raises_lua_error(self, lupa, lua):
        w = lua.eval("coroutine.wrap(function() end)")
        assert w() is None
        with pytest.raises(lupa.LuaError, match="^cannot resume dead coroutine"):
            w()

    @pytest.mark.parametrize(
        "code, message",
        [
            ("local f = coroutine.wrap(function() error('boom') end) f()", "P: P: boom"),
            ("local f = coroutine.wrap(function() end) f() f()", "P: cannot resume dead coroutine"),
            (
                "coroutine.wrap(function() coroutine.wrap(function() error('in') end)() end)()",
                "P: P: P: in",
            ),
            ("return select(2, pcall(coroutine.wrap(function() error('x') end)))", "P: x"),
            ("return select(2, pcall(coroutine.wrap(function() error({}) end)))", None),
        ],
    )
    def test_luajit_wrap_errors_carry_the_callers_position(self, lupa, lua, code, message):
        """LuaJIT's `coroutine.wrap` adds its caller's position to a string error (lupa-rs
        puts the wrapped function behind a C function, which must add it in its place)."""
        if not _is_luajit(lupa):
            pytest.skip("LuaJIT's wording (lupa-rs keeps the library's wrap elsewhere)")
        position = '[string "<python>"]:1'
        try:
            result = lua.execute(code)
        except lupa.LuaError as error:
            result = str(error).splitlines()[0]
        if message is None:
            assert lupa.lua_type(result) == "table"
        else:
            assert result == message.replace("P", position)


# --------------------------------------------------------------------------------------------
# iteration and results


class TestIteration:
    def test_iter_returns_self(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert iter(gen) is gen

    def test_for_loop(self, lua):
        gen = lua.eval("function() for i = 1, 3 do coroutine.yield(i) end end").coroutine()
        seen = []
        for value in gen:
            seen.append(value)
        assert seen == [1, 2, 3]

    def test_second_iteration_is_empty(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert list(gen) == [1]
        assert list(gen) == []

    def test_returned_values_are_the_last_item(self, lua):
        gen = lua.eval("function() coroutine.yield(1) return 2 end").coroutine()
        assert list(gen) == [1, 2]

    def test_return_without_values_ends_iteration(self, lua):
        gen = lua.eval("function() coroutine.yield(1) return end").coroutine()
        assert list(gen) == [1]

    def test_empty_body(self, lua):
        gen = lua.eval("function() end").coroutine()
        assert list(gen) == []

    def test_yielded_tables_are_table_wrappers(self, lua):
        gen = lua.eval("function() coroutine.yield({a = 1}) end").coroutine()
        (table,) = list(gen)
        assert table.a == 1

    def test_yielded_lua_function_can_be_called_later(self, lua):
        gen = lua.eval(
            "function() coroutine.yield(function(x) return x * 2 end, {a = 1}) end"
        ).coroutine()
        func, table = next(gen)
        assert list(gen) == []
        assert func(3) == 6
        assert table.a == 1

    def test_many_yields(self, lua):
        gen = lua.eval("function(n) for i = 1, n do coroutine.yield(i) end end").coroutine(1000)
        assert list(gen) == list(range(1, 1001))

    def test_python_objects_round_trip_through_yield(self, lua):
        obj = object()
        gen = lua.eval("function(o) coroutine.yield(o) end").coroutine(obj)
        assert next(gen) is obj


class TestResultShaping:
    @pytest.mark.parametrize(
        "body, expected",
        [
            ("coroutine.yield(1)", 1),
            ("coroutine.yield('a')", "a"),
            ("coroutine.yield(1, 2)", (1, 2)),
            ("coroutine.yield(1, 'x', true)", (1, "x", True)),
            ("coroutine.yield()", None),
            ("coroutine.yield(nil)", None),
            ("coroutine.yield(nil, nil)", (None, None)),
            ("coroutine.yield(1, nil)", (1, None)),
        ],
    )
    def test_yielded_values(self, lua, body, expected):
        gen = lua.eval(f"function() {body} end").coroutine()
        assert next(gen) == expected

    def test_yielded_value_types(self, lua):
        gen = lua.eval("function() coroutine.yield(1, 1.5, 'a') end").coroutine()
        result = next(gen)
        assert type(result) is tuple
        assert [type(v) for v in result] == [int, float, str]

    def test_returned_single_value(self, lua):
        gen = lua.eval("function() return 1 end").coroutine()
        assert next(gen) == 1
        assert bool(gen) is False

    def test_returned_multiple_values_are_a_tuple(self, lua):
        gen = lua.eval("function() return 1, 2 end").coroutine()
        assert next(gen) == (1, 2)
        assert bool(gen) is False


class TestStopIteration:
    def test_return_without_values_raises_stop_iteration(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert next(gen) == 1
        with pytest.raises(StopIteration) as exc_info:
            next(gen)
        assert exc_info.value.args == ()
        assert exc_info.value.value is None

    def test_return_with_values_then_stop_iteration(self, lua):
        """Returned values come from next(); only the following call raises StopIteration."""
        gen = lua.eval("function() return 1, 2 end").coroutine()
        assert next(gen) == (1, 2)
        with pytest.raises(StopIteration) as exc_info:
            next(gen)
        assert exc_info.value.value is None

    def test_finished_coroutine_keeps_raising_stop_iteration(self, lua):
        gen = lua.eval("function() end").coroutine()
        for _ in range(3):
            with pytest.raises(StopIteration):
                next(gen)

    def test_send_on_finished_coroutine_raises_stop_iteration(self, lua):
        gen = lua.eval("function() end").coroutine()
        with pytest.raises(StopIteration):
            next(gen)
        with pytest.raises(StopIteration):
            gen.send(None)
        with pytest.raises(StopIteration):
            gen.send(1)

    def test_next_default_value(self, lua):
        gen = lua.eval("function() end").coroutine()
        assert next(gen, "done") == "done"


# --------------------------------------------------------------------------------------------
# send()


class TestSend:
    def test_first_send_must_be_none(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        with pytest.raises(
            TypeError, match=re.escape("can't send non-None value to a just-started generator")
        ):
            gen.send(1)

    @pytest.mark.parametrize("value", [0, False, (), [], "", (1, 2)])
    def test_first_send_rejects_falsy_and_tuple_values(self, lua, value):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        with pytest.raises(
            TypeError, match=re.escape("can't send non-None value to a just-started generator")
        ):
            gen.send(value)

    def test_rejected_first_send_does_not_start_the_coroutine(self, lua):
        gen = lua.eval("function(a) local x = coroutine.yield(a); coroutine.yield(x) end")
        gen = gen.coroutine(5)
        with pytest.raises(TypeError):
            gen.send(1)
        assert bool(gen) is True
        assert next(gen) == 5
        assert gen.send(9) == 9

    def test_first_send_none_starts_with_stored_args(self, lua):
        gen = lua.eval("function(a, b) coroutine.yield(a, b) end").coroutine(1, 2)
        assert gen.send(None) == (1, 2)

    def test_send_passes_value_to_yield(self, lua):
        gen = lua.eval(
            "function() local x = coroutine.yield('ready'); coroutine.yield(x * 10) end"
        ).coroutine()
        assert next(gen) == "ready"
        assert gen.send(4) == 40

    def test_tuple_is_unpacked_into_several_values(self, lua):
        gen = lua.eval(
            """
            function()
                local a, b, c = coroutine.yield()
                coroutine.yield(select('#', a, b, c), a, b, c)
            end
            """
        ).coroutine()
        next(gen)
        assert gen.send((1, "two", 3.0)) == (3, 1, "two", 3.0)

    def test_tuple_argument_count(self, lua):
        gen = lua.eval(
            """
            function()
                local n = select('#', coroutine.yield())
                while true do n = select('#', coroutine.yield(n)) end
            end
            """
        ).coroutine()
        next(gen)
        assert gen.send((1, 2)) == 2
        assert gen.send((1, 2, 3)) == 3
        assert gen.send(()) == 0  # an empty tuple resumes with no values
        assert gen.send(1) == 1
        assert gen.send(None) == 0  # later send(None) resumes with no values
        assert next(gen) == 0

    def test_list_is_passed_as_one_value(self, lua):
        gen = lua.eval(
            """
            function()
                local x = coroutine.yield()
                coroutine.yield(select('#', x), type(x), x)
            end
            """
        ).coroutine()
        next(gen)
        seq = [1, 2]
        count, lua_type, value = gen.send(seq)
        assert count == 1
        assert lua_type == "userdata"
        assert value is seq

    def test_nested_tuple_is_one_value(self, lua):
        gen = lua.eval("function() coroutine.yield(select('#', coroutine.yield())) end").coroutine()
        next(gen)
        assert gen.send(((1, 2),)) == 1

    def test_send_none_as_single_value_inside_tuple(self, lua):
        gen = lua.eval(
            """
            function()
                coroutine.yield(select('#', coroutine.yield()), 'end')
            end
            """
        ).coroutine()
        next(gen)
        assert gen.send((None,)) == (1, "end")

    def test_send_returns_next_yield(self, lua):
        gen = lua.eval(
            """
            function()
                local total = 0
                while true do
                    local v = coroutine.yield(total)
                    total = total + v
                end
            end
            """
        ).coroutine()
        assert gen.send(None) == 0
        assert gen.send(1) == 1
        assert gen.send(2) == 3
        assert gen.send(3) == 6


# --------------------------------------------------------------------------------------------
# bool() status


class TestBool:
    def test_not_started_is_true(self, lua):
        gen = lua.eval("function() end").coroutine()
        assert bool(gen) is True

    def test_suspended_is_true(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        next(gen)
        assert bool(gen) is True

    def test_finished_is_false(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        list(gen)
        assert bool(gen) is False

    def test_finished_after_returning_values_is_false(self, lua):
        gen = lua.eval("function() return 1 end").coroutine()
        next(gen)
        assert bool(gen) is False

    def test_errored_is_false(self, lupa, lua):
        gen = lua.eval("function() error('x') end").coroutine()
        with pytest.raises(lupa.LuaError):
            next(gen)
        assert bool(gen) is False

    def test_running_is_true(self, lua):
        seen = []
        gen = None

        def callback():
            seen.append(bool(gen))

        gen = lua.eval("function(f) f(); coroutine.yield(1) end").coroutine(callback)
        assert next(gen) == 1
        assert seen == [True]

    def test_other_wrappers_are_always_true(self, lua):
        assert bool(lua.eval("function() end")) is True
        assert bool(lua.eval("coroutine.create(function() end)")) is True


# --------------------------------------------------------------------------------------------
# errors


class TestErrors:
    def test_error_has_no_traceback(self, lupa, lua):
        gen = lua.eval("function() coroutine.yield(1); error('in coro') end").coroutine()
        assert next(gen) == 1
        with pytest.raises(lupa.LuaError) as exc_info:
            next(gen)
        assert type(exc_info.value) is lupa.LuaError
        assert str(exc_info.value) == '[string "<python>"]:1: in coro'
        assert exc_info.value.args == ('[string "<python>"]:1: in coro',)

    def test_error_on_first_resume(self, lupa, lua):
        gen = lua.eval("function() error('x') end").coroutine()
        with pytest.raises(lupa.LuaError) as exc_info:
            next(gen)
        assert str(exc_info.value) == '[string "<python>"]:1: x'

    def test_error_through_send(self, lupa, lua):
        gen = lua.eval(
            "function() local v = coroutine.yield(); error('got ' .. v, 0) end"
        ).coroutine()
        next(gen)
        with pytest.raises(lupa.LuaError) as exc_info:
            gen.send("it")
        assert str(exc_info.value) == "got it"

    def test_non_string_error_object_gives_empty_message(self, lupa, lua):
        gen = lua.eval("function() error({}) end").coroutine()
        with pytest.raises(lupa.LuaError) as exc_info:
            next(gen)
        assert str(exc_info.value) == ""

    @pytest.mark.parametrize(
        "resume",
        [lambda gen: next(gen), lambda gen: gen.send(None), lambda gen: gen.send(1)],
        ids=["next", "send-none", "send-value"],
    )
    def test_resuming_errored_coroutine_raises_lua_error(self, lupa, lua, resume):
        """Not StopIteration: Lua reports the dead coroutine."""
        gen = lua.eval("function() coroutine.yield(1); error('in coro') end").coroutine()
        next(gen)
        with pytest.raises(lupa.LuaError):
            next(gen)
        with pytest.raises(lupa.LuaError) as exc_info:
            resume(gen)
        assert str(exc_info.value) == _resume_dead_message(lua)

    @pytest.mark.improvement
    @pytest.mark.parametrize("coroutine_kind", ["errored", "running"])
    def test_resuming_an_unresumable_coroutine_at_the_memory_limit_raises(
        self, lupa, coroutine_kind
    ):
        """`lua_resume` makes its "cannot resume" message outside any protected call: out of
        memory there aborted the process (LuaJIT: "Rust cannot catch foreign exceptions")."""
        out = run_isolated(
            lupa,
            f"""
            lua = lupa.LuaRuntime(max_memory=0)

            def resume_at_the_limit(co):
                lua.set_max_memory(1)
                try:
                    next(co)
                except lupa.LuaError as error:
                    print(error)
                lua.set_max_memory(0)

            if {coroutine_kind!r} == "errored":
                co = lua.eval("function() coroutine.yield(1) error('dead') end").coroutine()
                next(co)
                try:
                    next(co)
                except lupa.LuaError:
                    pass
                resume_at_the_limit(co)
            else:
                # `outer` waits in Lua's `coroutine.resume` of another coroutine, whose
                # Python callback resumes `outer`.
                lua.globals().callback = lambda: resume_at_the_limit(outer)
                outer = lua.eval(
                    "function() coroutine.resume(coroutine.create(function() callback() end)) end"
                ).coroutine()
                next(outer, None)
            """,
        )
        lua = lupa.LuaRuntime()
        expected = {
            "errored": _resume_dead_message(lua),
            # (From inside: the coroutine is running.)
            "running": "cannot resume non-suspended coroutine",
        }
        assert out.strip() == expected[coroutine_kind]

    @pytest.mark.improvement
    @pytest.mark.parametrize("operation", ["resume", "close", "status", "python"])
    def test_a_coroutine_resumed_from_python_cannot_resume_or_close_the_main_thread(
        self, lupa, lua, operation
    ):
        """While Python resumes a coroutine, the main thread sits at its base level, which Lua
        takes for a coroutine that has not started: resuming it (from Lua or Python) ran a
        value of the host's stack and left the main thread dead, closing it reset its stack
        (a crash).  It is "normal", as in Lua."""
        if lua.eval("coroutine.running()") is None:
            pytest.skip("Lua 5.1 and LuaJIT do not hand out the main thread")
        if operation == "close" and lua.eval("coroutine.close") is None:
            pytest.skip("coroutine.close is Lua 5.4+")
        body = {
            "resume": "coroutine.yield((coroutine.resume(MAIN)))",
            "close": "coroutine.yield((pcall(coroutine.close, MAIN)))",
            "status": "coroutine.yield(coroutine.status(MAIN))",
            # `next()` of a wrapper of the main thread, from a callback in the coroutine.
            "python": "coroutine.yield(resume_main())",
        }[operation]
        out = run_isolated(
            lupa,
            f"""
            lua = lupa.LuaRuntime()
            lua.execute("MAIN = coroutine.running()")
            main = lua.eval("MAIN")

            def resume_main():
                try:
                    next(main)
                except lupa.LuaError as error:
                    return str(error) == "cannot resume non-suspended coroutine"

            lua.globals().resume_main = resume_main
            co = lua.eval({f"function() {body} end"!r}).coroutine()
            print(next(co), lua.eval("coroutine.status(MAIN)"), lua.eval("1 + 1"))
            """,
        )
        expected = {"resume": "False", "close": "False", "status": "normal", "python": "True"}
        assert out.split() == [expected[operation], "running", "2"]

    def test_calling_thread_object_raises_lua_error(self, lupa, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        with pytest.raises(lupa.LuaError) as exc_info:
            gen()
        assert str(exc_info.value) == "attempt to call a thread value\nstack traceback:"

    def test_item_access_on_thread_raises_type_error(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        with pytest.raises(
            TypeError, match=re.escape("item/attribute access not supported on functions")
        ):
            gen[1]  # noqa: B018

    def test_attribute_access_on_thread_raises_attribute_error(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        with pytest.raises(
            AttributeError, match=re.escape("item/attribute access not supported on functions")
        ):
            gen.foo  # noqa: B018

    def test_methods_cannot_be_replaced(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        with pytest.raises(AttributeError):
            gen.send = 5
        with pytest.raises(AttributeError):
            gen.foo = 5

    def test_python_exception_caught_by_pcall_inside_coroutine(self, lua):
        error = ValueError("bad")

        def callback():
            raise error

        gen = lua.eval(
            "function(f) local ok, e = pcall(f); coroutine.yield(ok, e, tostring(e)) end"
        ).coroutine(callback)
        ok, exc, text = next(gen)
        assert ok is False
        assert exc is error
        assert text == "bad"

    def test_python_exception_in_coroutine_raises(self, lupa, lua):
        """Upstream turns it into LuaError(''); the improved form is tested below."""

        def callback():
            raise ValueError("boom")

        gen = lua.eval("function(f) coroutine.yield(1); f() end").coroutine(callback)
        assert next(gen) == 1
        with pytest.raises((lupa.LuaError, ValueError)):
            next(gen)
        assert bool(gen) is False

    @pytest.mark.improvement
    def test_python_exception_in_coroutine_is_reraised_as_same_object(self, lua):
        """Upstream defect A7: upstream raises LuaError('') and drops the exception."""
        error = ValueError("boom")

        def callback():
            raise error

        gen = lua.eval("function(f) coroutine.yield(1); f() end").coroutine(callback)
        assert next(gen) == 1
        with pytest.raises(ValueError) as exc_info:
            next(gen)
        assert exc_info.value is error
        assert bool(gen) is False

    @pytest.mark.improvement
    def test_python_exception_on_first_resume_is_reraised(self, lua):
        """Upstream defect A7, for the very first resume and through send()."""
        error = KeyError("k")

        def callback(*args):
            raise error

        gen = lua.eval("function(f) f() end").coroutine(callback)
        with pytest.raises(KeyError) as exc_info:
            gen.send(None)
        assert exc_info.value is error

    @pytest.mark.improvement
    def test_python_exception_in_coroutine_keeps_callback_traceback(self, lua):
        """Upstream defect A7: the re-raised exception keeps the callback's frames."""

        def failing_callback():
            raise ValueError("boom")

        gen = lua.eval("function(f) f() end").coroutine(failing_callback)
        with pytest.raises(ValueError) as exc_info:
            next(gen)
        assert any(entry.name == "failing_callback" for entry in exc_info.traceback)

    @pytest.mark.improvement
    def test_lua_error_after_intercepted_python_exception_in_coroutine(self, lupa, lua):
        """After an exception from a coroutine, a plain Lua error is a plain LuaError."""

        def callback():
            raise ValueError("boom")

        gen = lua.eval("function(f) f() end").coroutine(callback)
        with pytest.raises(ValueError):
            next(gen)
        gen = lua.eval("function() error('plain', 0) end").coroutine()
        with pytest.raises(lupa.LuaError) as exc_info:
            next(gen)
        assert str(exc_info.value) == "plain"

    def test_yield_from_python_callback_is_not_possible(self, lupa, lua):
        """The callback's nested eval runs as a separate call; it cannot yield the coroutine."""

        def callback():
            lua.eval("coroutine.yield(5)")

        gen = lua.eval("function(f) f(); coroutine.yield('after') end").coroutine(callback)
        with pytest.raises(lupa.LuaError):
            next(gen)


# --------------------------------------------------------------------------------------------
# threads passed back to Lua


class TestThreadsInLua:
    def test_status_of_unstarted_thread(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert lua.eval("coroutine.status")(gen) == "suspended"

    def test_type_in_lua(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert lua.eval("type")(gen) == "thread"

    def test_lua_resume_ignores_python_start_args(self, lua):
        gen = lua.eval("function(a, b) coroutine.yield(a, b) end").coroutine(10, 20)
        resume = lua.eval("function(t, ...) return coroutine.resume(t, ...) end")
        assert resume(gen, 7, 8) == (True, 7, 8)

    def test_python_continues_after_lua_resume(self, lua):
        gen = lua.eval("function(a) coroutine.yield(a); coroutine.yield('second') end").coroutine(
            10
        )
        assert lua.eval("function(t) return coroutine.resume(t, 7) end")(gen) == (True, 7)
        assert lua.eval("coroutine.status")(gen) == "suspended"
        assert bool(gen) is True
        assert next(gen) == "second"

    def test_lua_finishes_thread_started_in_python(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert next(gen) == 1
        resume = lua.eval("function(t) return coroutine.resume(t) end")
        assert resume(gen) is True
        assert lua.eval("coroutine.status")(gen) == "dead"
        assert bool(gen) is False
        with pytest.raises(StopIteration):
            next(gen)

    def test_status_inside_running_coroutine(self, lua):
        gen = lua.eval(
            "function() coroutine.yield(coroutine.status(coroutine.running())) end"
        ).coroutine()
        assert next(gen) == "running"

    def test_status_of_dead_thread(self, lua):
        gen = lua.eval("function() end").coroutine()
        list(gen)
        assert lua.eval("coroutine.status")(gen) == "dead"

    def test_started_thread_returned_from_lua_drives_the_same_thread(self, lua):
        gen = lua.eval(
            "function() coroutine.yield(1) coroutine.yield(2) coroutine.yield(3) end"
        ).coroutine()
        assert next(gen) == 1
        same = lua.eval("function(t) return t end")(gen)
        assert type(same).__name__ == "_LuaThread"
        assert same is not gen  # a new wrapper per crossing
        assert next(same) == 2
        assert next(gen) == 3

    def test_unstarted_thread_returned_from_lua_is_a_coroutine_function(self, lua):
        """Status OK with only the function on its stack counts as 'not started'."""
        gen = lua.eval("function(a) coroutine.yield(a) end").coroutine(1)
        back = lua.eval("function(t) return t end")(gen)
        assert type(back).__name__ == "_LuaCoroutineFunction"
        assert list(back(5)) == [5]

    def test_thread_stored_in_table(self, lua):
        gen = lua.eval("function() coroutine.yield('x') end").coroutine()
        table = lua.table(gen)
        assert lua.eval("function(t) return select(2, coroutine.resume(t[1])) end")(table) == "x"


# --------------------------------------------------------------------------------------------
# yield across pcall


class TestYieldAcrossPcall:
    def test_yield_inside_pcall(self, lupa, lua):
        gen = lua.eval(
            """
            function()
                local ok, e = pcall(function() coroutine.yield(1) end)
                coroutine.yield(2)
            end
            """
        ).coroutine()
        if _yield_across_pcall_works(lupa):
            assert list(gen) == [1, 2]
        else:
            # Lua 5.1: pcall catches "attempt to yield across metamethod/C-call boundary"
            assert list(gen) == [2]

    def test_pcall_result_after_yield(self, lupa, lua):
        gen = lua.eval(
            """
            function()
                local ok, e = pcall(coroutine.yield, 1)
                coroutine.yield(2)
                coroutine.yield(ok)
            end
            """
        ).coroutine()
        if _yield_across_pcall_works(lupa):
            assert list(gen) == [1, 2, True]
        else:
            assert list(gen) == [2, False]

    def test_send_value_through_pcall(self, lupa, lua):
        if not _yield_across_pcall_works(lupa):
            pytest.skip("Lua 5.1 cannot yield across pcall")
        gen = lua.eval(
            """
            function()
                local ok, v = pcall(coroutine.yield, 'first')
                coroutine.yield(ok, v)
            end
            """
        ).coroutine()
        assert next(gen) == "first"
        assert gen.send("value") == (True, "value")


# --------------------------------------------------------------------------------------------
# threads


class TestCoroutinesAcrossPythonThreads:
    def test_resume_from_different_threads_one_after_another(self, lua):
        gen = lua.eval(
            "function() coroutine.yield(1) coroutine.yield(2) return {3} end"
        ).coroutine()
        results = []
        errors = []

        def step():
            try:
                results.append(next(gen))
            except StopIteration:
                results.append("stop")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        for _ in range(4):
            thread = threading.Thread(target=step)
            thread.start()
            thread.join(30)
        assert errors == []
        assert results[:2] == [1, 2]
        assert list(results[2].values()) == [3]
        assert results[3] == "stop"

    def test_send_from_different_threads(self, lua):
        gen = lua.eval(
            """
            function()
                local total = 0
                while true do total = total + coroutine.yield(total) end
            end
            """
        ).coroutine()
        assert gen.send(None) == 0
        results = []
        for value in (1, 2, 3):
            thread = threading.Thread(target=lambda v=value: results.append(gen.send(v)))
            thread.start()
            thread.join(30)
        assert results == [1, 3, 6]


# --------------------------------------------------------------------------------------------
# throw() and close() (improvement: upstream has neither)


class TestThrow:
    @pytest.mark.improvement
    def test_uncaught_throw_propagates_same_exception(self, lua):
        gen = lua.eval("function() coroutine.yield(1) coroutine.yield(2) end").coroutine()
        assert next(gen) == 1
        error = ValueError("thrown")
        with pytest.raises(ValueError) as exc_info:
            gen.throw(error)
        assert exc_info.value is error

    @pytest.mark.improvement
    def test_coroutine_is_finished_after_uncaught_throw(self, lua):
        gen = lua.eval("function() coroutine.yield(1) coroutine.yield(2) end").coroutine()
        next(gen)
        with pytest.raises(ValueError):
            gen.throw(ValueError("thrown"))
        assert bool(gen) is False
        with pytest.raises(StopIteration):
            next(gen)

    @pytest.mark.improvement
    def test_throw_caught_by_pcall_returns_next_yield(self, lupa, lua):
        if not _yield_across_pcall_works(lupa):
            pytest.skip("Lua 5.1 cannot yield across pcall")
        gen = lua.eval(
            """
            function()
                local ok, e = pcall(function() coroutine.yield(1) end)
                coroutine.yield(ok and 'no error' or 'caught')
                coroutine.yield('last')
            end
            """
        ).coroutine()
        assert next(gen) == 1
        assert gen.throw(ValueError("thrown")) == "caught"
        assert bool(gen) is True
        assert next(gen) == "last"
        with pytest.raises(StopIteration):
            next(gen)

    @pytest.mark.improvement
    def test_throw_caught_by_pcall_sees_the_exception(self, lupa, lua):
        if not _yield_across_pcall_works(lupa):
            pytest.skip("Lua 5.1 cannot yield across pcall")
        gen = lua.eval(
            """
            function()
                local ok, e = pcall(function() local v = coroutine.yield(1); return v end)
                coroutine.yield(ok, tostring(e))
            end
            """
        ).coroutine()
        assert next(gen) == 1
        assert gen.throw(ValueError("thrown")) == (False, "thrown")

    @pytest.mark.improvement
    def test_throw_reaches_pcall_that_calls_yield_directly(self, lupa, lua):
        """The exception appears at the yield itself, inside `pcall(coroutine.yield)`."""
        if not _yield_across_pcall_works(lupa):
            pytest.skip("Lua 5.1 cannot yield across pcall")
        if _is_luajit(lupa):
            pytest.skip("LuaJIT raises it before the next instruction of the Lua function")
        gen = lua.eval(
            """
            function()
                local ok, e = pcall(coroutine.yield, 1)
                coroutine.yield(ok, tostring(e))
            end
            """
        ).coroutine()
        assert next(gen) == 1
        assert gen.throw(ValueError("thrown")) == (False, "thrown")

    @pytest.mark.improvement
    def test_throw_at_pcall_of_yield_escapes_the_pcall_on_luajit(self, lupa, lua):
        """LuaJIT reports no return from the yield: the exception appears at the next
        instruction of the Lua function, after `pcall(coroutine.yield)` has returned."""
        if not _is_luajit(lupa):
            pytest.skip("PUC Lua raises it at the yield (see the test above)")
        gen = lua.eval(
            """
            function()
                local ok, e = pcall(coroutine.yield, 1)
                coroutine.yield(ok, tostring(e))
            end
            """
        ).coroutine()
        assert next(gen) == 1
        error = ValueError("thrown")
        with pytest.raises(ValueError) as exc_info:
            gen.throw(error)
        assert exc_info.value is error
        with pytest.raises(StopIteration):
            next(gen)

    @pytest.mark.improvement
    def test_throw_on_unstarted_coroutine_raises_directly(self, lua):
        lua.execute("ran = false")
        gen = lua.eval("function() ran = true; coroutine.yield(1) end").coroutine()
        error = KeyError("k")
        with pytest.raises(KeyError) as exc_info:
            gen.throw(error)
        assert exc_info.value is error
        assert lua.eval("ran") is False

    @pytest.mark.improvement
    def test_throw_on_finished_coroutine_raises_directly(self, lua):
        gen = lua.eval("function() end").coroutine()
        assert list(gen) == []
        error = RuntimeError("late")
        with pytest.raises(RuntimeError) as exc_info:
            gen.throw(error)
        assert exc_info.value is error


class TestClose:
    @pytest.mark.improvement
    def test_close_suspended_coroutine_finishes_it(self, lua):
        gen = lua.eval("function() coroutine.yield(1) coroutine.yield(2) end").coroutine()
        assert next(gen) == 1
        assert gen.close() is None
        assert bool(gen) is False
        with pytest.raises(StopIteration):
            next(gen)

    @pytest.mark.improvement
    def test_close_finished_coroutine_is_a_noop(self, lua):
        gen = lua.eval("function() coroutine.yield(1) end").coroutine()
        assert list(gen) == [1]
        assert gen.close() is None
        assert gen.close() is None
        assert bool(gen) is False
        with pytest.raises(StopIteration):
            next(gen)

    @pytest.mark.improvement
    def test_closed_coroutine_does_not_run_further_code(self, lua):
        lua.execute("after = false")
        gen = lua.eval("function() coroutine.yield(1); after = true end").coroutine()
        next(gen)
        gen.close()
        assert list(gen) == []
        assert lua.eval("after") is False

    @pytest.mark.improvement
    @pytest.mark.parametrize("how", ["close", "throw"])
    @pytest.mark.parametrize("use", ["close", "send", "bool"])
    def test_start_argument_whose_del_uses_the_coroutine(self, lua, how, use):
        """Closing an unstarted coroutine drops its start arguments; an argument's `__del__`
        may use the coroutine again (it used to wait for the coroutine's own lock forever)."""
        from helpers import watchdog

        used = []

        class Argument:
            def __del__(self):
                if use == "close":
                    used.append(gen.close())
                elif use == "send":
                    try:
                        gen.send(None)
                    except StopIteration:
                        used.append("stopped")
                else:
                    used.append(bool(gen))

        gen = lua.eval("function(x) coroutine.yield(x) end").coroutine(Argument())
        with watchdog():
            if how == "close":
                gen.close()
            else:
                with pytest.raises(KeyError):
                    gen.throw(KeyError("k"))
        assert used == [{"close": None, "send": "stopped", "bool": False}[use]]
