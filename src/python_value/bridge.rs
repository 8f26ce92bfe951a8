//! The call bridge: the Python side of every C function Lua calls (re-taking the GIL, the
//! runtime context, a Python exception as the Lua error that carries it), and calls of
//! Python callables with Lua arguments.

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use safe_lua::{Marker, Raise, State};

use super::args::PyArguments;
use crate::convert::{Flags, UserdataInfo, userdata};
use crate::runtime::{Core, Lua, LuaGil};

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
///   the thread state recorded there, and releases it again afterwards (also when it was
///   kept for a single-threaded program that has started a thread since);
/// * makes `st` the runtime's current thread, so nested calls from Python run on it;
/// * turns a Python exception into the Lua error object (the exception itself).
///
/// Every Python object made by `f` is dropped before the GIL is released again, and a panic
/// in `f` is caught here (and becomes a Lua error) so that the GIL and the current thread are
/// restored on every path.
///
/// Once a limit has stopped the entry, no Python code runs for it any more: `f` is skipped
/// and the limit's error raised (`Raise::Stopped`).  A library function can call Python
/// functions in a loop that runs no VM instruction (`table.sort` with a Python comparator);
/// on PUC Lua the hook that the stop arms fires when such a C function returns, but LuaJIT
/// and Luau call none there (their `table.sort` went on calling the comparator for the
/// whole sort after `interrupt()`).  Two relaxed loads per callback.
#[inline]
pub(crate) fn with_python<F>(core: &Core, st: State, f: F) -> Result<c_int, Raise>
where
    F: for<'py> FnOnce(Python<'py>, &Lua<'_>) -> Result<c_int, Fail>,
{
    if core.data.limits.tripped().is_some() {
        return Err(Raise::Stopped);
    }
    always_with_python(core, st, f)
}

/// `with_python`, also after a limit has stopped the entry: for releasing a Python object
/// (a finalizer), which must happen whatever stopped the code around it.
#[inline]
pub(crate) fn always_with_python<F>(core: &Core, st: State, f: F) -> Result<c_int, Raise>
where
    F: for<'py> FnOnce(Python<'py>, &Lua<'_>) -> Result<c_int, Fail>,
{
    let gil = core.set_lua_gil(LuaGil::Held);
    if let LuaGil::Released(tstate) = gil {
        // SAFETY: `tstate` is this thread's state, saved by `without_gil` when the Lua call
        // that is running now started.
        unsafe { pyo3::ffi::PyEval_RestoreThread(tstate) };
    }
    // SAFETY: the GIL is held: re-taken above, or never released.
    let py = unsafe { Python::assume_attached() };
    let previous = core.switch_current(st.as_ptr());
    let result = {
        let lua = Lua::in_callback(core, st);
        match catch_unwind(AssertUnwindSafe(|| f(py, &lua))) {
            Ok(Ok(n)) => Ok(n),
            Ok(Err(Fail::Lua(raise))) => Err(raise),
            Ok(Err(Fail::Python(err))) => {
                stop_entry_if_fatal(py, core, st, &err);
                push_exception(py, &lua, err);
                Err(Raise::Error)
            }
            Err(_panic) => Err(Raise::internal_error()),
        }
    };
    core.switch_current(previous);
    // Give the GIL back for the rest of the Lua call; also when it was kept because this was
    // the only Python thread and another one exists now (this callback may have started it:
    // a watchdog, a progress reporter), so that the new thread is not starved.
    let gil = match gil {
        LuaGil::Released(_) => LuaGil::Released(release_gil()),
        LuaGil::Kept if crate::pyhelpers::other_python_threads(py) => {
            LuaGil::Released(release_gil())
        }
        held_or_kept => held_or_kept,
    };
    core.set_lua_gil(gil);
    result
}

/// A `KeyboardInterrupt` or `SystemExit` from a callback ends the whole entry from Python:
/// Lua code cannot catch it (`pcall` sees the error, but the entry's limits stop the next
/// instruction), and it reaches Python as itself (see runtime/limits.rs).
fn stop_entry_if_fatal(py: Python<'_>, core: &Core, st: State, err: &PyErr) {
    use pyo3::exceptions::{PyKeyboardInterrupt, PySystemExit};
    if err.is_instance_of::<PyKeyboardInterrupt>(py) || err.is_instance_of::<PySystemExit>(py) {
        core.limits.stop_with(py, &core.data, st, err.clone_ref(py));
    }
}

/// Releases the GIL (held by this thread) and returns the thread state to re-take it with.
fn release_gil() -> *mut pyo3::ffi::PyThreadState {
    // SAFETY: the calling thread holds the GIL (the callback ran with it).
    unsafe { pyo3::ffi::PyEval_SaveThread() }
}

