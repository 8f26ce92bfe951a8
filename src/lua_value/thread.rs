//! `_LuaThread`: a Lua coroutine as a Python generator-like object.
//!
//! `next()`/`send()` resume the coroutine with the GIL released.  Yielded values are moved to
//! the runtime's current thread before they are converted.  Beyond upstream: a Python
//! exception raised inside the coroutine reaches the caller as that exception (upstream
//! reports an empty LuaError), and `throw()`/`close()` work like a generator's.

use std::ffi::c_int;

use pyo3::exceptions::{PyBaseException, PyStopIteration, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyTuple, PyType};
use safe_lua::State;
use safe_lua::sys::{LUA_OK, LUA_TFUNCTION, LUA_TTHREAD, LUA_YIELD};

use crate::convert::{Flags, LuaObject, LuaThread, new_thread_wrapper, userdata};
use crate::exceptions::ErrorKind;
use crate::runtime::Lua;

/// `func.coroutine(*args)`: a new coroutine running `func`.
pub(super) fn new_coroutine(
    py: Python<'_>,
    func: &LuaObject,
    args: &Bound<'_, PyTuple>,
) -> PyResult<Py<PyAny>> {
    let lua = func.enter(py)?;
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 3)?;
    let st = lua.st;
    func.push_own(&lua);
    if st.type_of(-1) != LUA_TFUNCTION || st.is_cfunction(-1) {
        return Err(PyTypeError::new_err("Lua object is not a function"));
    }
    // [f] -> [co], with `f` as the coroutine's body.
    lua.new_coroutine(py)?;
    Ok(new_thread_wrapper(py, &lua, -1, Some(args.clone().unbind()))?.unbind())
}

/// Enters the runtime of the coroutine `slf` with `stack` free slots and pushes it (which
/// keeps it alive; the stack is reset afterwards); `f` gets the context and the coroutine.
fn with_coroutine<R>(
    slf: &LuaObject,
    py: Python<'_>,
    stack: usize,
    f: impl FnOnce(&Lua<'_>, State) -> PyResult<R>,
) -> PyResult<R> {
    let lua = slf.enter(py)?;
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, stack)?;
    if slf.push_own(&lua) != LUA_TTHREAD {
        return Err(PyTypeError::new_err(format!(
            "the coroutine's registry entry was replaced (found {})",
            super::object::lua_repr(&lua, -1)
        )));
    }
    // SAFETY: a thread of this runtime (checked above), anchored on our stack.
    let co = unsafe { State::new(lua.st.to_thread(-1)) };
    f(&lua, co)
}

/// What a resume passes to the coroutine.
enum ResumeArgs<'a, 'py> {
    None,
    One(&'a Bound<'py, PyAny>),
    Tuple(&'a Bound<'py, PyTuple>),
}

impl LuaThread {
    fn resume(
        &self,
        slf: &LuaObject,
        py: Python<'_>,
        args: ResumeArgs<'_, '_>,
    ) -> PyResult<Py<PyAny>> {
        with_coroutine(slf, py, 2, |lua, co| self.resume_in(py, lua, co, args))
    }

    fn resume_in(
        &self,
        py: Python<'_>,
        lua: &Lua<'_>,
        co: State,
        args: ResumeArgs<'_, '_>,
    ) -> PyResult<Py<PyAny>> {
        let st = lua.st;
        if is_current(lua, co) {
            // The idle main thread (as upstream: finished), or the coroutine whose Python
            // callback asks (running, as Lua's `coroutine.resume` would say).
            if co.has_frames() {
                return Err(crate::exceptions::lua_error(
                    py,
                    "cannot resume non-suspended coroutine",
                ));
            }
            return Err(PyStopIteration::new_err(()));
        }
        let status = co.status();
        if *self.closed.get(py) || (status == LUA_OK && co.top() == 0) {
            // Finished (see `is_finished`).
            return Err(PyStopIteration::new_err(()));
        }
        if let Some(message) = not_resumable(lua, co, status) {
            return Err(crate::exceptions::lua_error(py, message));
        }
        let start_args = self.start_args.replace(py, None);
        let nargs = match (&start_args, args) {
            (Some(start), _) => self.push_args(py, lua, start.bind(py).as_any(), true)?,
            (None, ResumeArgs::None) => 0,
            (None, ResumeArgs::One(value)) => self.push_args(py, lua, value, false)?,
            (None, ResumeArgs::Tuple(values)) => self.push_args(py, lua, values.as_any(), true)?,
        };
        if !co.ensure_stack(nargs + 1) {
            return Err(crate::exceptions::new_error(
                py,
                ErrorKind::Memory,
                "not enough memory (coroutine stack)",
            ));
        }
        st.xmove(co, nargs);
        // SAFETY: the runtime's live main thread (we hold its lock).
        let from = unsafe { State::new(lua.core.main_thread()) };
        let (status, nresults) = lua.without_gil(py, move || {
            // SAFETY: `co` is a coroutine of this runtime; we hold its lock.
            unsafe { co.resume_with(&lua.core.data.limits, from, nargs) }
        });
        match status {
            LUA_OK | LUA_YIELD if lua.core.data.limits.tripped().is_some() => {
                // It ended (or yielded) right after a limit stopped it: failed all the same.
                co.pop(nresults);
                Err(lua.limit_error(py).expect("a limit tripped"))
            }
            LUA_OK | LUA_YIELD => {
                if let Err(err) = lua.ensure_stack(py, nresults as usize + 1) {
                    // Dropped: left on the coroutine, they would be taken for its function
                    // (after a return) or for the arguments of the next resume.
                    co.set_top(co.top() - nresults);
                    return Err(err);
                }
                co.xmove(st, nresults);
                if status == LUA_OK && nresults == 0 {
                    return Err(PyStopIteration::new_err(()));
                }
                let first = st.top() - nresults + 1;
                lua.results_to_python(py, first, nresults)
            }
            _ => {
                co.xmove(st, 1);
                Err(lua.pop_error(py, status))
            }
        }
    }

