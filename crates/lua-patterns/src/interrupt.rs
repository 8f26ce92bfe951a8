//! Stopping a long match: the caller's interrupt check, called every few thousand steps.
//!
//! A "step" is one unit of matching work: one pattern item visited by the matcher, one
//! subject byte examined by a repetition or `%b` (plus one per 4 bytes of a set that it is
//! tested against), 16 bytes compared by a back-reference or the plain search.
//! Each costs about a nanosecond, so checking every [`CHECK_INTERVAL`] steps means the check
//! runs every microsecond or so: a set flag stops even a catastrophically backtracking
//! pattern promptly, while the check's own cost (one call, typically an atomic load) stays
//! below measurement noise (see `benches/vs_c.rs`, column "w/ check").

use crate::matcher::Fail;

/// How many steps run between two interrupt checks (see the module documentation).  1024
/// steps take roughly 1-10 microseconds.
pub const CHECK_INTERVAL: u32 = 1024;

/// The caller's interrupt check.  Return `true` to stop the match with
/// [`MatchError::Interrupted`](crate::MatchError::Interrupted).
pub trait Interrupt {
    /// Called every [`CHECK_INTERVAL`] steps.
    fn interrupted(&mut self) -> bool;
}

impl<F: FnMut() -> bool> Interrupt for F {
    #[inline]
    fn interrupted(&mut self) -> bool {
        self()
    }
}

/// An interrupt check that never fires.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoInterrupt;

impl Interrupt for NoInterrupt {
    #[inline]
    fn interrupted(&mut self) -> bool {
        false
    }
}

/// Counts steps down and runs the check when the count runs out.
pub(crate) struct Budget<'i, I: Interrupt + ?Sized> {
    left: u32,
    check: &'i mut I,
}

impl<'i, I: Interrupt + ?Sized> Budget<'i, I> {
    pub(crate) fn new(check: &'i mut I) -> Self {
        Budget {
            left: CHECK_INTERVAL,
            check,
        }
    }

    /// Account for `n` steps (`n` may exceed the interval: one check covers it).
    #[inline(always)]
    pub(crate) fn tick(&mut self, n: usize) -> Result<(), Fail> {
        if (self.left as usize) > n {
            self.left -= n as u32;
            Ok(())
        } else {
            self.refill()
        }
    }

    #[cold]
    #[inline(never)]
    fn refill(&mut self) -> Result<(), Fail> {
        self.left = CHECK_INTERVAL;
        if self.check.interrupted() {
            Err(Fail::Interrupted)
        } else {
            Ok(())
        }
    }
}
