//! Keeping the identity cache small.
//!
//! The identity cache is a weak-valued Lua table (registry reference `Refs::identity_cache`)
//! that maps a Python object (with its protocol) to its userdata, so that one object is one
//! Lua value (`convert/userdata.rs` fills it).  Lua does not shrink a table whose entries the
//! collector cleared until keys are added again, so a burst of short-lived objects (one per
//! loop step, say) would leave a large table behind for good.  `compact_if_sparse` rebuilds
//! it when it holds many more entries than there are live userdata and a garbage collection
//! cycle has completed since the last rebuild.
//!
//! Whether a cycle has completed shows in the cache itself: each rebuild puts a fresh empty
//! table at `CYCLE_SENTINEL` (a key that no identity key can take), which only the cache
//! references, so the collector clears the entry.  Without that condition, entries of garbage
//! that was not collected yet would be copied again and again.

use std::ffi::c_int;

use safe_lua::sys::{LUA_OK, LUA_TNIL, LUA_TTABLE};
use safe_lua::{CanRaise, Op, State};

use super::Lua;

/// Identity-cache entries that never trigger a rebuild.
const CACHE_SLACK: usize = 1024;

/// The identity-cache key of the entry that tells whether a collection cycle has completed
/// (identity keys are object addresses of at least 4096, or have all three low bits set).
pub(crate) const CYCLE_SENTINEL: i64 = 1;

/// Rebuilds the identity cache if it has become sparse (see the module docs).  Runs at the end
/// of outermost entries (`Lua`'s `Drop`): a comparison, unless a rebuild is due; the rebuild
/// (a protected call) copies the remaining entries, which amortises to a constant per
/// insertion.  Failure (out of memory) keeps the old table.  `[-0, +0]`
pub(crate) fn compact_if_sparse(lua: &Lua<'_>) {
    let core = lua.core;
    let entries = core.cache_entries.get();
    if entries <= CACHE_SLACK || entries <= 2 * core.pyrefs.live() {
        return;
    }
    let st = lua.st;
    if !st.ensure_stack(4) {
        return;
    }
    let top = st.top();
    let slot = core.refs.get().identity_cache;
    if st.push_reference(slot) == LUA_TTABLE && st.raw_get_i(-1, CYCLE_SENTINEL) == LUA_TNIL {
        st.pop(1);
        if st.protected(Op(compact_cache_op), std::ptr::null_mut(), 1, 2, 0) == LUA_OK {
            // [new cache, entries]; the slot exists (read above), so the store cannot fail.
            core.cache_entries.set(st.to_number(-1) as usize);
            st.pop(1);
            st.set_registry_slot(slot, core.can_grow());
        }
    }
    st.set_top(top);
}

/// `[old] -> [new, number of entries]`: a copy of the identity cache with its remaining
/// entries, its metatable (weak values) and a new cycle sentinel.  Run protected by
/// `compact_if_sparse`; registered with the runtime's state (api/runtime.rs).
pub(crate) unsafe extern "C-unwind" fn compact_cache_op(l: *mut safe_lua::sys::lua_State) -> c_int {
    // SAFETY: an op called by lua_pcall with [data, old cache]; this frame owns nothing that
    // needs dropping.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    st.new_table(raise.create(), 0, 0);
    if st.get_metatable(2) {
        st.set_metatable(3);
    }
    let mut entries: i64 = 0;
    st.push_nil();
    while st.next(raise, 2) {
        // [.., key, value] -> store a copy of the pair, keep the key for `next`.
        st.push_value(-2);
        st.insert(-2);
        st.raw_set(raise, 3);
        entries += 1;
    }
    st.new_table(raise.create(), 0, 0);
    st.raw_set_i(raise.grow(), 3, CYCLE_SENTINEL);
    st.push_integer(entries);
    2
}
