//! The allocation that a tripped limit makes fail, to raise a memory error where `lua_error`
//! would not do (see `raise_limit` in `hook.rs` and `interrupt.rs`).

use crate::{CanRaise, State, StateData};

/// The size of the allocation that `raise` makes fail (see `refuses_allocation`): unlikely to
/// be asked for otherwise, and below every flavour's limit for one userdata.
const FAILING_ALLOCATION: usize = 0x7fe0_0000 + 0x1d;

/// Whether the allocator must fail this allocation: `raise` asks for it.  (The window of 256
/// bytes covers the headers a flavour adds to a userdata's size.)
#[inline(always)]
pub(crate) fn refuses_allocation(data: &StateData, size: usize) -> bool {
    size.wrapping_sub(FAILING_ALLOCATION) < 256 && data.limits.tripped().is_some()
}

/// Raises a memory error on `st` by asking for a userdata that the allocator refuses, which
/// it does only while a limit of the state is tripped.  Needs no free stack slot: the
/// allocation fails before anything is pushed.
pub(super) fn raise(st: State, raise: CanRaise) -> ! {
    st.new_userdata(raise.create(), FAILING_ALLOCATION);
    unreachable!("the allocator refuses this size while a limit is tripped")
}
