//! Luau: `debug.sethook` and `debug.gethook` for count hooks, on the interrupt callback.
//!
//! Luau has no debug hooks, but it calls its interrupt callback at every safepoint (a call, a
//! return, a loop back edge: see `limits/interrupt.rs`), and the crate's callback runs the
//! hook a script set with `debug.sethook(f, "", n)`: `f("count")` at every `n`th safepoint,
//! after the limits have had their say (a hook can neither outrun nor switch off a limit).
//! Code that arms a count hook to stop a script that runs too long (as Scribunto hosts do)
//! thus works on Luau too, with Luau's unit of count.
//!
//! What Lua does and this does too: no hook runs while the hook function runs; an error in
//! the hook function propagates into the code it interrupted; `debug.sethook()` (no function)
//! removes the hook; `debug.gethook()` returns the function, the mask and the count.  What
//! differs: Luau has no call, return and line events (a mask that asks for one is an error),
//! and, as on LuaJIT, a hook is one for all threads of the state (the thread argument is
//! accepted and ignored).

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::Relaxed};

use mlua_sys as ffi;

use crate::{CanRaise, State, StateData};

/// A script's count hook (one per state).
#[derive(Default)]
pub(crate) struct ScriptHook {
    /// Safepoints from one call of the hook function to the next; 0: no hook.
    every: AtomicI64,
    /// Safepoints left until the next call.
    left: AtomicI64,
    /// The hook function runs (no hook inside a hook).
    running: AtomicBool,
}

impl ScriptHook {
    /// Counts a safepoint of the running code and calls the hook function when it is due.
    /// Returns whether a hook is set (the interrupt callback then stays armed).  Called by
    /// the interrupt callback, outside the collector; may raise (the hook function's errors).
    pub(crate) fn at_safepoint(&self, st: State, raise: CanRaise) -> bool {
        let every = self.every.load(Relaxed);
        if every <= 0 {
            return false;
        }
        if self.running.load(Relaxed) {
            return true;
        }
        // (Only the thread that runs Lua code gets here.)
        let left = self.left.load(Relaxed) - 1;
        if left > 0 {
            self.left.store(left, Relaxed);
            return true;
        }
        self.left.store(every, Relaxed);
        self.call(st, raise);
        true
    }

    /// Calls the hook function with "count"; its error, if any, is raised again here.
    fn call(&self, st: State, raise: CanRaise) {
        let l = st.as_ptr();
        // SAFETY: a running thread at a safepoint, from the interrupt callback, which owns
        // nothing that needs dropping (`raise`): growing the stack and the pushes may raise a
        // memory error, and the hook function's error is raised on purpose.
        unsafe {
            if ffi::lua_checkstack(l, 3) == 0 {
                return;
            }
            st.push_pointer(hook_key());
            if st.raw_get(ffi::LUA_REGISTRYINDEX) != ffi::LUA_TFUNCTION {
                st.pop(1);
                return;
            }
            st.push_str(raise.create(), "count");
            self.running.store(true, Relaxed);
            let status = ffi::lua_pcall(l, 1, 0, 0);
            self.running.store(false, Relaxed);
            if status != ffi::LUA_OK {
                ffi::lua_error(l);
            }
        }
    }
}

/// The registry key of the hook function.
static HOOK: u8 = 0;

fn hook_key() -> *mut c_void {
    (&raw const HOOK).cast_mut().cast()
}

/// Adds `debug.sethook` and `debug.gethook`.  Runs in `open_libraries`, protected.
pub(crate) fn install(st: State, raise: CanRaise) {
    st.push_globals();
    if st.get_field(raise, -1, c"debug") == ffi::LUA_TTABLE {
        st.push_named_cfunction(raise.create(), sethook, c"sethook");
        st.set_field(raise, -2, c"sethook");
        st.push_named_cfunction(raise.create(), gethook, c"gethook");
        st.set_field(raise, -2, c"gethook");
    }
    st.pop(2);
}

/// `debug.sethook([thread,] [hook, mask [, count]])`.  A raw C function that owns nothing
/// (its errors are the library's argument errors and memory errors).
unsafe extern "C-unwind" fn sethook(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; this frame owns nothing that needs dropping.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    let Some(data) = StateData::of(st) else {
        return 0;
    };
    let hook = &data.script_hook;
    let arg = if st.type_of(1) == ffi::LUA_TTHREAD {
        1
    } else {
        0
    };
    let count = if st.type_of(arg + 1) <= ffi::LUA_TNIL {
        0
    } else {
        // SAFETY: as above: the checks raise the library's argument errors.
        unsafe {
            ffi::luaL_checktype(l, arg + 1, ffi::LUA_TFUNCTION);
            let mut length = 0;
            let mask = ffi::luaL_checklstring(l, arg + 2, &mut length);
            let mask = std::slice::from_raw_parts(mask.cast::<u8>(), length);
            if mask.iter().any(|c| b"crl".contains(c)) {
                ffi::luaL_argerror(
                    l,
                    arg + 2,
                    c"Luau has count hooks only (no call, return or line events)".as_ptr(),
                );
            }
            ffi::luaL_optinteger(l, arg + 3, 0)
        }
    };
    st.push_pointer(hook_key());
    if count > 0 {
        st.push_value(arg + 1);
    } else {
        st.push_nil();
    }
    st.raw_set(raise, ffi::LUA_REGISTRYINDEX);
    #[allow(clippy::unnecessary_cast, reason = "lua_Integer is i32 or i64")]
    let count = (count as i64).max(0);
    hook.left.store(count, Relaxed);
    hook.every.store(count, Relaxed);
    if count > 0 {
        crate::limits::arm_hook(st, 1);
    }
    0
}

/// `debug.gethook([thread])`: the hook function (or nil), its mask ("") and its count.
unsafe extern "C-unwind" fn gethook(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; this frame owns nothing that needs dropping.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    let every = StateData::of(st).map_or(0, |data| data.script_hook.every.load(Relaxed));
    if every > 0 {
        st.push_pointer(hook_key());
        st.raw_get(ffi::LUA_REGISTRYINDEX);
    } else {
        st.push_nil();
    }
    st.push_str(raise.create(), "");
    st.push_integer(every);
    3
}
