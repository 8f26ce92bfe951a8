//! Limits that no Lua code escapes: a time limit, an instruction budget, and interruption from
//! another thread (or by the owner, for its own reasons: a Python `KeyboardInterrupt`).
//!
//! Everything rests on the crate's debug hook (`hook`).  Lua calls it between VM instructions;
//! when a limit has been reached ("tripped") it raises an error and stays armed with a count
//! of one, so every further instruction of the entry raises again: a `pcall` that catches the
//! error cannot run the next instruction, an `xpcall` handler cannot run either (Lua reports
//! "error in error handling"), a coroutine resumed afterwards raises at once (`wrap.rs` arms
//! every resumed coroutine), and `debug.sethook` cannot remove the hook (`wrap.rs` again).
//! What reaches the owner is whatever error ends the outermost call; the owner asks
//! `Limits::tripped` which limit it was.  A call can even end normally after a trip, when no
//! instruction follows the one that tripped (a tail call of a C function on LuaJIT): the owner
//! must treat a tripped entry as failed whatever the status.
//!
//! * **Time** costs nothing until the deadline: the watchdog thread (`watchdog.rs`) arms the
//!   hook on the thread that runs Lua code when the deadline passes (`lua_sethook` may be
//!   called from another thread: it only stores the hook's fields).  Which thread runs is
//!   tracked at every coroutine resume (`wrap.rs`).
//! * **Instructions** need a permanent count hook while the budget is active: it fires every
//!   `STEP` instructions of each Lua thread and charges the budget.  A thread's count runs on
//!   across its yields, so what escapes counting is less than one step per coroutine.
//! * **Interruption** (`interrupt`) trips the limit of the running entry from any thread;
//!   entries are numbered, so a late interruption never hits the next entry.
//! * **The owner's check**: for entries that want it (those of Python's main thread), the
//!   watchdog asks the hook every `watchdog::POLL` to call the owner's checker, which runs
//!   Python's signal handlers (Ctrl-C) and may stop the entry.
//! * **Long C functions** (the pattern matcher, `strlib`) run no instruction for as long as
//!   they take: they poll the limits themselves (`poll.rs`), and are charged for their work.
//!
//! LuaJIT's hooks are global to the state, and compiled traces never call them: a state with
//! limits must run without the trace compiler (the owner's business: `flavour::set_jit`).
//!
//! **Luau** has no debug hooks.  Its interrupt callback, one per state and settable from any
//! thread, takes the hook's place behind the same functions (`interrupt.rs`, compiled as
//! `hook`): the same `Limits`, watchdog and entries, the same uncatchable memory error.  Luau
//! calls it at calls, returns, loop back edges and pattern matching steps rather than after a
//! count of instructions, so an instruction budget there counts those safepoints.  Luau has
//! no `__gc` for Lua code and no `debug.sethook`; its coroutines share the callback, so no
//! resume needs tracking.

mod failing_allocation;
mod fence;
mod guard;
#[cfg(not(feature = "luau"))]
mod hook;
// Luau has no debug hooks: its interrupt callback takes the hook's place, behind the same
// functions.
#[cfg(feature = "luau")]
#[path = "interrupt.rs"]
mod hook;
mod poll;
pub mod watchdog;
mod wrap;

use std::ffi::c_int;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize};
use std::time::Duration;

use mlua_sys as ffi;

use crate::{State, StateData};
pub(crate) use failing_allocation::refuses_allocation;
pub(crate) use guard::guard_debug_sethook;
pub(crate) use hook::arm as arm_hook;
#[cfg(feature = "lua53")]
pub(crate) use hook::remove_script_hook;
pub use poll::STEPS_PER_INSTRUCTION;
pub(crate) use poll::raise_stopped;
#[cfg(any(not(wrapped_lua), feature = "lua54"))]
pub(crate) use wrap::in_thread;
pub(crate) use wrap::resume_tracked;

