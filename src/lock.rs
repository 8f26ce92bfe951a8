//! The per-runtime reentrant lock, and `FastRLock`, its Python face.
//!
//! Every entry from Python into a runtime takes the runtime's lock first.  The lock is
//! reentrant because Lua calls back into Python, which may call into the same runtime again on
//! the same thread.  The rule that keeps this deadlock-free (design.md §3): never *wait* for the
//! lock while holding the GIL.  `acquire` first tries without blocking and only blocks after
//! releasing the GIL; another thread that owns the lock may need the GIL to finish its
//! callback.

use lock_api::RawReentrantMutex;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

type RawLock = RawReentrantMutex<parking_lot::RawMutex, parking_lot::RawThreadId>;

/// A reentrant lock that is waited on only with the GIL released.
pub(crate) struct RuntimeLock(RawLock);

impl RuntimeLock {
    pub(crate) const fn new() -> Self {
        RuntimeLock(RawLock::INIT)
    }

    /// Takes the lock, blocking (with the GIL released) while another thread holds it.
    #[inline]
    pub(crate) fn acquire(&self, py: Python<'_>) -> LockGuard<'_> {
        if !self.0.try_lock() {
            py.detach(|| self.0.lock());
        }
        LockGuard(self)
    }

    /// Takes the lock if that is possible without waiting.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Option<LockGuard<'_>> {
        // (`then`, not `then_some`: a guard built eagerly would unlock when dropped.)
        self.0.try_lock().then(|| LockGuard(self))
    }
}

/// Proof that the current thread holds a runtime lock; releases it when dropped.
pub(crate) struct LockGuard<'a>(&'a RuntimeLock);

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a guard only exists while its thread holds the lock (one level per guard).
        unsafe { self.0.0.unlock() }
    }
}

/// A reentrant lock, as upstream lupa exports it (`lupa.lua54.FastRLock`).
///
/// `acquire()` waits with the GIL released, so it can be used to coordinate threads that also
/// run Lua code.
#[pyclass(module = "lupa", name = "FastRLock", frozen)]
pub(crate) struct FastRLock {
    lock: RawLock,
}

#[pymethods]
impl FastRLock {
    #[new]
    fn new() -> Self {
        FastRLock {
            lock: RawLock::INIT,
        }
    }

    /// Takes the lock; with `blocking=False`, returns False instead of waiting.
    #[pyo3(signature = (blocking = true))]
    fn acquire(&self, py: Python<'_>, blocking: bool) -> bool {
        if self.lock.try_lock() {
            return true;
        }
        if !blocking {
            return false;
        }
        py.detach(|| self.lock.lock());
        true
    }

    /// Releases one level of the lock; it must be held by the calling thread.
    fn release(&self) -> PyResult<()> {
        if !self.lock.is_owned_by_current_thread() {
            return Err(PyRuntimeError::new_err("cannot release un-acquired lock"));
        }
        // SAFETY: checked just above that this thread holds the lock.
        unsafe { self.lock.unlock() };
        Ok(())
    }

    fn __enter__(&self, py: Python<'_>) -> bool {
        self.acquire(py, true)
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, _exc_info: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<()> {
        self.release()
    }

    /// Whether the calling thread holds the lock.
    fn _is_owned(&self) -> bool {
        self.lock.is_owned_by_current_thread()
    }
}
