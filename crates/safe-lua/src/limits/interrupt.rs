//! Luau: the crate's interrupt callback, which does for the limits what the debug hook
//! (`hook.rs`) does on the other flavours.  Luau has no debug hooks.
//!
//! Luau calls `lua_callbacks(L)->interrupt(L, gc)`, when it is set, at its safepoints: before
//! a call and a return, at every loop back edge (`for`, `while`, `repeat`, generic `for`),
//! at every step of pattern matching (`string.find`, `match`, `gmatch`, `gsub`), and with
//! `gc >= 0` from the collector, where it must not raise.  The callback is one per state
//! (all its coroutines share it) and may be set from another thread, so arming it is a
//! pointer store, like `lua_sethook` on the other flavours:
//!
//! * **Time**: the watchdog sets it at the deadline (`Limits::trip_running`); until then it is
//!   unset and Luau code runs at full speed.
//! * **Instructions**: set for the whole entry.  Each call of the callback is one unit of the
//!   budget: an instruction budget on Luau counts loop iterations, calls, returns and pattern
//!   matching steps, not VM instructions (straight-line code between two of them is bounded
//!   by the size of the function).
//! * **The owner's check** (Ctrl-C): the watchdog sets it every `watchdog::POLL`.
//! * **A script's count hook** (`debug.sethook`, `luau_hook.rs`): set while there is one;
//!   the hook function runs after the limits' checks.
//!
//! Once a limit has tripped, the callback stays set and raises at every safepoint, in every
//! coroutine: a `pcall` that catches the error cannot loop or return without meeting it, and
//! neither can an `xpcall` message handler.  Luau calls a message handler for every error,
//! memory errors included (unlike Lua, which calls none for a memory error), but the handler
//! is Luau code too: at its first call, return or loop back edge it raises again, and Luau
//! then reports "error in error handling" (or the memory error) to the `xpcall`.  A handler
//! written in C runs to its end; the standard library has none that loops.  The error raised
//! is a memory error made by an allocation that the allocator refuses while the limit is
//! tripped (`failing_allocation.rs`): `lua_error` would need a stack slot for the error
//! object, which a Luau frame at its stack top does not have, and an allocation fails
//! before it pushes anything.
//!
//! When the callback finds nothing to do (a check done, an entry ended), it unsets itself,
//! and then looks again: an arming thread stores its reason (a trip, a check request) before
//! it sets the callback, and both sides separate their stores from their loads with a
//! sequentially consistent fence, so one of them sees the other's store and no reason is
//! lost between the callback's look and its unsetting.

use std::ffi::{c_int, c_void};
use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicPtr, fence};

use mlua_sys as ffi;

use super::{Limits, Trip};
use crate::{CanRaise, State, StateData};

/// Every this many callbacks of an instruction budget, the callback checks the deadline
/// itself (the watchdog does it otherwise; see `Limits::shut`).
const DEADLINE_CHECK_INTERVAL: i64 = 1024;

/// The interrupt slot of the callbacks of the state of `st`, as an atomic pointer.
///
/// # Safety
/// `st` is a live state; the reference is used only while the state is open.
unsafe fn slot<'a>(st: State) -> &'a AtomicPtr<c_void> {
    // SAFETY: `lua_callbacks` returns the state's global callbacks, which live as long as
    // the state (caller's contract).  The field is an `Option` of a function pointer, which
    // has the size, alignment and null value of a pointer; Luau documents that it may be set
    // from any thread, and reads it once per safepoint.
    unsafe {
        let callbacks = ffi::lua_callbacks(st.as_ptr());
        AtomicPtr::from_ptr((&raw mut (*callbacks).interrupt).cast::<*mut c_void>())
    }
}

/// Sets the crate's interrupt callback for the state of `st` (all its coroutines).  `count`
/// (the instructions until the debug hook fires, on the other flavours) does not apply: the
/// callback runs at every safepoint.  `[-0, +0, -]`; callable from any thread while the
/// state is open.
#[inline]
pub(crate) fn arm(st: State, _count: c_int) {
    // The reason for arming (a trip, a check request) was stored before: see the module docs.
    fence(SeqCst);
    // SAFETY: a live state (the callers' contract: the owner's thread, or a thread holding
    // `Limits::arming` while the state is open).
    unsafe { slot(st) }.store(crate_interrupt as *mut c_void, SeqCst);
}

/// Unsets the callback (if it is the crate's).
fn disarm(st: State) {
    // SAFETY: called by the callback, on a live state.
    let slot = unsafe { slot(st) };
    let _ = slot.compare_exchange(
        crate_interrupt as *mut c_void,
        std::ptr::null_mut(),
        SeqCst,
        Relaxed,
    );
}

/// Whether the crate's callback is set for the state of `st`.
pub(super) fn is_armed(st: State) -> bool {
    // SAFETY: a live state.
    std::ptr::eq(
        unsafe { slot(st) }.load(Relaxed),
        crate_interrupt as *mut c_void,
    )
}

/// Nothing to give a coroutine: the callback is global to the state.
pub(super) fn propagate(_limits: &Limits, _co: State) {}

/// Nothing to save: arming the callback resets no count.
pub(super) fn save_count(_limits: &Limits, _st: State) {}

/// Nothing to charge when a coroutine yields: every safepoint is charged as it passes.
pub(super) fn charge_left_over(_limits: &Limits, _co: State) -> bool {
    false
}

/// The callback.  It owns nothing that needs dropping when it raises (a C++ exception
/// unwinds through this frame into Luau's protected call).
unsafe extern "C-unwind" fn crate_interrupt(l: *mut ffi::lua_State, gc: c_int) {
    if gc >= 0 {
        // Called by the collector, which cannot be interrupted.
        return;
    }
    // SAFETY: Luau calls the callback with its running thread.
    let st = unsafe { State::new(l) };
    // SAFETY: called by the VM at a safepoint (not by the collector, above), owning nothing
    // that needs dropping: raising is what the callback is for.
    let raise = unsafe { CanRaise::assume() };
    let Some(data) = StateData::of(st) else {
        disarm(st);
        return;
    };
    let limits = &data.limits;
    if limits.tripped().is_some() {
        raise_limit(st, raise);
    }
    let budget = limits.step.load(Relaxed) > 0;
    let mut check = true;
    if budget {
        // Only the thread that runs Lua code writes this while the entry runs.
        let left = limits.remaining.load(Relaxed) - 1;
        limits.remaining.store(left, Relaxed);
        if left <= 0 {
            limits.set_trip(Trip::Instructions);
            raise_limit(st, raise);
        }
        check = left % DEADLINE_CHECK_INTERVAL == 0;
    }
    // A script's count hook (`luau_hook.rs`), after the limits: it keeps the callback set.
    let hooked = data.script_hook.at_safepoint(st, raise);
    if !check {
        return;
    }
    if limits.owner_or_deadline_trips(data, st) {
        raise_limit(st, raise);
    }
    if budget || hooked {
        return;
    }
    disarm(st);
    // An arming thread may have stored its reason after the looks above: look again.
    fence(SeqCst);
    if limits.tripped().is_some() || limits.check_requested.load(Relaxed) {
        arm(st, 1);
    }
}

/// Raises a memory error at this safepoint; the callback stays set, so every later safepoint
/// of the entry raises again (see the module docs).
pub(super) fn raise_limit(st: State, raise: CanRaise) -> ! {
    super::failing_allocation::raise(st, raise)
}
