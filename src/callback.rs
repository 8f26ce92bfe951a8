//! The Python side of every C function Lua calls: re-taking the GIL, the runtime context,
//! and turning a Python exception into the Lua error that carries it.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;

use crate::context::Lua;
use crate::core::Core;
use crate::lua::{Raise, State};
use crate::pyobject::{self, Flags, UserdataInfo};

/// How the Python part of a callback failed.
pub(crate) enum Fail {
    /// A Python exception, raised into Lua as the exception object.
    Python(PyErr),
    /// A Lua error (a bad argument, a message).
    Lua(Raise),
}

impl From<PyErr> for Fail {
    fn from(err: PyErr) -> Self {
        Fail::Python(err)
    }
}

impl From<Raise> for Fail {
    fn from(raise: Raise) -> Self {
        Fail::Lua(raise)
    }
}

/// Runs the Python part of a callback on Lua thread `st`.
///
/// * Re-takes the GIL if the Lua call that led here released it (`Lua::without_gil`), with
///   the thread state recorded there, and releases it again afterwards;
/// * makes `st` the runtime's current thread, so nested calls from Python run on it;
/// * turns a Python exception into the Lua error object (the exception itself).
///
/// Every Python object made by `f` is dropped before the GIL is released again, and a panic
/// in `f` is caught here (and becomes a Lua error) so that the GIL and the current thread are
/// restored on every path.
#[inline]
pub(crate) fn with_python<F>(core: &Core, st: State, f: F) -> Result<c_int, Raise>
where
    F: for<'py> FnOnce(Python<'py>, &Lua<'_>) -> Result<c_int, Fail>,
{
    let released = core.set_released_thread(std::ptr::null_mut());
    if !released.is_null() {
        // SAFETY: `released` is this thread's state, saved by `without_gil` when the Lua call
        // that is running now started.
        unsafe { pyo3::ffi::PyEval_RestoreThread(released) };
    }
    // SAFETY: the GIL is held: re-taken above, or never released (then `released` is null).
    let py = unsafe { Python::assume_attached() };
    let previous = core.switch_current(st.as_ptr());
    let result = {
        let lua = Lua::in_callback(core, st);
        match catch_unwind(AssertUnwindSafe(|| f(py, &lua))) {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(Fail::Lua(raise))) => Err(raise),
            Ok(Err(Fail::Python(err))) => {
                push_exception(py, &lua, err);
                Err(Raise::Error)
            }
            Err(_panic) => Err(Raise::internal_error()),
        }
    };
    core.switch_current(previous);
    if !released.is_null() {
        // SAFETY: we hold the GIL (taken above) and give it back for the rest of the Lua call.
        unsafe { pyo3::ffi::PyEval_SaveThread() };
    }
    core.set_released_thread(released);
    result
}

/// Pushes a Python exception as a Lua error object: the exception instance itself (as
/// userdata), so that it can travel through Lua (`pcall` sees it, `tostring` gives
/// `str(exc)`) and be raised again in Python as the same object with its traceback.
///
/// If the exception cannot be pushed (out of memory under a memory limit), pushes
/// `OUT_OF_MEMORY` instead, which needs no allocation and comes back as a LuaMemoryError.
pub(crate) fn push_exception(py: Python<'_>, lua: &Lua<'_>, err: PyErr) {
    let exc = err.into_value(py).into_bound(py).into_any();
    if pyobject::push_pyobject(py, lua, &exc, Flags::NONE).is_err() {
        lua.st
            .push_light_userdata(OUT_OF_MEMORY.as_ptr().cast_mut().cast());
    }
}

/// The error value for an exception that could not be pushed for lack of memory: its
/// address, as a light userdata (see `Lua::error_from`).
pub(crate) static OUT_OF_MEMORY: [u8; 1] = [0];

/// The Python object userdata a metamethod was called on (argument 1), or the standard
/// "bad argument" error.
#[inline]
pub(crate) fn self_userdata(st: State) -> Result<UserdataInfo, Raise> {
    match pyobject::userdata_at(st, 1) {
        Some(ud) if ud.alive => Ok(ud),
        Some(_) => Err(Raise::bad_argument(1, "deleted python object")),
        None => Err(Raise::bad_argument(1, "not a python object")),
    }
}
