//! The safety layer on a real Lua state, for the flavour the crate is built for:
//! `cargo test -p safe-lua --features lua54,vendored` (one flavour per build).

use std::ffi::c_int;

use safe_lua::sys::{LUA_ERRRUN, LUA_OK, LUA_TNUMBER, LUA_TSTRING, LUA_YIELD, lua_State};
use safe_lua::{CanRaise, Marker, Message, Op, Raise, State, run_c_function};

mod common;
use common::{Lua, PushForTest};

#[test]
fn a_new_state_has_the_standard_libraries() {
    let lua = Lua::new();
    assert_eq!(lua.run("return type(string.format)"), LUA_OK);
    assert_eq!(lua.text(-1), "function");
    assert_eq!(lua.0.top(), 1);
}

#[test]
fn protected_operations_catch_metamethod_errors() {
    let lua = Lua::new();
    let st = lua.0;
    assert_eq!(
        lua.run("return setmetatable({}, {__index = function() error('no such key', 0) end})"),
        LUA_OK
    );
    st.push_str_for_test("key");
    // [t, key] -> error object
    let status = st.protected(Op::GET_TABLE, std::ptr::null_mut(), 2, 1, 0);
    assert_eq!(status, LUA_ERRRUN);
    assert_eq!(lua.text(-1), "no such key");
    st.pop(1);
    assert_eq!(st.top(), 0);
}

#[test]
fn a_nan_key_is_an_error_not_an_abort() {
    let lua = Lua::new();
    let st = lua.0;
    assert_eq!(lua.run("return {}"), LUA_OK);
    st.push_number(f64::NAN);
    st.push_integer(1);
    assert_eq!(
        st.protected(Op::RAW_SET, std::ptr::null_mut(), 3, 0, 0),
        LUA_ERRRUN
    );
    assert!(lua.text(-1).contains("NaN"));
}

#[test]
fn checked_raw_set_refuses_invalid_keys() {
    let lua = Lua::new();
    let st = lua.0;
    let grow = lua.data().can_grow().expect("no account, no limit");
    assert_eq!(lua.run("return {}"), LUA_OK);
    st.push_nil();
    st.push_integer(1);
    assert!(!st.raw_set_checked(grow, 1));
    assert_eq!(st.top(), 3); // nothing popped
    st.pop(2);
    st.push_integer(7);
    st.push_integer(1);
    assert!(st.raw_set_checked(grow, 1));
    assert_eq!(st.raw_get_i(1, 7), LUA_TNUMBER);
}

unsafe extern "C-unwind" fn fails_with_message(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua.
    unsafe {
        run_c_function(l, |_st| {
            Err(Raise::Message(Message::new(format_args!(
                "failed after {} steps",
                3
            ))))
        })
    }
}

unsafe extern "C-unwind" fn rejects_argument(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { run_c_function(l, |_st| Err(Raise::bad_argument(1, "number expected"))) }
}

unsafe extern "C-unwind" fn panics(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua.
    unsafe { run_c_function(l, |_st| panic!("a bug")) }
}

/// Calls the C function `f` from Lua code (so that Lua's argument errors name it).
fn call_from_lua(lua: &Lua, f: safe_lua::sys::lua_CFunction) -> (c_int, String) {
    let st = lua.0;
    // SAFETY: a test of a state nobody else uses, where errors are caught below.
    let raise = unsafe { CanRaise::assume() };
    st.push_cfunction(raise.create(), f);
    st.push_globals();
    st.insert(-2);
    st.set_field(raise, -2, c"f");
    st.pop(1);
    let status = lua.run("return f(1)");
    let text = lua.text(-1);
    st.set_top(0);
    (status, text)
}

#[test]
fn c_functions_raise_their_errors_after_the_rust_body_returned() {
    let lua = Lua::new();
    assert_eq!(
        call_from_lua(&lua, fails_with_message),
        (LUA_ERRRUN, "failed after 3 steps".to_owned())
    );
    let (status, message) = call_from_lua(&lua, rejects_argument);
    assert_eq!(status, LUA_ERRRUN);
    assert!(message.contains("bad argument #1"), "{message}");
    assert!(message.contains("number expected"), "{message}");
    let (status, message) = call_from_lua(&lua, panics);
    assert_eq!(status, LUA_ERRRUN);
    assert!(message.contains("a Rust panic reached Lua"), "{message}");
    assert_eq!(lua.run("return 1 + 1"), LUA_OK);
}

