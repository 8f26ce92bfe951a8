//! The crate's debug hook: limits (see `limits/mod.rs`) and errors parked for coroutines
//! (`State::raise_on_resume`).  A Lua thread has one hook; both uses share this function, and
//! whatever armed it, it decides from the state's `Limits` what to do when it fires.

use std::ffi::c_int;
use std::sync::atomic::Ordering::Relaxed;

use mlua_sys as ffi;

use super::{Limits, Trip};
use crate::{CanRaise, State, StateData};

/// Arms the crate hook on `st` (on LuaJIT: for the whole state) to fire after `count`
/// instructions (and, with a count of one, at the next function return too: that is where a
/// coroutine resumed at a yield continues).  `[-0, +0, -]`; callable from any thread.
#[inline]
pub(crate) fn arm(st: State, count: c_int) {
    let mask = if count == 1 {
        ffi::LUA_MASKCOUNT | ffi::LUA_MASKRET
    } else {
        ffi::LUA_MASKCOUNT
    };
    // SAFETY: a live state; `lua_sethook` only stores the hook's fields, which is safe even
    // while another thread runs the state (Lua documents it as callable from signal handlers).
    unsafe { ffi::lua_sethook(st.as_ptr(), Some(crate_hook), mask, count) };
}

/// Whether the crate hook is armed on `st` (with some event).
pub(super) fn is_armed(st: State) -> bool {
    // SAFETY: a live state.
    let (hook, mask) = unsafe {
        (
            ffi::lua_gethook(st.as_ptr()),
            ffi::lua_gethookmask(st.as_ptr()),
        )
    };
    mask != 0 && hook.is_some_and(|h| std::ptr::fn_addr_eq(h, crate_hook as ffi::lua_Hook))
}

/// Removes a hook that a script set on `st` with `debug.sethook`, keeping the crate's own.
/// `[-0, +0, -]`  (Used before closing a Lua 5.3 state, see `flavour::prepare_close`.)
#[cfg(feature = "lua53")]
pub(crate) fn remove_script_hook(st: State) {
    // SAFETY: a live state.
    let hook = unsafe { ffi::lua_gethook(st.as_ptr()) };
    if hook.is_some_and(|h| !std::ptr::fn_addr_eq(h, crate_hook as ffi::lua_Hook)) {
        // SAFETY: a live state; removing the hook allocates nothing.
        unsafe { ffi::lua_sethook(st.as_ptr(), None, 0, 0) };
    }
}

/// Leaves `st` with the hook its entry needs: the count hook of an instruction budget, or
/// none.  `[-0, +0, -]`
fn rearm(limits: &Limits, st: State) {
    match limits.step.load(Relaxed) {
        0 => {
            // SAFETY: a live state; removing the hook.
            unsafe { ffi::lua_sethook(st.as_ptr(), None, 0, 0) };
        }
        step => arm(st, step as c_int),
    }
}

/// Gives a coroutine that is about to run what its resumer has: a tripped limit raises at
/// once; a budget counts (a coroutine that already has the count hook keeps its count).
pub(super) fn propagate(limits: &Limits, co: State) {
    if limits.tripped().is_some() {
        arm(co, 1);
        return;
    }
    let step = limits.step.load(Relaxed);
    if step > 0 && !is_armed(co) {
        arm(co, step as c_int);
    }
}

#[cfg(wrapped_lua)]
unsafe extern "C" {
    /// The instructions left until the count hook of the thread fires (a function of the
    /// bundled Lua sources, vendor/README.md).
    fn lupa_hookcountleft(l: *mut ffi::lua_State) -> c_int;
}

/// The instructions `st` has run since its count hook was armed or last fired, if the Lua
/// can tell: only the bundled PUC Lua (`wrapped_lua`).  `st` is alive; it may run on another
/// thread meanwhile (the watchdog's case: the count moves on by a few instructions).
fn ran_of_step(st: State) -> Option<i64> {
    #[cfg(wrapped_lua)]
    {
        // SAFETY: a live thread; plain reads of two ints that Lua updates as it runs, like
        // `lua_sethook`'s writes from another thread.
        let (base, left) = unsafe {
            (
                ffi::lua_gethookcount(st.as_ptr()),
                lupa_hookcountleft(st.as_ptr()),
            )
        };
        Some(i64::from((base - left).max(0)))
    }
    #[cfg(not(wrapped_lua))]
    {
        let _ = st;
        None
    }
}

/// Before the count of `st` starts afresh (`arm`), notes in `Limits::uncharged` what the
/// thread has run of its current step, which arming forgets; the hook charges it when it
/// next fires.
pub(super) fn save_count(limits: &Limits, st: State) {
    if limits.step.load(Relaxed) > 0
        && is_armed(st)
        && let Some(ran) = ran_of_step(st)
    {
        limits.uncharged.fetch_add(ran, Relaxed);
    }
}

