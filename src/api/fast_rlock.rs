//! `FastRLock`: the runtime lock as a Python class, as upstream lupa exports it.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::pyhelpers::Flag;
use crate::runtime::{Handoff, RuntimeLock};

/// A reentrant lock, as upstream lupa exports it (`lupa.lua54.FastRLock`).
///
/// `acquire()` waits with the GIL released, so it can be used to coordinate threads that also
/// run Lua code.
#[pyclass(module = "lupa", name = "FastRLock", frozen, subclass)]
pub(crate) struct FastRLock {
    lock: RuntimeLock,
}

#[pymethods]
impl FastRLock {
    /// Arguments are accepted and ignored, as upstream's constructor does (for subclasses).
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        FastRLock {
            lock: RuntimeLock::new(Handoff::Always),
        }
    }

    /// A lock cannot be copied or pickled (upstream's message).
    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::exceptions::not_reducible())
    }

    /// Takes the lock; with `blocking=False`, returns False instead of waiting.
    #[pyo3(signature = (blocking = Flag(true)), text_signature = "(self, blocking=True)")]
    fn acquire(&self, py: Python<'_>, blocking: Flag) -> PyResult<bool> {
        let guard = if blocking.0 {
            Some(self.lock.acquire(py))
        } else {
            self.lock.try_acquire(py)
        };
        // The level stays taken until `release()`.
        Ok(guard.map(std::mem::forget).is_some())
    }

    /// Releases one level of the lock; it must be held by the calling thread.
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        if !self.lock.is_owned(py) {
            return Err(PyRuntimeError::new_err("cannot release un-acquired lock"));
        }
        // SAFETY: checked just above that this thread holds the lock; `py` proves the GIL.
        unsafe { self.lock.release() };
        Ok(())
    }

    fn __enter__(&self, py: Python<'_>) -> bool {
        // The level stays taken until `__exit__`.
        std::mem::forget(self.lock.acquire(py));
        true
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
