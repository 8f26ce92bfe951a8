//! GIL-protected state: a cell for data that only the GIL holder touches, and how the GIL
//! stands while Lua code runs.

use std::cell::UnsafeCell;

use pyo3::Python;

/// A cell that is only ever accessed by the thread holding the GIL.
pub(crate) struct GilCell<T>(UnsafeCell<T>);

// SAFETY: every access goes through `get`/`replace`, which require a `Python` token, so
// accesses are serialised by the GIL (the module declares `gil_used = true`).
unsafe impl<T: Send> Sync for GilCell<T> {}

impl<T: Default> Default for GilCell<T> {
    fn default() -> Self {
        GilCell::new(T::default())
    }
}

impl<T> GilCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        GilCell(UnsafeCell::new(value))
    }

    /// Borrows the content.  The borrow must not be held across code that can run Python or
    /// Lua code (which could replace the content).
    pub(crate) fn get<'a>(&'a self, _py: Python<'_>) -> &'a T {
        // SAFETY: the GIL serialises access; callers keep the borrow short (see above).
        unsafe { &*self.0.get() }
    }

    pub(crate) fn replace(&self, _py: Python<'_>, value: T) -> T {
        // SAFETY: the GIL serialises access and no borrow from `get` is alive (see `get`).
        unsafe { std::mem::replace(&mut *self.0.get(), value) }
    }

    /// For `tp_traverse`, which runs with the GIL held but without a `Python` token.
    ///
    /// # Safety
    /// Only call from a `__traverse__` implementation.
    pub(crate) unsafe fn get_for_traverse(&self) -> &T {
        // SAFETY: tp_traverse runs with the GIL held and no Rust code is mutating the cell.
        unsafe { &*self.0.get() }
    }
}

/// How the GIL stands while Lua code of a runtime runs (`Lua::without_gil` sets it, Python
/// callbacks from Lua read it to get the GIL back: `python_value::bridge::with_python`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum LuaGil {
    /// Lua runs with the GIL held by its caller (protected operations that may run
    /// finalizers, or no Lua call in progress).
    Held,
    /// Lua runs with the GIL kept because no other Python thread existed when the call
    /// started.  A callback that returns while other threads exist releases it for the rest
    /// of the call (`Released`).
    Kept,
    /// Lua runs with the GIL released; the thread state to re-take it with.
    Released(*mut pyo3::ffi::PyThreadState),
}
