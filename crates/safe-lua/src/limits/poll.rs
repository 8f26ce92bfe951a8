//! C functions that can run for a long time without executing a VM instruction (the pattern
//! matcher of `strlib`: `("a"):rep(40):find(("a?"):rep(40) .. ("a"):rep(40))` backtracks
//! 2^40 steps inside one call) poll the limits themselves, since no hook fires meanwhile.
//!
//! The poll does what the hook would do at its next instruction: report a trip (timeout,
//! `interrupt()`), charge an instruction budget for the work done, run the owner's checker
//! when the watchdog asked for it (Ctrl-C), and check the deadline of a state being closed
//! (which the watchdog no longer watches).  When it says stop, the C function returns to a
//! frame that owns nothing and raises with `raise_stopped`, the hook's own error.

use std::sync::atomic::Ordering::Relaxed;

use super::{Limits, Trip, watchdog};
use crate::{State, StateData};

/// Units of work (steps of the pattern matcher, see `lua_patterns::interrupt`) charged as one
/// instruction to an instruction budget.  A step takes about a nanosecond, a VM instruction
/// of PUC Lua two to five: four steps per instruction keep a budget's meaning ("this much
/// work") roughly the same inside the matcher and outside it.
pub const STEPS_PER_INSTRUCTION: u64 = 4;

impl Limits {
    /// Whether a long-running C function that did `steps` units of work since its last poll
    /// must stop (a limit tripped, now or earlier in the entry).  Then it must raise with
    /// `raise_stopped` as soon as it owns nothing that needs dropping.
    ///
    /// Called on the thread that runs Lua code for the entry, with the state `st` it runs
    /// on, every microsecond or so: the common case is three relaxed loads.
    #[inline]
    pub fn should_stop_c_function(&self, data: &StateData, st: State, steps: u64) -> bool {
        if self.tripped().is_some() {
            return true;
        }
        if self.step.load(Relaxed) > 0 {
            let charge = i64::try_from(steps / STEPS_PER_INSTRUCTION)
                .unwrap_or(i64::MAX)
                .max(1);
            if self.charge(charge) {
                self.set_trip(Trip::Instructions);
                return true;
            }
        }
        if self.check_requested.load(Relaxed)
            && self.check_requested.swap(false, Relaxed)
            && self.owner_says_stop(data, st)
        {
            self.set_trip(Trip::Owner);
            return true;
        }
        let deadline = self.deadline.load(Relaxed);
        if deadline != u64::MAX && deadline <= watchdog::now() {
            self.set_trip(Trip::Timeout);
            return true;
        }
        false
    }
}

/// Raises the error of a tripped limit from a C function called by Lua (its polls, or its
/// trampoline: `Raise::Stopped`), exactly as the hook (Luau: the interrupt callback) does (a
/// memory error, which no message handler sees; the hook stays armed so that the next
/// instruction raises again).
pub(crate) fn raise_stopped(st: State, raise: crate::CanRaise) -> ! {
    super::hook::raise_limit(st, raise)
}
