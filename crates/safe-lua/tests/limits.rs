//! Limits on a real Lua state: nothing a script does lets it run past one.
//! `cargo test -p safe-lua --features lua54,vendored --test limits`

mod common;

use std::ffi::c_int;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Lua, PushForTest};
use safe_lua::sys::{LUA_OK, lua_State};
use safe_lua::{Budget, Trip};

const BUDGET: Budget = Budget {
    timeout: None,
    max_instructions: Some(100_000),
    watch: false,
};

/// Runs `code` as one entry with `budget`; returns the status, which limit tripped, and
/// whether the error on top is the limit's marker.
fn run_limited(lua: &Lua, code: &str, budget: Budget) -> (c_int, Option<Trip>) {
    let limits = &lua.data().limits;
    // LuaJIT's traces call no hooks: the owner of limits forbids the compiler.
    safe_lua::jit::forbid(lua.0, lua.data(), true);
    limits.begin(lua.0, budget);
    let status = lua.run(code);
    let tripped = limits.tripped();
    limits.end();
    (status, tripped)
}

fn assert_stopped(lua: &Lua, code: &str, budget: Budget, trip: Trip) {
    // (The status may be OK when no instruction follows the trip, as after a tail call:
    // `tripped` is what counts.)
    let (_, tripped) = run_limited(lua, code, budget);
    assert_eq!(tripped, Some(trip), "{code}");
    lua.0.set_top(0);
    // Afterwards: a fresh entry runs, and plain code runs without any limit.
    assert_eq!(run_limited(lua, "return 1", budget), (LUA_OK, None));
    lua.0.set_top(0);
    assert_eq!(
        lua.run("local n = 0 for i = 1, 300000 do n = n + 1 end return n"),
        LUA_OK
    );
    assert_eq!(lua.text(-1), "300000");
    lua.0.set_top(0);
}

#[test]
fn an_instruction_budget_stops_a_loop() {
    let lua = Lua::new();
    let (status, tripped) = run_limited(&lua, "while true do end", BUDGET);
    assert_ne!(status, LUA_OK);
    assert_eq!(tripped, Some(Trip::Instructions));
}

#[test]
fn a_budget_that_suffices_changes_nothing() {
    let lua = Lua::new();
    let code = "local n = 0 for i = 1, 1000 do n = n + i end return n";
    assert_eq!(run_limited(&lua, code, BUDGET), (LUA_OK, None));
    assert_eq!(lua.text(-1), "500500");
}

#[test]
fn pcall_and_xpcall_cannot_catch_a_limit() {
    let lua = Lua::new();
    for code in [
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function() while true do end end) end",
        "local ok = pcall(function() while true do end end) while not ok do end",
        "while true do pcall(error) end",
    ] {
        assert_stopped(&lua, code, BUDGET, Trip::Instructions);
    }
}

// (Luau has no debug.sethook.)
#[cfg(not(feature = "luau"))]
#[test]
fn debug_sethook_cannot_remove_the_limit() {
    let lua = Lua::new();
    assert_stopped(
        &lua,
        "debug.sethook() while true do debug.sethook(function() end, '', 0) end",
        BUDGET,
        Trip::Instructions,
    );
    // Outside a budget, debug.sethook works as always.
    assert_eq!(
        lua.run("local n = 0 debug.sethook(function() n = n + 1 end, '', 10) for i = 1, 100 do end debug.sethook() return tostring(n > 0)"),
        LUA_OK
    );
    assert_eq!(lua.text(-1), "true");
}

#[test]
fn coroutines_are_limited_even_if_created_before() {
    let lua = Lua::new();
    assert_eq!(
        lua.run("co = coroutine.create(function() while true do end end) wrapped = coroutine.wrap(function() while true do coroutine.yield() end end) return 1"),
        LUA_OK
    );
    lua.0.set_top(0);
    assert_stopped(
        &lua,
        "return coroutine.resume(co)",
        BUDGET,
        Trip::Instructions,
    );
    assert_stopped(
        &lua,
        "while true do wrapped() end",
        BUDGET,
        Trip::Instructions,
    );
    assert_stopped(
        &lua,
        "while true do local c = coroutine.create(function() while true do end end) coroutine.resume(c) end",
        BUDGET,
        Trip::Instructions,
    );
}

#[test]
fn a_timeout_stops_a_loop_from_the_watchdog() {
    let lua = Lua::new();
    let budget = Budget {
        timeout: Some(Duration::from_millis(200)),
        ..Budget::default()
    };
    let started = Instant::now();
    assert_stopped(&lua, "while true do end", budget, Trip::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Inside a coroutine resumed by Lua code, behind a pcall.
    assert_stopped(
        &lua,
        "local co = coroutine.wrap(function() while true do pcall(function() while true do end end) end end) co()",
        budget,
        Trip::Timeout,
    );
}

static RUNNING: AtomicBool = AtomicBool::new(false);

/// `ready()`: tells the test that Lua code runs.
unsafe extern "C-unwind" fn ready(_: *mut lua_State) -> c_int {
    RUNNING.store(true, Ordering::SeqCst);
    0
}

#[test]
fn interrupt_stops_the_running_entry_from_another_thread() {
    let lua = Lua::new();
    let st = lua.0;
    // SAFETY: creating a C function in a fresh state, without a memory limit.
    st.push_cfunction(unsafe { safe_lua::CanRaise::assume() }.create(), ready);
    st.set_global_for_test("ready");
    // Interrupting while nothing runs has no effect on the next entry.
    lua.data().limits.interrupt();
    assert_eq!(
        run_limited(&lua, "return 1", Budget::default()),
        (LUA_OK, None)
    );
    st.set_top(0);
    let limits = &lua.data().limits;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !RUNNING.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
            limits.interrupt();
        });
        let (status, tripped) = run_limited(&lua, "ready() while true do end", Budget::default());
        assert_ne!(status, LUA_OK);
        assert_eq!(tripped, Some(Trip::Interrupted));
    });
}

// (Luau never calls __gc, and has no collectgarbage().)
#[cfg(not(feature = "luau"))]
#[test]
fn finalizers_that_loop_are_stopped_too() {
    let lua = Lua::new();
    let code = "setmetatable({}, {__gc = function() while true do end end}) collectgarbage() while true do end";
    assert_stopped(&lua, code, BUDGET, Trip::Instructions);
    let budget = Budget {
        timeout: Some(Duration::from_millis(200)),
        ..Budget::default()
    };
    assert_stopped(&lua, code, budget, Trip::Timeout);
}

#[test]
fn closing_a_state_meets_the_budget_of_the_close() {
    let lua = Lua::new();
    assert_eq!(
        lua.run("for i = 1, 3 do setmetatable({}, {__gc = function() while true do end end}) end return 1"),
        LUA_OK
    );
    let started = Instant::now();
    let budget = Budget {
        timeout: Some(Duration::from_millis(200)),
        ..Budget::default()
    };
    safe_lua::jit::forbid(lua.0, lua.data(), true);
    lua.data().limits.begin(lua.0, budget);
    drop(lua); // closes the state
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
