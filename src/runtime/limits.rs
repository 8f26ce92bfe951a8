//! What a runtime's limits are, and what reaches Python when one stops Lua code.
//!
//! The mechanism is safe-lua's (`safe_lua::limits`): this layer decides the budget of every
//! outermost entry from Python (`Core::enter` begins it, the context's drop ends it), keeps
//! the `limits()` scopes, runs Python's signal handlers for entries of the main thread
//! (Ctrl-C), and makes the exceptions.
//!
//! * The budget of an entry is the tightest of the runtime's own limits (`LuaRuntime(timeout=,
//!   max_instructions=)`) and of the `limits()` blocks active when it begins.  Scopes belong to
//!   the runtime, not to a thread: every outermost entry that begins inside a block has it.
//! * A `KeyboardInterrupt` or `SystemExit` (from a Python callback, or from a signal handler
//!   run by the checker) is "pending": it stops the entry like a limit (Lua code cannot catch
//!   it) and is raised as itself when the entry ends.  If the entry ends without Lua code
//!   noticing (a finalizer run by a collection that Python started, say `t[k] = v`, raised
//!   it, and Lua 5.2+ swallows errors in finalizers), it is not lost: a `KeyboardInterrupt`
//!   in the main thread is posted to the interpreter, which raises it at its next check;
//!   anything else is reported as unraisable, as Python does with an exception in `__del__`.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use pyo3::prelude::*;
use safe_lua::{Budget, State, StateData, Trip};

use super::{Core, GilCell, LuaGil};
use crate::exceptions::{self, ErrorKind};

/// Limits as the user gives them (None: no limit of that kind).
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub(crate) struct LimitValues {
    pub(crate) timeout: Option<Duration>,
    pub(crate) max_instructions: Option<u64>,
}

impl LimitValues {
    /// The tighter of two limits, for each kind.
    fn tightest(self, other: LimitValues) -> LimitValues {
        fn min<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        LimitValues {
            timeout: min(self.timeout, other.timeout),
            max_instructions: min(self.max_instructions, other.max_instructions),
        }
    }

    /// Validates `timeout` (seconds, a positive number) and `max_instructions` (a positive
    /// int); None means no limit.
    pub(crate) fn parse(
        timeout: Option<&Bound<'_, PyAny>>,
        max_instructions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LimitValues> {
        use pyo3::exceptions::{PyTypeError, PyValueError};
        let timeout = match timeout.filter(|t| !t.is_none()) {
            None => None,
            Some(t) => {
                if t.is_instance_of::<pyo3::types::PyBool>()
                    || !(t.is_instance_of::<pyo3::types::PyFloat>()
                        || t.is_instance_of::<pyo3::types::PyInt>())
                {
                    return Err(PyTypeError::new_err(format!(
                        "timeout must be a number of seconds or None, not {}",
                        t.get_type().name()?
                    )));
                }
                let seconds: f64 = t.extract()?;
                if !(seconds > 0.0 && seconds.is_finite()) {
                    return Err(PyValueError::new_err(format!(
                        "timeout must be a positive number of seconds, got {}",
                        t.repr()?
                    )));
                }
                Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX))
            }
        };
        let max_instructions = match max_instructions.filter(|m| !m.is_none()) {
            None => None,
            Some(m) => {
                if m.is_instance_of::<pyo3::types::PyBool>()
                    || !m.is_instance_of::<pyo3::types::PyInt>()
                {
                    return Err(PyTypeError::new_err(format!(
                        "max_instructions must be an int or None, not {}",
                        m.get_type().name()?
                    )));
                }
                if m.le(0)? {
                    return Err(PyValueError::new_err(format!(
                        "max_instructions must be positive, got {}",
                        m.repr()?
                    )));
                }
                // Beyond u64, a budget is as good as none.
                Some(m.extract::<u64>().unwrap_or(u64::MAX))
            }
        };
        Ok(LimitValues {
            timeout,
            max_instructions,
        })
    }
}

