//! The Python side of every C function Lua calls: attaching to Python, the runtime context,
//! and turning a Python exception into the Lua error that carries it.

use std::ffi::c_int;

use pyo3::prelude::*;

use crate::context::Lua;
use crate::core::Core;
use crate::lua::{Raise, State};
use crate::pyobject::{self, Flags, PyUserdata};

/// Runs the Python part of a callback on Lua thread `st`: attaches to Python (re-taking the
/// GIL that the Lua call released), makes `st` the runtime's current thread (so nested calls
/// from Python run on it), and turns a Python exception into the Lua error object.
#[inline]
pub(crate) fn with_python<F>(core: &Core, st: State, f: F) -> Result<c_int, Raise>
where
    F: for<'py> FnOnce(Python<'py>, &Lua<'_>) -> PyResult<c_int>,
{
    Python::attach(|py| {
        let previous = core.switch_current(st.as_ptr());
        let lua = Lua::in_callback(core, st);
        let result = f(py, &lua);
        core.switch_current(previous);
        result.map_err(|err| {
            push_exception(py, &lua, err);
            Raise::Error
        })
    })
}

/// Pushes a Python exception as a Lua error object: the exception instance itself (as
/// userdata), so that it can travel through Lua (`pcall` sees it, `tostring` gives
/// `str(exc)`) and be raised again in Python as the same object with its traceback.
pub(crate) fn push_exception(py: Python<'_>, lua: &Lua<'_>, err: PyErr) {
    let exc = err.into_value(py).into_bound(py).into_any();
    if pyobject::push_pyobject(py, lua, &exc, Flags::NONE).is_err() {
        // Only possible when out of memory under a memory limit.
        lua.st.push_nil();
    }
}

/// The Python object userdata a metamethod was called on (argument 1), or the standard
/// "bad argument" error.
#[inline]
pub(crate) fn self_userdata<'a>(st: State) -> Result<&'a mut PyUserdata, Raise> {
    match pyobject::userdata_at(st, 1) {
        Some(ud) if ud.object().is_some() => Ok(ud),
        Some(_) => Err(Raise::bad_argument(1, "deleted python object")),
        None => Err(Raise::bad_argument(1, "not a python object")),
    }
}