/// Whether limits reach all Lua code: finalizers (which the Lua sources of this repository's
/// `vendor/` run with hooks on) and coroutines resumed by Lua code (seen through the linker's
/// `--wrap` on ELF targets, `wrap.rs`; LuaJIT's hooks and Luau's interrupt callback are
/// global, and Luau runs no Lua code in finalizers).  False for a Lua from the system, and on
/// macOS and Windows.
pub const COMPLETE: bool = cfg!(any(
    feature = "luau",
    all(feature = "vendored", any(wrapped_lua, feature = "luajit"))
));

/// Instructions between two count hooks while a budget is active.
pub const STEP: i64 = 1000;

/// Which limit ended an entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trip {
    /// The entry ran past its deadline.
    Timeout = 1,
    /// The entry ran out of instructions.
    Instructions = 2,
    /// `interrupt()` was called.
    Interrupted = 3,
    /// The owner stopped it (its checker, or `trip_for_owner`).
    Owner = 4,
}

impl Trip {
    fn from_code(code: u64) -> Option<Trip> {
        Some(match code {
            1 => Trip::Timeout,
            2 => Trip::Instructions,
            3 => Trip::Interrupted,
            4 => Trip::Owner,
            _ => return None,
        })
    }
}

/// What one outermost entry may use.
#[derive(Clone, Copy, Debug, Default)]
pub struct Budget {
    pub timeout: Option<Duration>,
    pub max_instructions: Option<u64>,
    /// Ask the owner's checker every `watchdog::POLL` while the entry runs.
    pub watch: bool,
}

/// The owner's periodic check (see the module docs): returns true to stop the entry.  Called
/// by the hook, on the thread that runs Lua code, with the state it runs on.
pub type Checker = fn(&StateData, State) -> bool;

/// The limits of one state.  See the module docs.
pub struct Limits {
    /// The number of the running (or last) outermost entry.
    entry: AtomicU64,
    /// `(entry << 8) | Trip`: which limit stopped which entry (0: none).
    trip: AtomicU64,
    /// The Lua thread that runs code for the current entry; null between entries.
    running: AtomicPtr<ffi::lua_State>,
    /// Instructions left to the current entry (while `step > 0`).
    remaining: AtomicI64,
    /// Instructions run but not charged yet: what a thread had run of its step when the
    /// watchdog armed its hook afresh for a check (`hook::save_count`).
    uncharged: AtomicI64,
    /// Instructions between count hooks; 0: no budget.
    step: AtomicI64,
    /// When the current entry must stop, in ns of `watchdog::now()`; `u64::MAX`: never.
    deadline: AtomicU64,
    /// The current entry wants the owner's checks.
    watch: AtomicBool,
    /// The watchdog asked the hook to call the checker.
    check_requested: AtomicBool,
    /// The state is being closed (`shut`): the hook fires every `STEP` instructions and does
    /// what the watchdog would (deadline, the owner's checks), and `interrupt` only records.
    closing: AtomicBool,
    checker: AtomicUsize,
    /// Errors parked for coroutines (`State::raise_on_resume`); the hook looks for one while
    /// this is not zero.  (Luau parks them on the coroutine's stack, see `inject.rs`.)
    #[cfg(not(feature = "luau"))]
    pub(crate) parked: AtomicUsize,
    /// Held by a thread that arms a hook on a thread of the state from outside (the watchdog,
    /// `interrupt`); `true` once the state is closed: then nobody may.
    arming: parking_lot::Mutex<bool>,
    /// The thread that such a thread is about to arm (see `with_running`).
    arming_target: AtomicPtr<ffi::lua_State>,
    /// Known to the watchdog.
    watched: AtomicBool,
    /// The budget the current entry began with (timeout in ns, instructions; 0: none).
    given_timeout: AtomicU64,
    given_instructions: AtomicU64,
}

