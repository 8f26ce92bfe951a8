//! `debug.sethook` may not remove the hook that enforces a limit.
//!
//! While an entry has an instruction budget, or a limit has stopped it, the crate's hook must
//! stay on every thread: `open_state` replaces `debug.sethook` with `guarded_sethook`, which
//! ignores the call then and otherwise does what the original does.  The original is kept in
//! a static, not as an upvalue or in the registry, where a script could reach it.
//!
//! Luau needs no guard: a script's hook there (`luau_hook.rs`) runs from the crate's
//! interrupt callback, after the limits, and cannot remove it.

use std::ffi::c_int;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;

use mlua_sys as ffi;

use crate::{CanRaise, State, StateData};

/// The library's `debug.sethook` (the same C function for every state of this program).
static ORIGINAL_SETHOOK: AtomicUsize = AtomicUsize::new(0);

/// Replaces `debug.sethook` of a state being opened (inside its protected initialisation).
pub(crate) fn guard_debug_sethook(st: State, raise: CanRaise) {
    if cfg!(feature = "luau") {
        return;
    }
    st.push_globals();
    if st.get_field(raise, -1, c"debug") == ffi::LUA_TTABLE {
        st.get_field(raise, -1, c"sethook");
        if let Some(original) = st.to_cfunction(-1) {
            ORIGINAL_SETHOOK.store(original as usize, Relaxed);
            st.push_cfunction(raise.create(), guarded_sethook);
            st.set_field(raise, -3, c"sethook");
        }
        st.pop(1);
    }
    st.pop(2);
}

/// `debug.sethook`, except while the limits need the crate's hook.
unsafe extern "C-unwind" fn guarded_sethook(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls C functions with a valid state.
    let st = unsafe { State::new(l) };
    let needed = StateData::of(st).is_some_and(|data| data.limits.hook_needed());
    let original = ORIGINAL_SETHOOK.load(Relaxed);
    if needed || original == 0 {
        return 0;
    }
    // SAFETY: only `guard_debug_sethook` stores a value, a `lua_CFunction`.
    let original: ffi::lua_CFunction = unsafe { std::mem::transmute(original) };
    // SAFETY: called in this function's own frame, with its arguments; it may raise, and this
    // frame owns nothing that needs dropping.
    unsafe { original(l) }
}