    /// Pushes resume arguments (a tuple is spread when `spread`).  Returns how many.
    fn push_args(
        &self,
        py: Python<'_>,
        lua: &Lua<'_>,
        args: &Bound<'_, PyAny>,
        spread: bool,
    ) -> PyResult<c_int> {
        match args.cast::<PyTuple>() {
            Ok(tuple) if spread => {
                lua.ensure_stack(py, tuple.len() + 1)?;
                for item in tuple.iter() {
                    lua.push(py, &item)?;
                }
                Ok(tuple.len() as c_int)
            }
            _ => {
                lua.push(py, args)?;
                Ok(1)
            }
        }
    }

    /// Marks the coroutine finished for good and drops its start arguments (whose `__del__`
    /// may use this coroutine: no borrow of the state is alive meanwhile).
    fn finish(&self, py: Python<'_>) {
        self.closed.replace(py, true);
        drop(self.start_args.replace(py, None));
    }

    /// `throw()`: raises `exc` at the coroutine's `yield` (see lua/inject.rs).  A coroutine
    /// that is not suspended (not started, finished, closed) is closed and `exc` raised here.
    fn throw_exception(
        &self,
        slf: &LuaObject,
        py: Python<'_>,
        exc: &Bound<'_, PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let result = with_coroutine(slf, py, 5, |lua, co| {
            if *self.closed.get(py) || co.status() != LUA_YIELD {
                self.finish(py);
                return Err(PyErr::from_value(exc.clone()));
            }
            userdata::push_pyobject(py, lua, exc, Flags::NONE)?;
            match lua.st.raise_on_resume(co, lua.core.can_grow()) {
                LUA_OK => Ok(()),
                status => Err(lua.pop_error(py, status)),
            }?;
            // In the same entry: no other thread can resume the coroutine in between and
            // receive the exception.
            self.resume_in(py, lua, co, ResumeArgs::None)
        });
        if let Err(err) = &result
            && err.value(py).is(exc)
        {
            // Not handled inside: the coroutine died of it, like a generator does.
            self.closed.replace(py, true);
        }
        result
    }

    /// `close()`: finishes a suspended coroutine.  On Lua 5.4+ its pending to-be-closed
    /// variables are closed (`lua_closethread`); older Lua versions just drop it.
    fn close_coroutine(&self, slf: &LuaObject, py: Python<'_>) -> PyResult<()> {
        with_coroutine(slf, py, 2, |lua, co| {
            if *self.closed.get(py) {
                return Ok(());
            }
            self.finish(py);
            if co.status() != LUA_YIELD {
                return Ok(());
            }
            let st = lua.st;
            let status = lua.without_gil(py, move || {
                // SAFETY: a suspended coroutine of this runtime; we hold the lock.
                unsafe { co.close_thread(st) }
            });
            match status {
                Some(status) if status != LUA_OK => {
                    co.xmove(st, 1);
                    Err(lua.pop_error(py, status))
                }
                _ => Ok(()),
            }
        })
    }

    fn is_alive(&self, slf: &LuaObject, py: Python<'_>) -> PyResult<bool> {
        if *self.closed.get(py) {
            return Ok(false);
        }
        with_coroutine(slf, py, 1, |lua, co| {
            if is_current(lua, co) {
                return Ok(co.has_frames());
            }
            Ok(match co.status() {
                LUA_YIELD => true,
                LUA_OK => !is_finished(co),
                _ => false,
            })
        })
    }
}

