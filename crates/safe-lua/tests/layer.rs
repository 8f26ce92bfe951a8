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
    // (Luau words it "invalid argument #1 to 'f' (...)".)
    let bad = if safe_lua::flavour::IS_LUAU {
        "invalid argument #1"
    } else {
        "bad argument #1"
    };
    assert!(message.contains(bad), "{message}");
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
    let two_to_53 = if safe_lua::flavour::IS_LUAU {
        "9007199254740992" // the shortest form that reads back, without exponent below 1e21
    } else if cfg!(feature = "lua55") {
        "9007199254740992.0" // "%.17g" where "%.15g" does not read back
    } else {
        "9.007199254741e+15" // "%.14g"
    };
    for (code, text) in [("return 1.5", "1.5"), ("return 2^53", two_to_53)] {
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

/// Luau writes numbers in its own way (luau.rs); `to_text` must agree with its `tostring`.
#[test]
fn numbers_are_written_as_tostring_writes_them() {
    let lua = Lua::new();
    let st = lua.0;
    for code in [
        "0.1",
        "1/3",
        "-1/3",
        "2^53",
        "2^53 + 2",
        "1e21",
        "1e20",
        "123456789012",
        "1e-5",
        "1.5e-6",
        "1e-7",
        "-0.0",
        "1/0",
        "-1/0",
        "0/0",
        "1e300 * 10",
        "5e-324",
        "2^-1074 * 3",
        "12.5",
        "100",
        "-7",
        "1e15 + 0.3",
        "3.14159265358979",
        "0.25",
        "2.5e-1",
        "1e15 + 0.25",
    ] {
        assert_eq!(
            lua.run(&format!("local x = {code}; return x, tostring(x)")),
            LUA_OK
        );
        // (pcall keeps one result: run it again for the text)
        st.set_top(0);
        assert_eq!(lua.run(&format!("return tostring({code})")), LUA_OK);
        let expected = lua.text(-1);
        st.set_top(0);
        assert_eq!(lua.run(&format!("return {code}")), LUA_OK);
        if code == "0/0" && !safe_lua::flavour::IS_LUAU {
            // PUC Lua prints the NaN's sign ("-nan" on x86), as `to_text` does.
            st.set_top(0);
            continue;
        }
        assert_eq!(lua.text(-1), expected, "{code}");
        st.set_top(0);
    }
}

/// As above, for many numbers of every magnitude (`tostring` called on each).
#[test]
fn many_numbers_are_written_as_tostring_writes_them() {
    let lua = Lua::new();
    let st = lua.0;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = match i % 4 {
            0 => f64::from_bits(seed),
            1 => (seed % 1_000_000) as f64 / 1000.0,
            2 => (seed >> 11) as f64 * 2f64.powi((seed % 80) as i32 - 60),
            _ => (seed % 100_000) as f64 / 8.0 + 1e15,
        };
        if n.is_nan() {
            continue;
        }
        assert_eq!(lua.run("return tostring"), LUA_OK);
        st.push_number(n);
        assert_eq!(st.pcall(1, 1, 0), LUA_OK);
        let expected = lua.text(-1);
        st.set_top(0);
        st.push_number(n);
        assert_eq!(lua.text(-1), expected, "{n:e}");
        st.set_top(0);
    }
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