/// A coroutine yielded or ended: charges the budget with what it ran of its current step
/// and starts its count afresh, so that it is not charged again.  Each thread of PUC Lua
/// counts for itself, and a coroutine that runs fewer instructions than a step at a time
/// would otherwise never be charged.  Returns whether the budget ran out.  Where the count
/// cannot be told, the coroutine keeps its count (and is charged when its hook fires).
pub(super) fn charge_left_over(limits: &Limits, co: State) -> bool {
    let step = limits.step.load(Relaxed);
    if step == 0 || limits.tripped().is_some() || !is_armed(co) {
        return false;
    }
    let Some(ran) = ran_of_step(co) else {
        return false;
    };
    arm(co, step as c_int);
    limits.charge(ran)
}

/// The hook.  It owns nothing that needs dropping when it raises.
pub(crate) unsafe extern "C-unwind" fn crate_hook(l: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls hooks with a valid running state and activation record.
    let (st, event) = unsafe { (State::new(l), (*ar).event) };
    // SAFETY: a hook called by Lua, owning nothing that needs dropping.
    let raise = unsafe { CanRaise::assume() };
    let Some(data) = StateData::of(st) else {
        // SAFETY: not a state of ours after all: leave it alone.
        unsafe { ffi::lua_sethook(l, None, 0, 0) };
        return;
    };
    let limits = &data.limits;
    if limits.tripped().is_some() {
        raise_limit(st, raise);
    }
    if limits.parked.load(Relaxed) > 0 && raise_parked_error(limits, st, raise) {
        return; // (not reached: it raised)
    }
    if limits.step.load(Relaxed) > 0 {
        // What the watchdog saved when it armed the hook for a check (`save_count`), and, at
        // a count event, the instructions since the hook was armed (or last fired).
        let mut counted = limits.uncharged.swap(0, Relaxed);
        if event == ffi::LUA_HOOKCOUNT {
            // SAFETY: a live state.
            counted += i64::from(unsafe { ffi::lua_gethookcount(l) });
        }
        if limits.charge(counted) {
            limits.set_trip(Trip::Instructions);
            raise_limit(st, raise);
        }
    }
    if limits.owner_or_deadline_trips(data, st) {
        raise_limit(st, raise);
    }
    rearm(limits, st);
}

/// Raises a memory error at the current instruction, and stays armed for the next one.
///
/// A memory error, because Lua calls no message handler for one: `xpcall`'s handler would
/// otherwise run with hooks off (Lua switches them off while a hook runs, and the handler runs
/// before the error leaves the hook) and could loop forever.  Lua 5.4+ raise a memory error
/// for `lua_error` with the preallocated "not enough memory" message (pushing that short
/// string finds it, it allocates nothing); older versions and LuaJIT get an allocation that
/// fails (`failing_allocation.rs`), except while a LuaJIT state closes (with LuaJIT's own
/// allocator: its finalizers then get a plain error).  Which limit it was, the owner learns
/// from `Limits::tripped`.
pub(super) fn raise_limit(st: State, raise: CanRaise) -> ! {
    arm(st, 1);
    // (A closing LuaJIT state has its own allocator back: a plain error then, see
    // `shared::closing`.)
    if cfg!(any(feature = "lua54", feature = "lua55")) || !StateData::allocates_through_us(st) {
        st.push_bytes(raise.create(), b"not enough memory");
        // SAFETY: called from the hook (see `crate_hook`) or a C function (`poll.rs`), neither
        // of which owns anything that needs dropping (`raise`).
        unsafe { st.raise() }
    }
    super::failing_allocation::raise(st, raise)
}

/// Raises the error parked for this thread by `raise_on_resume`, if there is one; returns
/// false (having done nothing) otherwise.
fn raise_parked_error(limits: &Limits, st: State, raise: CanRaise) -> bool {
    let key = st.as_ptr().cast::<std::ffi::c_void>();
    st.push_pointer(key);
    if st.raw_get(ffi::LUA_REGISTRYINDEX) == ffi::LUA_TNIL {
        // Not the thread that has an error parked (LuaJIT's hooks are global).
        st.pop(1);
        return false;
    }
    limits.parked.fetch_sub(1, Relaxed);
    rearm(limits, st);
    // Clearing the entry stores nil into an existing slot: no allocation.
    st.push_pointer(key);
    st.push_nil();
    st.raw_set(raise, ffi::LUA_REGISTRYINDEX);
    // SAFETY: a hook may raise; nothing in this frame needs dropping.
    unsafe { st.raise() }
}
