//! The per-runtime reentrant lock (`FastRLock` in api/ is its Python face).
//!
//! Every entry from Python into a runtime takes the runtime's lock first.  The lock is
//! reentrant because Lua calls back into Python, which may call into the same runtime again on
//! the same thread.  The rule that keeps this deadlock-free: never *wait* for the
//! lock while holding the GIL.  A thread that has to wait releases the GIL first; the thread
//! that owns the lock may need the GIL to finish its callback.
//!
//! Like upstream lupa's `FastRLock`, the lock relies on the GIL: it is only ever taken and
//! released by threads that hold the GIL (an entry from Python takes it before running Lua and
//! releases it after Lua returned), so without contention, taking and releasing it is a few
//! plain reads and writes, with no atomic instructions.  Only a thread that finds the lock
//! taken by another thread registers as a waiter and blocks on a condition variable, with the
//! GIL released.
//!
//! Fairness, the way CPython's GIL does it: a thread that calls into Lua in a loop would take
//! the lock again before a woken waiter even got the GIL back, and starve it.  So a waiter
//! that has waited for a switch interval (`sys.getswitchinterval()`) without getting the lock
//! asks for it, and the owner's next release hands the lock over to a waiter (`HANDOFF`)
//! instead of freeing it.  Until then releases cost nothing: handing over at every release,
//! as upstream lupa does, forces a thread switch per call and divides the throughput of
//! threads sharing a runtime.  A `FastRLock` (used by Python code to coordinate threads)
//! hands over at every release.
//!
//! A release that does not hand over wakes nobody, so a waiter also looks for an owner that
//! has gone idle: every fiftieth of a switch interval (100 µs by default) it checks, without
//! the GIL, whether the lock is free and was not taken since its last look.  A thread that
//! makes a burst of calls and then turns to other work (or blocks) thus lets the waiters in
//! at once instead of after a whole switch interval.  For that, the owner and the count of
//! acquisitions are atomics, written by GIL holders only, with relaxed stores (plain moves on
//! the machines we build for): the looks cost the owner nothing.
//!
//! Owners are identified by their Python thread state.  The nesting count doubles as the
//! runtime's recursion depth (see `Core::enter`), and the count of acquisitions tells whether
//! anything used the runtime between two moments (see lua_value/iter.rs).

use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use pyo3::ffi::{PyThreadState, PyThreadState_Get};
use pyo3::prelude::*;

/// When an owner's release hands the lock over to a waiting thread.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Handoff {
    /// At every release that has waiters.
    Always,
    /// When a waiter has waited for a switch interval and asked for it.
    WhenRequested,
}

/// A reentrant lock for threads that hold the GIL, waited on with the GIL released.
pub(crate) struct RuntimeLock {
    handoff: Handoff,
    /// A waiter asks for the lock to be handed over.  Only accessed with the GIL held.
    handoff_requested: Cell<bool>,
    /// The thread state of the holder, or null.  Only written with the GIL held; waiters
    /// read it without (`wait_for_release`).
    owner: AtomicPtr<PyThreadState>,
    /// The holder's nesting depth.  Only accessed with the GIL held.
    count: Cell<u32>,
    /// Threads waiting for the lock.  Only accessed with the GIL held.
    waiters: Cell<u32>,
    /// How often the lock was taken (at any depth).  Only written with the GIL held; waiters
    /// read it without.
    acquisitions: AtomicU64,
    /// Bumped on every release that hands over or frees the lock for waiters; waiters sleep
    /// until it changes (or their switch interval passes).
    releases: parking_lot::Mutex<u64>,
    released: parking_lot::Condvar,
}

// SAFETY: the `Cell`s are only accessed by threads holding the GIL (every method takes a
// `Python` token, and `LockGuard`s are dropped with the GIL held), so accesses never overlap;
// the two atomics are written under the same rule and only read without it; the waiting uses
// a real mutex and condition variable.  The module declares `gil_used`.
unsafe impl Sync for RuntimeLock {}
// SAFETY: no thread affinity; see above.
unsafe impl Send for RuntimeLock {}

/// How long a waiter waits before it asks for the lock: Python's switch interval (5 ms unless
/// changed with `sys.setswitchinterval`).
fn switch_interval(py: Python<'_>) -> Duration {
    let seconds = py
        .import("sys")
        .and_then(|sys| sys.call_method0("getswitchinterval"))
        .and_then(|value| value.extract::<f64>())
        .unwrap_or(0.005);
    // (`sys` is whatever `sys.modules` holds: a NaN from a replaced one must not panic.)
    let seconds = if seconds.is_nan() { 0.005 } else { seconds };
    Duration::from_secs_f64(seconds.clamp(1e-6, 1.0))
}

/// How often a waiter looks for an idle owner per switch interval.  Each look wakes the
/// waiter's thread (not the owner's); more looks let waiters in sooner after a burst of calls
/// ends (`shared_` cases of the benchmarks: 16 looks left them 20-40% slower).
const LOOKS_PER_INTERVAL: u32 = 50;

/// The owner while the lock passes from a releasing owner to one of its waiters: taken by
/// the first waiter that runs, refused to everybody else.  Never dereferenced.
const HANDOFF: *mut PyThreadState = std::ptr::dangling_mut();

/// The calling thread's identity (its Python thread state; the caller holds the GIL).
#[inline]
fn current_thread(_py: Python<'_>) -> *mut PyThreadState {
    // SAFETY: with the GIL held (the `Python` token proves it) this returns the current,
    // non-null thread state.
    unsafe { PyThreadState_Get() }
}