impl Default for Limits {
    fn default() -> Self {
        fence::init();
        Limits {
            entry: AtomicU64::new(0),
            trip: AtomicU64::new(0),
            running: AtomicPtr::new(std::ptr::null_mut()),
            remaining: AtomicI64::new(0),
            uncharged: AtomicI64::new(0),
            step: AtomicI64::new(0),
            deadline: AtomicU64::new(u64::MAX),
            watch: AtomicBool::new(false),
            check_requested: AtomicBool::new(false),
            closing: AtomicBool::new(false),
            checker: AtomicUsize::new(0),
            #[cfg(not(feature = "luau"))]
            parked: AtomicUsize::new(0),
            arming: parking_lot::Mutex::new(false),
            arming_target: AtomicPtr::new(std::ptr::null_mut()),
            watched: AtomicBool::new(false),
            given_timeout: AtomicU64::new(0),
            given_instructions: AtomicU64::new(0),
        }
    }
}

impl Limits {
    /// Starts an outermost entry that runs on `st` (the owner holds the state's lock).
    /// `st` must stay alive until the next `begin` or `shut` (the main thread, say).  Without
    /// a budget this is a few plain stores.
    #[inline]
    pub fn begin(&self, st: State, budget: Budget) {
        if budget.timeout.is_none() && budget.max_instructions.is_none() {
            self.begin_plain(st, budget.watch);
        } else {
            self.entry.store(self.entry.load(Relaxed) + 1, Relaxed);
            self.running.store(st.as_ptr(), Relaxed);
            self.watch.store(budget.watch, Relaxed);
            self.begin_limited(st, budget);
        }
    }

    /// `begin` without a time limit or an instruction budget (every call from Python of a
    /// runtime without limits: the cheapest possible).
    #[inline]
    pub fn begin_plain(&self, st: State, watch: bool) {
        self.entry.store(self.entry.load(Relaxed) + 1, Relaxed);
        self.running.store(st.as_ptr(), Relaxed);
        self.watch.store(watch, Relaxed);
        self.given_timeout.store(0, Relaxed);
        self.given_instructions.store(0, Relaxed);
        self.step.store(0, Relaxed);
        self.deadline.store(u64::MAX, Relaxed);
        if watch && !self.watched.load(Relaxed) {
            // Registered once, the watchdog polls the state from then on (watchdog.rs).
            watchdog::attend(self);
        }
    }

    /// `begin` for an entry with a time limit or an instruction budget.
    #[inline(never)]
    fn begin_limited(&self, st: State, budget: Budget) {
        self.given_timeout.store(
            budget.timeout.map_or(0, |t| (t.as_nanos() as u64).max(1)),
            Relaxed,
        );
        self.given_instructions
            .store(budget.max_instructions.unwrap_or(0), Relaxed);
        let max = budget
            .max_instructions
            .map(|max| i64::try_from(max).unwrap_or(i64::MAX).max(1));
        match max {
            Some(max) => {
                let step = max.min(STEP);
                self.remaining.store(max, Relaxed);
                self.uncharged.store(0, Relaxed);
                self.step.store(step, Relaxed);
                hook::arm(st, step as c_int);
            }
            None => self.step.store(0, Relaxed),
        }
        match budget.timeout {
            Some(timeout) => {
                let deadline = watchdog::now().saturating_add(timeout.as_nanos() as u64);
                self.deadline.store(deadline, Relaxed);
            }
            None => self.deadline.store(u64::MAX, Relaxed),
        }
        // LuaJIT switches hooks off while a finalizer runs: the watchdog arms them again.
        let rearming = cfg!(feature = "luajit") && max.is_some();
        if budget.timeout.is_some() || rearming || !self.watched.load(Relaxed) {
            watchdog::attend(self);
        }
    }

    /// Ends the outermost entry.  Hooks armed on its threads stay until they next fire and
    /// find nothing to do (`hook::rearm`).
    #[inline]
    pub fn end(&self) {
        // (No need to wait for `arming`: the thread of the entry outlives it, see `begin`.)
        self.running.store(std::ptr::null_mut(), Relaxed);
        self.step.store(0, Relaxed);
        self.deadline.store(u64::MAX, Relaxed);
        self.watch.store(false, Relaxed);
        self.closing.store(false, Relaxed);
    }