/// The exception `throw(typ, val, tb)` raises, normalised like `generator.throw()` does.
fn exception_to_throw<'py>(
    py: Python<'py>,
    typ: &Bound<'py, PyAny>,
    val: Option<&Bound<'py, PyAny>>,
    tb: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let val = val.filter(|v| !v.is_none());
    let exc = if typ.is_instance_of::<PyBaseException>() {
        if val.is_some() {
            return Err(PyTypeError::new_err(
                "instance exception may not have a separate value",
            ));
        }
        typ.clone()
    } else if typ
        .cast::<PyType>()
        .is_ok_and(|t| t.is_subclass_of::<PyBaseException>().unwrap_or(false))
    {
        match val {
            Some(v) if v.is_instance(typ)? => v.clone(),
            Some(v) => match v.cast::<PyTuple>() {
                Ok(args) => typ.call1(args)?,
                Err(_) => typ.call1((v,))?,
            },
            None => typ.call0()?,
        }
    } else {
        return Err(PyTypeError::new_err(format!(
            "exceptions must be classes or instances deriving from BaseException, not {}",
            typ.get_type().name()?
        )));
    };
    if let Some(tb) = tb.filter(|tb| !tb.is_none()) {
        if !tb.is_instance_of::<pyo3::types::PyTraceback>() {
            return Err(PyTypeError::new_err(
                "throw() third argument must be a traceback object",
            ));
        }
        exc.call_method1("with_traceback", (tb,))?;
    }
    let _ = py;
    Ok(exc)
}

/// Whether `co` is the thread this entry runs on: the main thread, or the coroutine whose
/// Python callback is running.  Its stack holds the entry's own values, so the usual tests
/// (status and stack height) do not apply to it.
fn is_current(lua: &Lua<'_>, co: State) -> bool {
    co.as_ptr() == lua.st.as_ptr()
}

/// A coroutine that returned: status OK and nothing left on its stack.
fn is_finished(co: State) -> bool {
    co.status() == LUA_OK && co.top() == 0
}

/// Lua's message if the coroutine `co` (neither the current thread nor finished) cannot be
/// resumed: it died of an error, or it is running (it resumed the coroutine that asks, or it
/// is the main thread).  `lua_resume` would say so itself, but it makes the message outside
/// any protected call, where a memory error ends the process (LuaJIT: "Rust cannot catch
/// foreign exceptions"); and it takes the main thread, at its base level while Python resumes
/// a coroutine, for a coroutine that has not started (and runs the values on its stack).
fn not_resumable(lua: &Lua<'_>, co: State, status: c_int) -> Option<&'static str> {
    if co.as_ptr() == lua.core.main_thread() {
        return Some("cannot resume non-suspended coroutine");
    }
    match status {
        LUA_YIELD => None,
        LUA_OK if !co.has_frames() => None,
        LUA_OK => Some("cannot resume non-suspended coroutine"),
        _ => Some(safe_lua::flavour::RESUME_DEAD_MESSAGE),
    }
}

#[pymethods]
impl LuaThread {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        slf.get()
            .resume(slf.as_super().get(), slf.py(), ResumeArgs::None)
    }

    /// Resumes the coroutine with `value` (a tuple is passed as several values).  The first
    /// `send()` must pass None, like a generator's.
    fn send(slf: &Bound<'_, Self>, value: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let this = slf.get();
        let args = if value.is_none() {
            ResumeArgs::None
        } else {
            if this.start_args.get(slf.py()).is_some() {
                return Err(PyTypeError::new_err(
                    "can't send non-None value to a just-started generator",
                ));
            }
            match value.cast::<PyTuple>() {
                Ok(tuple) => ResumeArgs::Tuple(tuple),
                Err(_) => ResumeArgs::One(value),
            }
        };
        this.resume(slf.as_super().get(), slf.py(), args)
    }

    /// Raises an exception inside the coroutine, at the `yield` where it is suspended, like
    /// `generator.throw()`: Lua code may catch it with `pcall` (then the next yielded value is
    /// returned); otherwise it propagates here and the coroutine is finished.
    #[pyo3(signature = (typ, val = None, tb = None))]
    fn throw(
        slf: &Bound<'_, Self>,
        typ: &Bound<'_, PyAny>,
        val: Option<&Bound<'_, PyAny>>,
        tb: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let exc = exception_to_throw(slf.py(), typ, val, tb)?;
        slf.get()
            .throw_exception(slf.as_super().get(), slf.py(), &exc)
    }

    /// Finishes the coroutine, like `generator.close()`: it will not run any more.
    fn close(slf: &Bound<'_, Self>) -> PyResult<()> {
        slf.get().close_coroutine(slf.as_super().get(), slf.py())
    }

    fn __bool__(slf: &Bound<'_, Self>) -> PyResult<bool> {
        slf.get().is_alive(slf.as_super().get(), slf.py())
    }

    fn __traverse__(&self, visit: pyo3::gc::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        // SAFETY: tp_traverse runs with the GIL held and nothing mutating the cell.
        crate::gc::Traverse::traverse(unsafe { self.start_args.get_for_traverse() }, &visit)
    }
}