/// The limits of one runtime.
#[derive(Default)]
pub(crate) struct RuntimeLimits {
    /// Given to the constructor; they also apply when the runtime is closed.
    pub(crate) own: LimitValues,
    /// The values of the active `limits()` blocks, in the order they were entered.
    scopes: parking_lot::Mutex<Vec<LimitValues>>,
    /// The tightest of `own` and `scopes`: timeout in ns (0: none), instructions (0: none).
    timeout_ns: AtomicU64,
    max_instructions: AtomicU64,
    /// The Python exception that stops the running entry (see the module docs).
    pending: GilCell<Option<PyErr>>,
    /// Whether `pending` was handed out as the entry's exception.
    delivered: GilCell<bool>,
}

impl RuntimeLimits {
    pub(crate) fn new(own: LimitValues) -> RuntimeLimits {
        let limits = RuntimeLimits {
            own,
            ..RuntimeLimits::default()
        };
        limits.publish(own);
        limits
    }

    fn publish(&self, values: LimitValues) {
        let ns = values.timeout.map_or(0, |t| {
            u64::try_from(t.as_nanos()).unwrap_or(u64::MAX).max(1)
        });
        self.timeout_ns.store(ns, Relaxed);
        self.max_instructions
            .store(values.max_instructions.unwrap_or(0), Relaxed);
    }

    /// Whether any limit applies to entries now (LuaJIT then runs without its compiler).
    pub(crate) fn any(&self) -> bool {
        self.timeout_ns.load(Relaxed) != 0 || self.max_instructions.load(Relaxed) != 0
    }

    /// The budget of an outermost entry beginning now.
    #[inline]
    pub(crate) fn budget(&self, watch: bool) -> Budget {
        let ns = self.timeout_ns.load(Relaxed);
        let max = self.max_instructions.load(Relaxed);
        Budget {
            timeout: (ns != 0).then(|| Duration::from_nanos(ns)),
            max_instructions: (max != 0).then_some(max),
            watch,
        }
    }

    /// The budget of closing the runtime: its own limits.
    pub(crate) fn close_budget(&self) -> Budget {
        Budget {
            timeout: self.own.timeout,
            max_instructions: self.own.max_instructions,
            // Ctrl-C stops looping finalizers too.
            watch: on_main_thread(),
        }
    }

    /// Enters a `limits()` block.
    pub(crate) fn push_scope(&self, values: LimitValues) {
        let mut scopes = self.scopes.lock();
        scopes.push(values);
        self.publish(scopes.iter().fold(self.own, |a, b| a.tightest(*b)));
    }

    /// Leaves a `limits()` block (the one entered with `values`; blocks of several threads
    /// need not end in order).
    pub(crate) fn pop_scope(&self, values: LimitValues) {
        let mut scopes = self.scopes.lock();
        if let Some(i) = scopes.iter().rposition(|s| *s == values) {
            scopes.remove(i);
        }
        self.publish(scopes.iter().fold(self.own, |a, b| a.tightest(*b)));
    }

    /// Forgets a pending exception of an earlier entry.
    #[inline]
    pub(crate) fn clear_pending(&self, py: Python<'_>) {
        if self.pending.get(py).is_some() {
            self.pending.replace(py, None);
        }
        self.delivered.replace(py, false);
    }

    /// At the end of an outermost entry: a pending exception that never reached Python is
    /// posted or reported (see the module docs).
    pub(crate) fn end_entry(&self, py: Python<'_>) {
        if self.pending.get(py).is_some() && !*self.delivered.get(py) {
            if on_main_thread() {
                self.repost_pending(py);
            } else if let Some(err) = self.pending.replace(py, None) {
                err.write_unraisable(py, None);
            }
        }
    }

    /// After a close that Ctrl-C stopped (its finalizers, see `close_budget`): the close
    /// cannot raise, so the interpreter raises `KeyboardInterrupt` at its next check instead
    /// (another exception from a signal handler is reported as unraisable).
    pub(crate) fn repost_pending(&self, py: Python<'_>) {
        let Some(err) = self.pending.replace(py, None) else {
            return;
        };
        if err.is_instance_of::<pyo3::exceptions::PyKeyboardInterrupt>(py) {
            // SAFETY: callable with the GIL held; it only marks SIGINT as tripped.
            unsafe { pyo3::ffi::PyErr_SetInterrupt() };
        } else {
            err.write_unraisable(py, None);
        }
    }