impl RuntimeLock {
    pub(crate) const fn new(handoff: Handoff) -> Self {
        RuntimeLock {
            handoff,
            handoff_requested: Cell::new(false),
            owner: AtomicPtr::new(std::ptr::null_mut()),
            count: Cell::new(0),
            waiters: Cell::new(0),
            acquisitions: AtomicU64::new(0),
            releases: parking_lot::Mutex::new(0),
            released: parking_lot::Condvar::new(),
        }
    }

    /// Takes the lock, waiting (with the GIL released) while another thread holds it.
    #[inline]
    pub(crate) fn acquire(&self, py: Python<'_>) -> LockGuard<'_> {
        if let Some(guard) = self.try_acquire(py) {
            return guard;
        }
        self.wait_and_acquire(py)
    }

    /// Takes the lock if that is possible without waiting.
    #[inline]
    pub(crate) fn try_acquire(&self, py: Python<'_>) -> Option<LockGuard<'_>> {
        let me = current_thread(py);
        let owner = self.owner.load(Relaxed);
        if owner == me {
            self.count.set(self.count.get() + 1);
        } else if owner.is_null() {
            self.owner.store(me, Relaxed);
            self.count.set(1);
        } else {
            return None;
        }
        self.count_acquisition();
        Some(LockGuard(self, std::marker::PhantomData))
    }

    /// Counts an acquisition (the caller holds the GIL and now the lock: the only writer).
    #[inline]
    fn count_acquisition(&self) {
        self.acquisitions
            .store(self.acquisitions.load(Relaxed) + 1, Relaxed);
    }

    #[cold]
    fn wait_and_acquire(&self, py: Python<'_>) -> LockGuard<'_> {
        self.waiters.set(self.waiters.get() + 1);
        let interval = switch_interval(py);
        let look_every = interval / LOOKS_PER_INTERVAL;
        let handoff_at = Instant::now() + interval;
        loop {
            // The owner can only release the lock with the GIL, which we hold until `detach`:
            // a release counted after this read wakes us up.
            let seen = *self.releases.lock();
            let deadline = if self.handoff_requested.get() {
                // Asked for already: wait for the release, looking for idleness meanwhile.
                Instant::now() + interval
            } else {
                handoff_at
            };
            let timed_out = py.detach(|| self.wait_for_release(seen, deadline, look_every));
            let owner = self.owner.load(Relaxed);
            if owner == HANDOFF || owner.is_null() {
                break;
            }
            if timed_out && Instant::now() >= handoff_at {
                // Waited a whole switch interval: the owner hands over at its next release.
                self.handoff_requested.set(true);
            }
        }
        self.waiters.set(self.waiters.get() - 1);
        self.owner.store(current_thread(py), Relaxed);
        self.count.set(1);
        self.count_acquisition();
        LockGuard(self, std::marker::PhantomData)
    }

    /// Sleeps (without the GIL) until a release after `seen`, an idle owner (the lock free at
    /// two looks `look_every` apart, with no acquisition between them), or the `deadline`;
    /// returns true for the deadline.
    fn wait_for_release(&self, seen: u64, deadline: Instant, look_every: Duration) -> bool {
        let mut releases = self.releases.lock();
        let mut last_acquisitions = self.acquisitions.load(Relaxed);
        loop {
            if *releases != seen {
                return false;
            }
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            let look_at = deadline.min(now + look_every);
            if self.released.wait_until(&mut releases, look_at).timed_out() {
                let acquisitions = self.acquisitions.load(Relaxed);
                if acquisitions == last_acquisitions && self.owner.load(Relaxed).is_null() {
                    return false;
                }
                last_acquisitions = acquisitions;
            }
        }
    }

    /// Whether the calling thread holds the lock.
    pub(crate) fn is_owned(&self, py: Python<'_>) -> bool {
        self.owner.load(Relaxed) == current_thread(py)
    }

    /// How often the holder has taken the lock (its nesting depth); only meaningful for the
    /// holder.
    #[inline]
    pub(crate) fn depth(&self) -> u32 {
        self.count.get()
    }

    /// How often the lock has been taken so far; only meaningful for the holder.
    #[inline]
    pub(crate) fn acquisitions(&self) -> u64 {
        self.acquisitions.load(Relaxed)
    }

    /// Releases one level.
    ///
    /// # Safety
    /// The calling thread holds the lock and the GIL.
    #[inline]
    pub(crate) unsafe fn release(&self) {
        let count = self.count.get() - 1;
        self.count.set(count);
        if count == 0 {
            let hand_over = self.waiters.get() > 0
                && (self.handoff == Handoff::Always || self.handoff_requested.get());
            if hand_over {
                self.handoff_requested.set(false);
                self.owner.store(HANDOFF, Relaxed);
                *self.releases.lock() += 1;
                self.released.notify_one();
            } else {
                // Waiters find the lock free when they next look (`wait_for_release`).
                self.owner.store(std::ptr::null_mut(), Relaxed);
            }
        }
    }
}

/// Proof that the current thread holds a runtime lock; releases one level when dropped (which
/// happens with the GIL held: guards live in the Python-side code of an entry).
///
/// Not `Send` (the marker): a guard released on a thread without the GIL would break the
/// lock's rule, and so would a `Lua` context (which holds a guard) moved into a closure that
/// runs with the GIL released.
pub(crate) struct LockGuard<'a>(&'a RuntimeLock, std::marker::PhantomData<*const ()>);

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a guard only exists while its thread holds the lock (one level per guard),
        // and is dropped with the GIL held.
        unsafe { self.0.release() }
    }
}
