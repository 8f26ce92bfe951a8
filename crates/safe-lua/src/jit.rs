//! LuaJIT's trace compiler, switched off where it would break a promise.
//!
//! Compiled traces call no debug hooks (a limit could not stop them), and the compiler does
//! not survive failing allocations (when one fails while a trace is being started, LuaJIT 2.1
//! aborts the trace through a null pointer).  The owner forbids the compiler for a state with
//! limits or a memory account (`forbid`); Lua code cannot switch it back on: `open_state`
//! replaces `jit.on` with `guarded_jit_on`, which ignores the call while it is forbidden.
//! Everything here is a no-op on the other flavours.

use crate::{State, StateData};

#[cfg(feature = "luajit")]
mod luajit {
    use std::ffi::c_int;
    use std::sync::atomic::AtomicUsize;
    use std::sync::atomic::Ordering::Relaxed;

    use mlua_sys as ffi;

    use crate::{CanRaise, State, StateData};

    unsafe extern "C" {
        /// luajit.h (not bound by mlua-sys).
        fn luaJIT_setmode(l: *mut ffi::lua_State, idx: c_int, mode: c_int) -> c_int;
    }

    const MODE_ENGINE: c_int = 0;
    const MODE_FLUSH: c_int = 0x0200;
    const MODE_OFF: c_int = 0x0000;
    const MODE_ON: c_int = 0x0100;

    /// Switches the compiler of the state `st` belongs to off (dropping compiled traces) or on.
    pub(super) fn set_engine(st: State, on: bool) {
        // SAFETY: a live state, used by its owner.
        unsafe {
            if on {
                luaJIT_setmode(st.as_ptr(), 0, MODE_ENGINE | MODE_ON);
            } else {
                luaJIT_setmode(st.as_ptr(), 0, MODE_ENGINE | MODE_FLUSH);
                luaJIT_setmode(st.as_ptr(), 0, MODE_ENGINE | MODE_OFF);
            }
        }
    }

    /// The library's `jit.on` (the same C function for every state of this program).
    static ORIGINAL_ON: AtomicUsize = AtomicUsize::new(0);

    /// Replaces `jit.on` of a state being opened (inside its protected initialisation).
    pub(crate) fn guard_jit_on(st: State, raise: CanRaise) {
        st.push_globals();
        if st.get_field(raise, -1, c"jit") == ffi::LUA_TTABLE {
            st.get_field(raise, -1, c"on");
            if let Some(original) = st.to_cfunction(-1) {
                ORIGINAL_ON.store(original as usize, Relaxed);
                st.push_cfunction(raise.create(), guarded_jit_on);
                st.set_field(raise, -3, c"on");
            }
            st.pop(1);
        }
        st.pop(2);
    }

    /// `jit.on`, except while the owner forbids the compiler.
    unsafe extern "C-unwind" fn guarded_jit_on(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: Lua calls C functions with a valid state.
        let st = unsafe { State::new(l) };
        let forbidden = StateData::of(st).is_none_or(|data| data.jit_forbidden());
        let original = ORIGINAL_ON.load(Relaxed);
        if forbidden || original == 0 {
            return 0;
        }
        // SAFETY: only `guard_jit_on` stores a value, a `lua_CFunction`.
        let original: ffi::lua_CFunction = unsafe { std::mem::transmute(original) };
        // SAFETY: called in this function's own frame, with its arguments; it may raise, and
        // this frame owns nothing that needs dropping.
        unsafe { original(l) }
    }
}

#[cfg(feature = "luajit")]
pub(crate) use luajit::guard_jit_on;

/// Forbids (true) or allows the trace compiler for the state `st` belongs to.  Forbidding
/// drops the traces compiled so far; allowing switches the compiler on.
pub fn forbid(st: State, data: &StateData, forbidden: bool) {
    if data.set_jit_forbidden(forbidden) == forbidden {
        return;
    }
    #[cfg(feature = "luajit")]
    luajit::set_engine(st, !forbidden);
    #[cfg(not(feature = "luajit"))]
    let _ = st;
}