    /// Stops the running entry with `err` (see the module docs).
    pub(crate) fn stop_with(&self, py: Python<'_>, data: &StateData, st: State, err: PyErr) {
        if self.pending.get(py).is_none() {
            self.pending.replace(py, Some(err));
        }
        data.limits.trip_for_owner(st);
    }

    /// The exception for an entry that `trip` stopped.
    pub(crate) fn error(&self, py: Python<'_>, trip: Trip, budget: Budget) -> PyErr {
        match trip {
            Trip::Timeout => {
                let seconds = budget.timeout.map_or(0.0, |t| t.as_secs_f64());
                exceptions::new_error(
                    py,
                    ErrorKind::Timeout,
                    format!("Lua code ran past its time limit ({seconds} s)"),
                )
            }
            Trip::Instructions => exceptions::new_error(
                py,
                ErrorKind::InstructionLimit,
                format!(
                    "Lua code ran out of its instruction budget ({} instructions)",
                    budget.max_instructions.unwrap_or(0)
                ),
            ),
            Trip::Interrupted => {
                exceptions::new_error(py, ErrorKind::Interrupt, "Lua code was interrupted")
            }
            // (Kept until the next entry: nested calls may report it on the way out too.)
            Trip::Owner => match self.pending.get(py) {
                Some(err) => {
                    let err = err.clone_ref(py);
                    self.delivered.replace(py, true);
                    err
                }
                None => exceptions::new_error(py, ErrorKind::Interrupt, "Lua code was stopped"),
            },
        }
    }
}

/// Whether the calling thread is Python's main thread (where signal handlers run).
#[inline]
pub(crate) fn on_main_thread() -> bool {
    current_thread_ident() == MAIN_THREAD.load(Relaxed)
}

/// `threading.get_ident()` of the calling thread, without a call into Python (CPython's
/// thread identifiers are `pthread_self()` on POSIX systems).
#[inline]
fn current_thread_ident() -> u64 {
    #[cfg(unix)]
    // SAFETY: no preconditions.
    return unsafe { libc::pthread_self() } as u64;
    #[cfg(not(unix))]
    // SAFETY: no preconditions.
    return unsafe { pyo3::ffi::PyThread_get_thread_ident() } as u64;
}

static MAIN_THREAD: AtomicU64 = AtomicU64::new(u64::MAX);

/// Records Python's main thread (at module initialisation).
pub(crate) fn remember_main_thread(py: Python<'_>) -> PyResult<()> {
    let ident: u64 = py
        .import("threading")?
        .call_method0("main_thread")?
        .getattr("ident")?
        .extract()?;
    MAIN_THREAD.store(ident, Relaxed);
    Ok(())
}

/// The checker of entries of the main thread (`safe_lua::Checker`): runs Python's signal
/// handlers; an exception they raise (`KeyboardInterrupt`) stops the entry.
pub(crate) fn check_signals(data: &StateData, _st: State) -> bool {
    let core = data.owner() as *const Core;
    if core.is_null() {
        return false;
    }
    // SAFETY: the owner pointer is the core, which outlives its state; the hook runs on the
    // thread that holds the runtime lock (the one running Lua code).
    let core = unsafe { &*core };
    let gil = core.lua_gil();
    if let LuaGil::Released(tstate) = gil {
        // SAFETY: this thread's state, saved when the running Lua call started.
        unsafe { pyo3::ffi::PyEval_RestoreThread(tstate) };
    }
    // SAFETY: the GIL is held now (re-taken above, or never released).
    let py = unsafe { Python::assume_attached() };
    let stop = match py.check_signals() {
        Ok(()) => false,
        Err(err) => {
            if core.limits.pending.get(py).is_none() {
                core.limits.pending.replace(py, Some(err));
            }
            true
        }
    };
    if let LuaGil::Released(_) = gil {
        // SAFETY: the GIL is held by this thread (above).
        let tstate = unsafe { pyo3::ffi::PyEval_SaveThread() };
        core.set_lua_gil(LuaGil::Released(tstate));
    }
    stop
}
