//! `StateData`: what a state's owner shares with code that only has the state.
//!
//! Hooks, the watchdog of time limits and raw C functions get nothing but a `lua_State`.  The
//! state's allocator is the one place Lua itself keeps a pointer for us, out of reach of Lua
//! code (a registry entry could be removed or forged by a script): every state of this crate
//! is made with one of our allocators and its `StateData` as the allocator's user data, so
//! `StateData::of` finds it from any thread of the state.

use std::cell::Cell;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use mlua_sys as ffi;

use crate::State;
use crate::limits::Limits;
use crate::memory::{MemoryAccount, accounting_alloc, forwarding_alloc};
use crate::token::{CanCreate, CanGrow};

/// The data of one Lua state (shared by all its threads).  It must outlive the state.
pub struct StateData {
    /// The memory account; it counts only if `counts_memory` (see `StateConfig`).
    pub memory: MemoryAccount,
    /// Time and instruction limits, interrupts.
    pub limits: Limits,
    counts_memory: Cell<bool>,
    /// States that count nothing keep Lua's own allocator behind ours.
    inner_alloc: Cell<Option<(ffi::lua_Alloc, *mut c_void)>>,
    /// Free for the owner (the extension's runtime core, say).
    owner: AtomicPtr<c_void>,
    /// LuaJIT's trace compiler is forbidden (`jit::forbid`).
    jit_forbidden: AtomicBool,
    /// Luau: the count hook a script set with `debug.sethook` (`luau_hook.rs`).
    #[cfg(feature = "luau")]
    pub(crate) script_hook: crate::luau_hook::ScriptHook,
}

// SAFETY: the `Cell`s are written only while the state is created (before it is shared) and
// read afterwards; everything else is atomic or synchronised inside `Limits`.
unsafe impl Sync for StateData {}
// SAFETY: as above; nothing in it is tied to a thread.
unsafe impl Send for StateData {}

impl Default for StateData {
    fn default() -> Self {
        StateData {
            memory: MemoryAccount::default(),
            limits: Limits::default(),
            counts_memory: Cell::new(false),
            inner_alloc: Cell::new(None),
            owner: AtomicPtr::new(std::ptr::null_mut()),
            jit_forbidden: AtomicBool::new(false),
            #[cfg(feature = "luau")]
            script_hook: Default::default(),
        }
    }
}

impl StateData {
    /// The data of the state `st` belongs to, if it was made by `open_state`.  `[-0, +0, -]`
    #[inline]
    pub fn of<'a>(st: State) -> Option<&'a StateData> {
        let mut ud = std::ptr::null_mut();
        // SAFETY: valid state and out pointer.
        let alloc = unsafe { ffi::lua_getallocf(st.as_ptr(), &mut ud) } as *const ();
        let ours = [accounting_alloc as *const (), forwarding_alloc as *const ()];
        if ud.is_null() || !ours.contains(&alloc) {
            return closing::data_of(ud);
        }
        // SAFETY: our allocators are only installed with the state's StateData as `ud`, which
        // outlives the state.
        Some(unsafe { &*(ud as *const StateData) })
    }

    /// Whether the state allocates through this crate's allocators (false while a LuaJIT
    /// state closes, see `closing`).  (Not needed on Luau, whose limits raise the same way
    /// always, `limits/interrupt.rs`.)
    #[cfg(not(feature = "luau"))]
    pub(crate) fn allocates_through_us(st: State) -> bool {
        let mut ud = std::ptr::null_mut();
        // SAFETY: valid state and out pointer.
        let alloc = unsafe { ffi::lua_getallocf(st.as_ptr(), &mut ud) } as *const ();
        [accounting_alloc as *const (), forwarding_alloc as *const ()].contains(&alloc)
    }

    /// The memory account, if this state counts its memory.
    #[inline]
    pub fn account(&self) -> Option<&MemoryAccount> {
        self.counts_memory.get().then_some(&self.memory)
    }

    /// Whether growing existing objects cannot raise a Lua error now (see [`crate::token`]):
    /// no memory limit applies.
    #[inline(always)]
    pub fn can_grow(&self) -> Option<CanGrow> {
        match self.account() {
            Some(account) if account.is_limited() => None,
            _ => Some(CanGrow::checked()),
        }
    }