#[test]
fn memory_limits_fail_allocations_and_can_be_lifted() {
    if !safe_lua::flavour::CUSTOM_ALLOCATOR {
        // 64-bit LuaJIT 2.0: no state with a custom allocator, hence no memory accounting.
        let data = safe_lua::StateData::default();
        let config = safe_lua::StateConfig {
            data: &data,
            count_memory: true,
            hash_seed: None,
            registered: &[],
        };
        assert!(safe_lua::open_state(&config).is_none());
        return;
    }
    let lua = Lua::with(true);
    let account = &lua.data().memory;
    account.finish_initialisation(50_000);
    assert!(lua.data().can_grow().is_none());
    let status = lua.run("return string.rep('x', 100000)");
    // (Lua 5.3 reports a failed buffer allocation as a runtime error.)
    assert!(
        status == safe_lua::sys::LUA_ERRMEM || lua.text(-1).contains("not enough memory"),
        "{status}"
    );
    lua.0.set_top(0);
    assert!(account.used(false) < 50_000);
    let status =
        safe_lua::memory::with_limit_lifted(lua.0, || lua.run("return #string.rep('x', 100000)"));
    assert_eq!(status, LUA_OK);
    assert_eq!(lua.text(-1), "100000");
    account.set_limit(0, false);
    assert!(lua.data().can_grow().is_some());
}

#[test]
fn an_error_parked_for_a_coroutine_is_raised_at_its_yield() {
    let lua = Lua::new();
    let st = lua.0;
    assert_eq!(
        lua.run("return coroutine.create(function() coroutine.yield(1) return 'finished' end)"),
        LUA_OK
    );
    // SAFETY: the thread is kept alive by the stack.
    let co = unsafe { State::new(st.to_thread(-1)) };
    // SAFETY: a fresh coroutine of this state.
    assert_eq!(unsafe { co.resume(st, 0) }.0, LUA_YIELD);
    co.set_top(0);
    st.push_str_for_test("thrown");
    assert_eq!(st.raise_on_resume(co, lua.data().can_grow()), LUA_OK);
    // SAFETY: a suspended coroutine of this state.
    assert_eq!(unsafe { co.resume(st, 0) }.0, LUA_ERRRUN);
    assert_eq!(
        String::from_utf8(co.to_text(-1).unwrap()).unwrap(),
        "thrown"
    );
}

#[test]
fn markers_are_recognised() {
    let lua = Lua::new();
    let st = lua.0;
    st.push_marker(Marker::RegistryTampered);
    st.push_marker(Marker::OutOfMemory);
    st.push_integer(1);
    assert_eq!(st.marker_at(-3), Some(Marker::RegistryTampered));
    assert_eq!(st.marker_at(-2), Some(Marker::OutOfMemory));
    assert_eq!(st.marker_at(-1), None);
}

#[test]
fn next_refuses_a_key_the_table_no_longer_has() {
    let lua = Lua::new();
    let st = lua.0;
    assert_eq!(lua.run("return {a = 1}"), LUA_OK);
    st.push_str_for_test("gone");
    assert_eq!(st.next_if_valid(1), None);
    assert_eq!(st.top(), 2); // the key is still there
    st.pop(1);
    st.push_nil();
    assert_eq!(st.next_if_valid(1), Some(true));
    assert_eq!(st.type_of(-2), LUA_TSTRING);
}

#[test]
fn clearing_a_present_key_needs_nothing() {
    let lua = Lua::new();
    let st = lua.0;
    assert_eq!(lua.run("return {a = 1}"), LUA_OK);
    st.push_str_for_test("a");
    assert!(st.raw_clear_present_key(1));
    st.push_str_for_test("b");
    assert!(!st.raw_clear_present_key(1));
    assert_eq!(st.top(), 1);
    st.push_nil();
    assert_eq!(st.next_if_valid(1), Some(false)); // empty
}

#[test]
fn numbers_are_written_as_lua_writes_them() {
    let lua = Lua::new();
    for (code, text) in [("return 1.5", "1.5"), ("return 2^53", "9.007199254741e+15")] {
        assert_eq!(lua.run(code), LUA_OK);
        assert_eq!(lua.text(-1), text);
        lua.0.pop(1);
    }
    assert_eq!(lua.run("return 3.0"), LUA_OK);
    let three = if safe_lua::flavour::HAS_INTEGERS {
        "3.0"
    } else {
        "3"
    };
    assert_eq!(lua.text(-1), three);
}

#[test]
fn registry_slots_can_be_replaced() {
    let lua = Lua::new();
    let st = lua.0;
    let grow = lua.data().can_grow();
    st.push_integer(1);
    let slot = st.reference(grow.unwrap());
    st.push_str_for_test("replaced");
    assert_eq!(st.set_registry_slot(slot, grow), LUA_OK);
    assert_eq!(st.push_reference(slot), LUA_TSTRING);
    st.pop(1);
    // Protected, as under a memory limit:
    st.push_integer(5);
    assert_eq!(st.set_registry_slot(slot, None), LUA_OK);
    assert_eq!(st.push_reference(slot), LUA_TNUMBER);
    st.pop(1);
    st.unreference_safely(slot, None);
    // A released reference is handed out again.
    st.push_integer(9);
    assert_eq!(st.reference(grow.unwrap()), slot);
}
