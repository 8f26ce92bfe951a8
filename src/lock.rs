//! The per-runtime reentrant lock, and `FastRLock`, its Python face.
//!
//! Every entry from Python into a runtime takes the runtime's lock first.  The lock is
//! reentrant because Lua calls back into Python, which may call into the same runtime again on
//! the same thread.  The rule that keeps this deadlock-free (design.md §3): never *wait* for the
//! lock while holding the GIL.  `acquire` first tries without blocking and only blocks after
//! releasing the GIL; another thread that owns the lock may need the GIL to finish its
//! callback.
//!
//! Owners are identified by their Python thread state: the lock is only ever taken by threads
//! that hold the GIL, and reading the current thread state is much cheaper than a Rust
//! thread-local in a shared library.  The nesting count doubles as the runtime's recursion
//! depth (see `Core::enter`).

use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, Ordering};

use lock_api::RawMutex as _;
use pyo3::exceptions::PyRuntimeError;
use pyo3::ffi::{PyThreadState, PyThreadState_Get};
use pyo3::prelude::*;

/// A reentrant lock that is waited on only with the GIL released.
pub(crate) struct RuntimeLock {
    mutex: parking_lot::RawMutex,
    /// The thread state of the holder, or null.
    owner: AtomicPtr<PyThreadState>,
    /// Nesting depth of the holder; only touched by the holder.
    count: Cell<u32>,
}

// SAFETY: `count` is only read and written by the thread that owns the lock (checked through
// `owner`, which is atomic); the mutex is a plain raw mutex.
unsafe impl Sync for RuntimeLock {}
// SAFETY: no thread affinity; see above.
unsafe impl Send for RuntimeLock {}

/// The calling thread's identity (its Python thread state; the caller holds the GIL).
#[inline]
fn current_thread(_py: Python<'_>) -> *mut PyThreadState {
    // SAFETY: with the GIL held (the `Python` token proves it) this returns the current,
    // non-null thread state.
    unsafe { PyThreadState_Get() }
}

impl RuntimeLock {
    pub(crate) const fn new() -> Self {
        RuntimeLock {
            mutex: parking_lot::RawMutex::INIT,
            owner: AtomicPtr::new(std::ptr::null_mut()),
            count: Cell::new(0),
        }
    }

    /// Takes the lock, blocking (with the GIL released) while another thread holds it.
    #[inline]
    pub(crate) fn acquire(&self, py: Python<'_>) -> LockGuard<'_> {
        let me = current_thread(py);
        if self.owner.load(Ordering::Relaxed) == me {
            self.count.set(self.count.get() + 1);
        } else {
            // The raw mutex's guard is a stateless token (no destructor); `release` makes a
            // new one to unlock.
            if self.mutex.try_lock().is_none() {
                py.detach(|| {
                    let _token = self.mutex.lock();
                });
            }
            self.owner.store(me, Ordering::Relaxed);
            self.count.set(1);
        }
        LockGuard(self)
    }

    /// Takes the lock if that is possible without waiting.
    #[inline]
    pub(crate) fn try_acquire(&self, py: Python<'_>) -> Option<LockGuard<'_>> {
        let me = current_thread(py);
        if self.owner.load(Ordering::Relaxed) == me {
            self.count.set(self.count.get() + 1);
        } else if self.mutex.try_lock().is_some() {
            self.owner.store(me, Ordering::Relaxed);
            self.count.set(1);
        } else {
            return None;
        }
        Some(LockGuard(self))
    }

    /// Whether the calling thread holds the lock.
    fn is_owned(&self, py: Python<'_>) -> bool {
        self.owner.load(Ordering::Relaxed) == current_thread(py)
    }

    /// How often the holder has taken the lock (its nesting depth); only meaningful for the
    /// holder.
    #[inline]
    pub(crate) fn depth(&self) -> u32 {
        self.count.get()
    }

    /// Releases one level.
    ///
    /// # Safety
    /// The calling thread holds the lock.
    #[inline]
    unsafe fn release(&self) {
        let count = self.count.get() - 1;
        self.count.set(count);
        if count == 0 {
            self.owner.store(std::ptr::null_mut(), Ordering::Relaxed);
            // SAFETY: the caller holds the lock, and this was its last level.
            unsafe { self.mutex.unlock(Default::default()) };
        }
    }
}

/// Proof that the current thread holds a runtime lock; releases one level when dropped.
pub(crate) struct LockGuard<'a>(&'a RuntimeLock);

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a guard only exists while its thread holds the lock (one level per guard).
        unsafe { self.0.release() }
    }
}

/// A reentrant lock, as upstream lupa exports it (`lupa.lua54.FastRLock`).
///
/// `acquire()` waits with the GIL released, so it can be used to coordinate threads that also
/// run Lua code.
#[pyclass(module = "lupa", name = "FastRLock", frozen)]
pub(crate) struct FastRLock {
    lock: RuntimeLock,
}

#[pymethods]
impl FastRLock {
    #[new]
    fn new() -> Self {
        FastRLock {
            lock: RuntimeLock::new(),
        }
    }

    /// Takes the lock; with `blocking=False`, returns False instead of waiting.
    #[pyo3(signature = (blocking = true))]
    fn acquire(&self, py: Python<'_>, blocking: bool) -> bool {
        let guard = if blocking {
            Some(self.lock.acquire(py))
        } else {
            self.lock.try_acquire(py)
        };
        // The level stays taken until `release()`.
        guard.map(std::mem::forget).is_some()
    }

    /// Releases one level of the lock; it must be held by the calling thread.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        if !self.lock.is_owned(py) {
            return Err(PyRuntimeError::new_err("cannot release un-acquired lock"));
        }
        // SAFETY: checked just above that this thread holds the lock.
        unsafe { self.lock.release() };
        Ok(())
    }

    fn __enter__(&self, py: Python<'_>) -> bool {
        self.acquire(py, true)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_info: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<()> {
        self.release(py)
    }

    /// Whether the calling thread holds the lock.
    fn _is_owned(&self, py: Python<'_>) -> bool {
        self.lock.is_owned(py)
    }
}