    /// Makes `next` the running thread in place of `leaving`, which may be freed from now on:
    /// waits while a thread that arms hooks from outside is about to arm `leaving` (the
    /// handshake of `with_running`).
    #[inline]
    fn stop_running(&self, leaving: *mut ffi::lua_State, next: *mut ffi::lua_State) {
        self.running.store(next, Relaxed);
        fence::light();
        while self.arming_target.load(Acquire) == leaving {
            std::hint::spin_loop();
        }
    }

    /// Runs `f` with the running thread, from another thread (holding `arming`), if the state
    /// is open and an entry runs.  The thread stays alive meanwhile: `f` is only called if the
    /// thread still runs after the announcement in `arming_target`, and a thread that stops
    /// running waits for the announcement to end (`stop_running`; the fences make this a
    /// Dekker handshake).
    fn with_running(&self, closed: &bool, f: impl FnOnce(State)) {
        if *closed {
            return;
        }
        let target = self.running.load(Relaxed);
        if target.is_null() {
            return;
        }
        self.arming_target.store(target, Relaxed);
        fence::heavy();
        if self.running.load(Relaxed) == target {
            // SAFETY: the state is open (`closed` is false under `arming`, and closing takes
            // it first) and `target` is one of its threads, running (see above).
            f(unsafe { State::new(target) });
        }
        self.arming_target.store(std::ptr::null_mut(), Release);
    }

    /// The budget the current (or last) entry began with.
    pub fn budget(&self) -> Budget {
        let ns = self.given_timeout.load(Relaxed);
        let max = self.given_instructions.load(Relaxed);
        Budget {
            timeout: (ns != 0).then(|| Duration::from_nanos(ns)),
            max_instructions: (max != 0).then_some(max),
            watch: self.watch.load(Relaxed),
        }
    }

    /// Which limit stopped the current entry, if any.
    #[inline]
    pub fn tripped(&self) -> Option<Trip> {
        let trip = self.trip.load(Relaxed);
        if trip >> 8 != self.entry.load(Relaxed) {
            return None;
        }
        Trip::from_code(trip & 0xff)
    }

    /// Stops the running entry from any thread, without the state's lock.  No effect when no
    /// entry runs.
    pub fn interrupt(&self) {
        self.trip_running(Trip::Interrupted);
    }

    /// Stops the current entry for the owner (who holds the lock and runs on `st`): the hook
    /// raises at the next instruction of `st`, and of every thread that runs afterwards.
    pub fn trip_for_owner(&self, st: State) {
        self.set_trip(Trip::Owner);
        hook::arm(st, 1);
    }

    /// Whether the crate's hook must stay on every thread (`guard.rs`): the entry has an
    /// instruction budget, or a limit stopped it.
    #[inline]
    pub(crate) fn hook_needed(&self) -> bool {
        self.step.load(Relaxed) > 0 || self.tripped().is_some()
    }

    /// Sets the owner's checker (see `Checker`).
    pub fn set_checker(&self, checker: Checker) {
        self.checker.store(checker as usize, Relaxed);
    }

    /// The state is being closed: from now on no other thread may touch it.  Finalizers run
    /// by `lua_close` still meet the budget, `interrupt` and the owner's checks: call `begin`
    /// for the close first (the hook then does the watchdog's work itself, every `STEP`
    /// instructions, the watchdog being shut out).
    pub fn shut(&self) {
        *self.arming.lock() = true;
        watchdog::forget(self);
        let running = self.running.load(Relaxed);
        if running.is_null() {
            return;
        }
        self.closing.store(true, Relaxed);
        if self.step.load(Relaxed) == 0 {
            self.remaining.store(i64::MAX, Relaxed);
            self.step.store(STEP, Relaxed);
            // SAFETY: the thread of the running entry (the owner's, closing the state).
            hook::arm(unsafe { State::new(running) }, STEP as c_int);
        }
    }

    /// Charges `n` instructions to the budget; returns whether it ran out.
    #[inline]
    fn charge(&self, n: i64) -> bool {
        n > 0 && self.remaining.fetch_sub(n, Relaxed) <= n
    }

