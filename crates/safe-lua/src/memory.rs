//! The accounting Lua allocator behind `max_memory=` and the memory methods.
//!
//! Semantics follow upstream lupa: a state made without accounting (`StateConfig`) counts
//! nothing.  Otherwise every block Lua requests is
//! counted, and once the runtime is initialised the limit becomes `base + max_memory`, where
//! `base` is what the runtime needed for itself (the standard libraries, the `python` module).
//! An allocation that would reach the limit fails, which Lua reports as a memory error; Lua
//! then collects garbage and retries before giving up.  Shrinking never fails.
//!
//! Unlike upstream, the getters never wrap around below zero (upstream returns numbers close
//! to 2**64 after memory falls below the baseline).  This works on every flavour including
//! LuaJIT 2.1 in its GC64 mode.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use crate::{State, StateData};

/// Counters shared by the allocator (called from Lua, on whichever thread runs it) and the
/// getters (which may read them from other threads, without the runtime's lock).
#[derive(Default)]
pub struct MemoryAccount {
    /// Bytes currently allocated by Lua.
    used: AtomicUsize,
    /// Absolute limit in bytes; 0 means unlimited.
    limit: AtomicUsize,
    /// Usage right after initialisation: excluded from the numbers users see.
    base: AtomicUsize,
    /// Set while the limit is lifted (`with_limit_lifted`).
    lifted: AtomicBool,
}

impl MemoryAccount {
    /// Records the usage of a freshly initialised runtime and applies the user's limit.
    pub fn finish_initialisation(&self, max_memory: usize) {
        self.base.store(self.used.load(Relaxed), Relaxed);
        self.set_limit(max_memory, false);
    }

    /// `max_memory` of 0 removes the limit; otherwise it counts above the baseline unless
    /// `total` is set.
    pub fn set_limit(&self, max_memory: usize, total: bool) {
        let limit = match max_memory {
            0 => 0,
            n if total => n,
            n => n.saturating_add(self.base.load(Relaxed)),
        };
        self.limit.store(limit, Relaxed);
    }

    pub fn limit(&self, total: bool) -> usize {
        let limit = self.limit.load(Relaxed);
        if total || limit == 0 {
            limit
        } else {
            limit.saturating_sub(self.base.load(Relaxed))
        }
    }

    pub fn used(&self, total: bool) -> usize {
        let used = self.used.load(Relaxed);
        if total {
            used
        } else {
            used.saturating_sub(self.base.load(Relaxed))
        }
    }

    pub fn is_limited(&self) -> bool {
        self.limit.load(Relaxed) != 0
    }

    /// Whether growing a block by `delta` bytes is allowed (upstream's rule: the new total
    /// must stay below the limit).
    #[inline]
    fn allows(&self, delta: usize) -> bool {
        let limit = self.limit.load(Relaxed);
        limit == 0
            || self.used.load(Relaxed).saturating_add(delta) < limit
            || self.lifted.load(Relaxed)
    }
}

/// Runs `f` with the state's memory limit lifted, for allocations that serve the host rather
/// than the script, and that must not fail because a script filled its memory budget:
///
/// * registry references: the host's bookkeeping (a wrapper held by Python, a cached chunk).
///   A runtime at its limit must still hand out `globals()`, so that Python can delete data.
///   Lua 5.1 and LuaJIT need it for safety too: they grow a table's array part before they
///   allocate its new hash part, and if the second allocation fails the table is left
///   inconsistent (entries that cannot be found, `next` going round in circles), which for
///   the registry would break the runtime.
/// * the key of an entry that Python deletes: deleting frees memory, but pushing the key (and
///   on Lua 5.2/5.3 the protected call around anything) needs a little.
///
/// These may take a few bytes beyond the limit (the registry grows by doubling).  `f` must
/// not raise past this function (it runs protected calls, or pushes that cannot raise
/// without a limit), so the limit is always restored.
pub fn with_limit_lifted<R>(st: State, f: impl FnOnce() -> R) -> R {
    let Some(account) = StateData::of(st).and_then(StateData::account) else {
        return f();
    };
    let outer = account.lifted.swap(true, Relaxed);
    let result = f();
    account.lifted.store(outer, Relaxed);
    result
}

