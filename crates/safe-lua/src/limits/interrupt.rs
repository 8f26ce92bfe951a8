//! Luau: the limits have no mechanism yet (Luau has no debug hooks; its interrupt callback
//! will take the hook's place).  Until then nothing is armed and no limit stops Luau code.

use std::ffi::c_int;

use super::Limits;
use crate::{State, StateData};

/// Would arm the limits on `st`.  `[-0, +0, -]`
#[inline]
pub(crate) fn arm(_st: State, _count: c_int) {}

/// Whether the limits are armed on `st`.
pub(super) fn is_armed(_st: State) -> bool {
    false
}

/// Gives a coroutine that is about to run what its resumer has.
pub(super) fn propagate(_limits: &Limits, _co: State) {}

/// Whether the allocator must fail this allocation.
#[inline(always)]
pub(crate) fn refuses_allocation(_data: &StateData, _size: usize) -> bool {
    false
}
