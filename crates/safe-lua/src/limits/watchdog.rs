//! The watchdog: one thread per process that arms the hook of states whose entry passed its
//! deadline, re-arms tripped entries whose running thread changed, and asks entries that want
//! the owner's checks (`Budget::watch`) to make them.
//!
//! It wakes at the nearest deadline it knows, and every `POLL` while it knows any state (a
//! state registers with its first entry that has a time limit or wants the owner's checks, and
//! leaves when it closes): an entry that only wants checks then costs nothing at all, not
//! even a clock reading, which matters for the short calls a program makes by the million.
//! With no state to watch it sleeps until one registers.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU64, fence};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Limits, Trip};

/// How often entries that want the owner's checks are asked to make them.
pub const POLL: Duration = Duration::from_millis(50);

/// Nanoseconds since the first use of the limits in this process.
#[inline]
pub fn now() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A `Limits` known to the watchdog, with the entry it saw running at the previous poll.
struct Watched {
    limits: *const Limits,
    seen_entry: u64,
}

// SAFETY: `Limits` is `Sync`; the pointer stays valid until `forget` removes it, which waits
// for the watchdog's lock.
unsafe impl Send for Watched {}

struct Watchdog {
    watched: Mutex<Vec<Watched>>,
    wake: Condvar,
    /// When the watchdog wakes next, in ns of `now()` (`u64::MAX`: when woken).
    wake_at: AtomicU64,
}

fn watchdog() -> &'static Watchdog {
    static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();
    WATCHDOG.get_or_init(|| {
        std::thread::Builder::new()
            .name("lua-limits-watchdog".into())
            .spawn(run)
            .expect("cannot start the watchdog thread of Lua time limits");
        Watchdog {
            watched: Mutex::new(Vec::new()),
            wake: Condvar::new(),
            wake_at: AtomicU64::new(u64::MAX),
        }
    })
}

/// Makes sure the watchdog knows `limits` and wakes up in time for its current entry.
pub(super) fn attend(limits: &Limits) {
    let dog = watchdog();
    if !limits.watched.load(Relaxed) {
        let mut watched = dog.watched.lock().unwrap_or_else(|e| e.into_inner());
        if !limits.watched.swap(true, Relaxed) {
            watched.push(Watched {
                limits,
                seen_entry: 0,
            });
        }
    }
    // Pairs with the fence of `run`.
    fence(SeqCst);
    let needed = needed_by(limits, now());
    if needed < dog.wake_at.load(SeqCst) {
        // Taking the lock orders this with the watchdog's decision to sleep.
        let _watched = dog.watched.lock().unwrap_or_else(|e| e.into_inner());
        dog.wake_at.store(needed, SeqCst);
        dog.wake.notify_one();
    }
}

/// Removes `limits` from the watchdog; once this returns, the watchdog no longer touches it.
pub(super) fn forget(limits: &Limits) {
    if !limits.watched.load(Relaxed) {
        return;
    }
    let mut watched = watchdog().watched.lock().unwrap_or_else(|e| e.into_inner());
    watched.retain(|w| !std::ptr::eq(w.limits, limits));
    limits.watched.store(false, Relaxed);
}

/// The watchdog thread.
fn run() {
    let dog = watchdog();
    let mut watched = dog.watched.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let now = now();
        let mut next = u64::MAX;
        for w in watched.iter_mut() {
            // SAFETY: see `Watched`.
            let limits = unsafe { &*w.limits };
            if let Some(deadline) = attend_to(limits, &mut w.seen_entry, now) {
                next = next.min(deadline);
            }
        }
        if !watched.is_empty() {
            next = next.min(now.saturating_add(POLL.as_nanos() as u64));
        }
        dog.wake_at.store(next, SeqCst);
        // An entry that began during the scan either sees the new `wake_at` (and wakes us if
        // it needs us sooner) or is seen here: `attend` stores, then loads `wake_at`.
        fence(SeqCst);
        if watched.iter().any(|w| {
            // SAFETY: see `Watched`.
            needed_by(unsafe { &*w.limits }, now) < next
        }) {
            continue;
        }
        watched = if next == u64::MAX {
            dog.wake.wait(watched).unwrap_or_else(|e| e.into_inner())
        } else {
            let timeout = Duration::from_nanos(next.saturating_sub(now));
            match dog.wake.wait_timeout(watched, timeout) {
                Ok((guard, _)) => guard,
                Err(e) => e.into_inner().0,
            }
        };
    }
}

/// When the running entry of `limits` needs the watchdog (`u64::MAX`: never).
fn needed_by(limits: &Limits, now: u64) -> u64 {
    if limits.running.load(SeqCst).is_null() {
        u64::MAX
    } else if limits.watch.load(SeqCst)
        || limits.tripped().is_some()
        || (cfg!(feature = "luajit") && limits.step.load(SeqCst) > 0)
    {
        now.saturating_add(POLL.as_nanos() as u64)
    } else {
        limits.deadline.load(SeqCst)
    }
}

/// Does for one state what its running entry needs now; returns its deadline, if it has one
/// to come.
fn attend_to(limits: &Limits, seen_entry: &mut u64, now: u64) -> Option<u64> {
    if limits.running.load(Relaxed).is_null() {
        *seen_entry = 0;
        return None;
    }
    let entry = limits.entry.load(Relaxed);
    if limits.tripped().is_some() {
        // The hook raises wherever it runs; re-arm it in case another thread runs now (where
        // resumes are not tracked).
        limits.rearm_running();
        return None;
    }
    let deadline = limits.deadline.load(Relaxed);
    if deadline <= now {
        limits.trip_running(Trip::Timeout);
        return None;
    }
    // LuaJIT: a finalizer may have switched off the count hook of a budget.
    if cfg!(feature = "luajit") && limits.step.load(Relaxed) > 0 {
        limits.rearm_running();
    }
    if limits.watch.load(Relaxed) && *seen_entry == entry {
        limits.request_check();
    }
    *seen_entry = entry;
    (deadline != u64::MAX).then_some(deadline)
}