    /// What the hook (and Luau's interrupt callback) checks besides a budget: the owner's
    /// checker when the watchdog asked for it (or the state closes, see `shut`), and the
    /// deadline (the watchdog cannot reach a closing state: then only this sees it).  Records
    /// the trip and returns true when the entry must stop.
    #[inline]
    pub(super) fn owner_or_deadline_trips(&self, data: &StateData, st: State) -> bool {
        self.request_check_while_closing();
        if self.check_requested.swap(false, Relaxed) && self.owner_says_stop(data, st) {
            self.set_trip(Trip::Owner);
            return true;
        }
        if self.deadline.load(Relaxed) <= watchdog::now() {
            self.set_trip(Trip::Timeout);
            return true;
        }
        false
    }

    /// Runs the owner's checker (see `Checker`); false without one.
    fn owner_says_stop(&self, data: &StateData, st: State) -> bool {
        let checker = self.checker.load(Relaxed);
        if checker == 0 {
            return false;
        }
        // SAFETY: only `set_checker` stores a value, a `Checker`.
        let checker: Checker = unsafe { std::mem::transmute(checker) };
        checker(data, st)
    }

    /// While the state closes, the hook asks for the owner's checks itself (see `shut`).
    #[inline]
    fn request_check_while_closing(&self) {
        if self.closing.load(Relaxed) && self.watch.load(Relaxed) {
            self.check_requested.store(true, Relaxed);
        }
    }

    /// Records a trip for the current entry.
    fn set_trip(&self, trip: Trip) {
        let entry = self.entry.load(Relaxed);
        self.trip.store((entry << 8) | trip as u64, Relaxed);
    }

    /// Records a trip and arms the hook on the running thread, from another thread.
    fn trip_running(&self, trip: Trip) {
        let closed = self.arming.lock();
        if self.running.load(Relaxed).is_null() {
            return;
        }
        if *closed {
            // Closing: the hook polls, and finds the trip (see `shut`).
            if self.closing.load(Relaxed) {
                self.set_trip(trip);
            }
            return;
        }
        self.set_trip(trip);
        self.with_running(&closed, |st| hook::arm(st, 1));
    }

    /// Arms the hook of the running thread again, from the watchdog: after a trip (with a
    /// count of one), or (on LuaJIT) after a finalizer switched it off.
    fn rearm_running(&self) {
        let closed = self.arming.lock();
        self.with_running(&closed, |st| {
            if self.tripped().is_some() {
                hook::arm(st, 1);
            } else if cfg!(feature = "luajit") && !hook::is_armed(st) {
                match self.step.load(Relaxed) {
                    0 => {}
                    step => hook::arm(st, step as c_int),
                }
            }
        });
    }

    /// Asks the hook to call the owner's checker, from the watchdog.
    fn request_check(&self) {
        let closed = self.arming.lock();
        self.with_running(&closed, |st| {
            self.check_requested.store(true, Relaxed);
            hook::save_count(self, st);
            hook::arm(st, 1);
        });
    }

    /// A coroutine is resumed (`wrap.rs`): it runs from now on, with the hook the resuming
    /// thread has.  Returns the thread that ran before.
    pub(crate) fn enter_thread(&self, co: State) -> *mut ffi::lua_State {
        // (Only the thread that runs Lua code writes `running`; both threads stay alive.)
        let previous = self.running.load(Relaxed);
        if previous.is_null() {
            // Not inside an entry (a state being created, say): nothing to track.
            return previous;
        }
        self.running.store(co.as_ptr(), Relaxed);
        hook::propagate(self, co);
        previous
    }

    /// The resumed coroutine yielded or ended: `previous` runs again (and meets the hook at
    /// once if a limit tripped meanwhile).
    pub(crate) fn leave_thread(&self, co: State, previous: *mut ffi::lua_State) {
        if previous.is_null() {
            return;
        }
        // The coroutine may be collected once it is not running.
        self.stop_running(co.as_ptr(), previous);
        if hook::charge_left_over(self, co) {
            self.set_trip(Trip::Instructions);
        }
        if self.tripped().is_some() {
            // SAFETY: the resuming thread, running again.
            hook::arm(unsafe { State::new(previous) }, 1);
        }
    }
}