    /// Whether creating objects cannot raise a Lua error now: as `can_grow`, and the flavour
    /// does not re-throw finalizer errors from the collection steps that allocations run
    /// (`flavour::FINALIZER_ERRORS_PROPAGATE`: Lua 5.1 to 5.3).
    #[inline(always)]
    pub fn can_create(&self) -> Option<CanCreate> {
        if crate::flavour::FINALIZER_ERRORS_PROPAGATE {
            return None;
        }
        self.can_grow().map(|_| CanCreate::checked())
    }

    /// The owner's pointer (null until set).
    #[inline]
    pub fn owner(&self) -> *mut c_void {
        self.owner.load(Ordering::Relaxed)
    }

    /// Records the owner's pointer (for its own use in hooks and C functions).
    pub fn set_owner(&self, owner: *mut c_void) {
        self.owner.store(owner, Ordering::Relaxed);
    }

    /// Whether LuaJIT's trace compiler is forbidden (see `jit::forbid`).
    #[inline]
    pub fn jit_forbidden(&self) -> bool {
        self.jit_forbidden.load(Ordering::Relaxed)
    }

    /// Records whether the compiler is forbidden; returns the previous value.
    pub(crate) fn set_jit_forbidden(&self, forbidden: bool) -> bool {
        self.jit_forbidden.swap(forbidden, Ordering::Relaxed)
    }

    pub(crate) fn set_counts_memory(&self, counts: bool) {
        self.counts_memory.set(counts);
    }

    pub(crate) fn set_inner_alloc(&self, alloc: ffi::lua_Alloc, ud: *mut c_void) {
        self.inner_alloc.set(Some((alloc, ud)));
    }

    /// The allocator behind `forwarding_alloc`, if the state has one (for `close_state`,
    /// which on Luau never swaps allocators).
    #[cfg(not(feature = "luau"))]
    pub(crate) fn forwarded_alloc(&self) -> Option<(ffi::lua_Alloc, *mut c_void)> {
        self.inner_alloc.get()
    }

    /// LuaJIT's allocator, behind `forwarding_alloc`.
    pub(crate) fn inner_alloc(&self) -> (ffi::lua_Alloc, *mut c_void) {
        self.inner_alloc
            .get()
            .expect("forwarding_alloc is only installed with an inner allocator")
    }
}

/// LuaJIT destroys its allocator's memory when a state closes only if the state still has
/// LuaJIT's own allocator (`close_state` in lj_state.c compares the function); otherwise it
/// frees just the state's main block and the rest of the arena leaks.  So `close_state` puts
/// LuaJIT's allocator back before `lua_close`, and the finalizers that run meanwhile find the
/// state's data here: per thread (finalizers run on the thread that closes), keyed by the
/// allocator's user data.
pub(crate) mod closing {
    use std::cell::Cell;
    use std::ffi::c_void;

    use super::StateData;

    thread_local! {
        static CLOSING: Cell<(*mut c_void, *const StateData)> =
            const { Cell::new((std::ptr::null_mut(), std::ptr::null())) };
    }

    /// The data of the state being closed on this thread whose allocator has `ud`.
    pub(super) fn data_of<'a>(ud: *mut c_void) -> Option<&'a StateData> {
        if ud.is_null() {
            return None;
        }
        let (closing_ud, data) = CLOSING.with(Cell::get);
        // SAFETY: set by `during` for the duration of `lua_close`, while the data lives.
        (closing_ud == ud && !data.is_null()).then(|| unsafe { &*data })
    }

    /// Runs `f` (which closes the state whose allocator has user data `ud`) with the state's
    /// data findable.  (Not on Luau, which has no `lua_setallocf`.)
    #[cfg(not(feature = "luau"))]
    pub(crate) fn during<R>(ud: *mut c_void, data: &StateData, f: impl FnOnce() -> R) -> R {
        let previous = CLOSING.with(|c| c.replace((ud, data)));
        let result = f();
        CLOSING.with(|c| c.set(previous));
        result
    }
}