/// Pushes a Python exception as a Lua error object: the exception instance itself (as
/// userdata), so that it can travel through Lua (`pcall` sees it, `tostring` gives
/// `str(exc)`) and be raised again in Python as the same object with its traceback.
///
/// If the exception cannot be pushed, the error says why instead: a message naming the
/// exception and the reason (Lua code replaced lupa's registry entries, say), or, when there
/// is not even memory for that, `Marker::OutOfMemory`, which needs no allocation and comes
/// back as a LuaMemoryError (`Marker::RegistryTampered` when the registry is the reason).
pub(crate) fn push_exception(py: Python<'_>, lua: &Lua<'_>, err: PyErr) {
    let exc = err.into_value(py).into_bound(py).into_any();
    let failure = match userdata::push_pyobject(py, lua, &exc, Flags::NONE) {
        Ok(()) => return,
        Err(failure) => failure,
    };
    if !failure.is_instance_of::<pyo3::exceptions::PyMemoryError>(py) {
        let message = format!(
            "{}: {} (the Python exception could not be passed through Lua: {})",
            exc.get_type()
                .name()
                .map_or_else(|_| "exception".to_owned(), |n| n.to_string()),
            exc.str().map_or_else(|_| String::new(), |s| s.to_string()),
            failure.value(py),
        );
        match lua.push_bytes(py, message.as_bytes()) {
            Ok(()) => return,
            // (On Lua 5.1 and LuaJIT pushing a string runs a registered function.)
            Err(error) if !error.is_instance_of::<pyo3::exceptions::PyMemoryError>(py) => {
                lua.st.push_marker(Marker::RegistryTampered);
                return;
            }
            Err(_) => {}
        }
    }
    lua.st.push_marker(Marker::OutOfMemory);
}

/// The Python object userdata a metamethod was called on (argument 1), or the standard
/// "bad argument" error.
#[inline]
pub(crate) fn self_userdata(st: State) -> Result<UserdataInfo, Raise> {
    match userdata::userdata_at(st, 1) {
        Some(ud) if ud.alive => Ok(ud),
        Some(_) => Err(Raise::bad_argument(1, "deleted python object")),
        None => Err(Raise::bad_argument(1, "not a python object")),
    }
}

/// Calls a Python callable with the Lua values from stack index `first` on as arguments and
/// pushes its results.  Returns the number of results.
///
/// `python.args(...)` values among the arguments are spliced in as positional and keyword
/// arguments.  `obj:method(...)` works because Lua passes `obj` again as the first argument:
/// for a bound Python method whose `__self__` is that argument, the underlying function is
/// called instead (upstream's rule; builtin methods are not covered, as upstream).
pub(crate) fn call_python(
    py: Python<'_>,
    lua: &Lua<'_>,
    callable: &Bound<'_, PyAny>,
    first: c_int,
) -> PyResult<c_int> {
    let top = lua.st.top();
    let mut args = crate::pyhelpers::Args::new();
    let mut kwargs: Option<Bound<'_, PyDict>> = None;
    for idx in first..=top {
        let arg = lua.to_python(py, idx)?;
        if let Ok(spliced) = arg.cast::<PyArguments>() {
            spliced.get().splice_into(py, &mut args, &mut kwargs)?;
        } else {
            args.push(arg);
        }
    }
    let function;
    let mut callable = callable;
    if let Some((method_function, bound_self)) =
        crate::pyhelpers::bound_method_parts(callable.as_ptr())
        && args.first().is_some_and(|a| a.as_ptr() == bound_self)
    {
        // SAFETY: `method_function` is a borrowed reference kept alive by the method object.
        function = unsafe { Bound::from_borrowed_ptr(py, method_function) };
        callable = &function;
    }
    let result = match kwargs {
        None => crate::pyhelpers::vectorcall(py, callable, &args)?,
        Some(kwargs) => callable.call(PyTuple::new(py, args)?, Some(&kwargs))?,
    };
    push_results(py, lua, &result)
}

/// Pushes a callback's result: several values for a tuple when the runtime unpacks returned
/// tuples, else one value.
pub(crate) fn push_results(
    py: Python<'_>,
    lua: &Lua<'_>,
    result: &Bound<'_, PyAny>,
) -> PyResult<c_int> {
    if lua.core.options.unpack_returned_tuples
        && let Ok(tuple) = result.cast::<PyTuple>()
    {
        lua.ensure_stack(py, tuple.len())?;
        for item in tuple.iter() {
            lua.push(py, &item)?;
        }
        return Ok(tuple.len() as c_int);
    }
    lua.push(py, result)?;
    Ok(1)
}