/// The `lua_Alloc` function of states that count their memory; `ud` is their `StateData`.
///
/// # Safety
/// Called by Lua with the contract of `lua_Alloc`; `ud` is the `StateData` given to
/// `lua_newstate`, which outlives the state.
pub(crate) unsafe extern "C" fn accounting_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: `ud` is the StateData the state was created with (function contract).
    let data = unsafe { &*(ud as *const StateData) };
    let account = &data.memory;
    if crate::limits::refuses_allocation(data, nsize) {
        return std::ptr::null_mut();
    }
    let must_succeed = ptr.is_null() && crate::flavour::new_block_must_not_fail(osize);
    // For a new block, Lua 5.2+ pass the object type in `osize`, not a size.
    let osize = if ptr.is_null() { 0 } else { osize };
    if nsize == 0 {
        // SAFETY: `ptr` is NULL or a block from this allocator.
        unsafe { libc::free(ptr) };
        account.used.fetch_sub(osize, Relaxed);
        return std::ptr::null_mut();
    }
    if nsize > osize && !must_succeed && !account.allows(nsize - osize) {
        return std::ptr::null_mut();
    }
    // SAFETY: `ptr` is NULL or a block from this allocator; realloc keeps the contents.
    let new = unsafe { libc::realloc(ptr, nsize) };
    if new.is_null() {
        return new;
    }
    if nsize >= osize {
        account.used.fetch_add(nsize - osize, Relaxed);
    } else {
        account.used.fetch_sub(osize - nsize, Relaxed);
    }
    new
}

/// The `lua_Alloc` function of states that count nothing: Lua's own allocator (LuaJIT's is
/// much faster than the C library's for its allocation pattern), called through the state's
/// `StateData`, which makes the data findable (`StateData::of`).
///
/// # Safety
/// Called by Lua with the contract of `lua_Alloc`; `ud` is the state's `StateData`, whose
/// inner allocator was the state's allocator before.
pub(crate) unsafe extern "C" fn forwarding_alloc(
    ud: *mut c_void,
    ptr: *mut c_void,
    osize: usize,
    nsize: usize,
) -> *mut c_void {
    // SAFETY: `ud` is the state's StateData (function contract).
    let data = unsafe { &*(ud as *const StateData) };
    if crate::limits::refuses_allocation(data, nsize) {
        return std::ptr::null_mut();
    }
    let (alloc, inner) = data.inner_alloc();
    // SAFETY: the allocator and user data LuaJIT made for this state.
    unsafe { alloc(inner, ptr, osize, nsize) }
}

/// The C library's allocator with the contract of `lua_Alloc` (what Luau's `luaL_newstate`
/// uses), behind `forwarding_alloc` on Luau states that count nothing.
///
/// # Safety
/// Called with the contract of `lua_Alloc`: `ptr` is NULL or a block from this allocator.
#[cfg(feature = "luau")]
pub(crate) unsafe extern "C" fn system_alloc(
    _ud: *mut c_void,
    ptr: *mut c_void,
    _osize: usize,
    nsize: usize,
) -> *mut c_void {
    if nsize == 0 {
        // SAFETY: `ptr` is NULL or a block from this allocator (function contract).
        unsafe { libc::free(ptr) };
        return std::ptr::null_mut();
    }
    // SAFETY: as above; realloc keeps the contents.
    unsafe { libc::realloc(ptr, nsize) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_relative_to_the_baseline() {
        let account = MemoryAccount::default();
        account.used.store(1000, Relaxed);
        account.finish_initialisation(500);
        assert_eq!(account.limit(false), 500);
        assert_eq!(account.limit(true), 1500);
        assert_eq!(account.used(false), 0);
        assert!(account.allows(499));
        assert!(!account.allows(500));
    }

    #[test]
    fn zero_means_unlimited_and_getters_do_not_wrap() {
        let account = MemoryAccount::default();
        account.used.store(1000, Relaxed);
        account.finish_initialisation(0);
        assert_eq!(account.limit(false), 0);
        assert!(account.allows(usize::MAX / 2));
        account.used.store(10, Relaxed);
        assert_eq!(account.used(false), 0);
        account.set_limit(100, true);
        assert_eq!(account.limit(false), 0);
        assert_eq!(account.limit(true), 100);
    }
}
