//! Lua values as Python objects: the wrapper classes and how they are made.
//!
//! A wrapper holds a registry reference to its Lua value and a strong reference to its
//! runtime.  A new wrapper is made every time a value crosses into Python (as upstream), so
//! identity is not preserved.  The classes' Python protocols (call, items, iteration, ...)
//! are in `lua_value/`; this module only defines them and makes instances, which the
//! conversions need.

use std::ffi::c_int;

use pyo3::prelude::*;
use pyo3::pyclass::PyClass;
use pyo3::pyclass_init::PyClassInitializer;
use pyo3::types::PyTuple;
use safe_lua::State;
use safe_lua::sys::{LUA_OK, LUA_TFUNCTION, LUA_TTABLE, LUA_TTHREAD};

use crate::gc::traverse_fields;
use crate::runtime::{Core, GilCell, Lua, LuaRuntime};

/// Any Lua value; the class of userdata, light userdata and LuaJIT cdata.
#[pyclass(subclass, frozen, module = "lupa", name = "_LuaObject")]
pub(crate) struct LuaObject {
    runtime: Py<LuaRuntime>,
    /// Registry reference of the wrapped value.
    reference: c_int,
}

traverse_fields!(LuaObject { runtime });

impl Drop for LuaObject {
    fn drop(&mut self) {
        // SAFETY: Python objects are deallocated with the GIL held.
        let py = unsafe { Python::assume_attached() };
        self.core().release_reference(py, self.reference);
    }
}

impl LuaObject {
    #[inline]
    pub(crate) fn core(&self) -> &Core {
        &self.runtime.get().core
    }

    /// Enters the wrapper's runtime.
    #[inline(always)]
    pub(crate) fn enter(&self, py: Python<'_>) -> PyResult<Lua<'_>> {
        self.core().enter(py)
    }

    /// Pushes the wrapped value (it must belong to the runtime of `lua`).  `[-0, +1]`
    #[inline]
    pub(crate) fn push_value(&self, py: Python<'_>, lua: &Lua<'_>) -> PyResult<()> {
        if !std::ptr::eq(self.core(), lua.core) {
            return Err(crate::exceptions::lua_error(
                py,
                "cannot mix objects from different Lua runtimes",
            ));
        }
        self.push_own(lua);
        Ok(())
    }

    /// Pushes the wrapped value in its own runtime; returns its type (Lua code may have
    /// replaced it with any value through `debug.getregistry()`).  `[-0, +1]`
    #[inline]
    pub(crate) fn push_own(&self, lua: &Lua<'_>) -> c_int {
        lua.st.push_reference(self.reference)
    }
}

/// A Lua table: a mapping (protocols in lua_value/table.rs).
#[pyclass(extends = LuaObject, frozen, module = "lupa", name = "_LuaTable")]
pub(crate) struct LuaTable;

/// A Lua function (lua_value/function.rs).
#[pyclass(extends = LuaObject, subclass, frozen, module = "lupa", name = "_LuaFunction")]
pub(crate) struct LuaFunction;

/// A coroutine created in Lua that has not started yet: it wraps the coroutine's function,
/// and each call starts a fresh coroutine of it (as upstream).
#[pyclass(extends = LuaFunction, frozen, module = "lupa", name = "_LuaCoroutineFunction")]
pub(crate) struct LuaCoroutineFunction;

/// A Lua coroutine, as a generator (lua_value/thread.rs).
///
/// Its state is only touched with the GIL held (`GilCell`), and never borrowed across code
/// that can run Python or Lua code: dropping the start arguments can run their `__del__`,
/// which may use this coroutine again.
#[pyclass(extends = LuaObject, frozen, module = "lupa", name = "_LuaThread")]
pub(crate) struct LuaThread {
    /// Arguments for the first resume (coroutines created by `func.coroutine(*args)`).
    pub(crate) start_args: GilCell<Option<Py<PyTuple>>>,
    /// Closed by `close()` (or by an uncaught `throw()`): finished for good.
    pub(crate) closed: GilCell<bool>,
}

/// Wraps the Lua value at `idx` (a table, function, thread, foreign userdata, ...) in the
/// matching wrapper class.
pub(crate) fn wrap<'py>(py: Python<'py>, lua: &Lua<'_>, idx: c_int) -> PyResult<Bound<'py, PyAny>> {
    match lua.st.type_of(idx) {
        LUA_TTABLE => new_wrapper(py, lua, idx, LuaTable),
        LUA_TFUNCTION => new_wrapper(py, lua, idx, LuaFunction),
        LUA_TTHREAD => wrap_thread(py, lua, idx),
        _ => Ok(Bound::new(py, base(py, lua, idx)?)?.into_any()),
    }
}

/// Creates the registry reference for the value at `idx` and the base part of a wrapper.
fn base(py: Python<'_>, lua: &Lua<'_>, idx: c_int) -> PyResult<LuaObject> {
    let runtime = lua.core.owner_runtime(py)?;
    lua.ensure_stack(py, 1)?;
    lua.st.push_value(idx);
    let reference = lua.reference(py)?;
    Ok(LuaObject { runtime, reference })
}

/// A wrapper of class `T` (a direct subclass of `_LuaObject`) for the value at `idx`.
fn new_wrapper<'py, T>(
    py: Python<'py>,
    lua: &Lua<'_>,
    idx: c_int,
    child: T,
) -> PyResult<Bound<'py, PyAny>>
where
    T: PyClass<BaseType = LuaObject>,
{
    let init = PyClassInitializer::<LuaObject>::from(base(py, lua, idx)?).add_subclass(child);
    Ok(Bound::new(py, init)?.into_any())
}

/// Wraps the thread at `idx`: an unstarted coroutine (status OK, only its function on its
/// stack) becomes a `_LuaCoroutineFunction` of that function, anything else a `_LuaThread`.
fn wrap_thread<'py>(py: Python<'py>, lua: &Lua<'_>, idx: c_int) -> PyResult<Bound<'py, PyAny>> {
    let st = lua.st;
    // SAFETY: a thread of this runtime, kept alive by the value at `idx`.
    let co = unsafe { State::new(st.to_thread(idx)) };
    if co != st && co.status() == LUA_OK && co.top() == 1 && co.type_of(1) == LUA_TFUNCTION {
        lua.ensure_stack(py, 1)?;
        co.push_value(1);
        co.xmove(st, 1);
        let base = base(py, lua, -1);
        st.pop(1);
        let init = PyClassInitializer::from(base?)
            .add_subclass(LuaFunction)
            .add_subclass(LuaCoroutineFunction);
        return Ok(Bound::new(py, init)?.into_any());
    }
    new_thread_wrapper(py, lua, idx, None)
}

/// A `_LuaThread` for the coroutine at `idx`, with arguments for its first resume.
pub(crate) fn new_thread_wrapper<'py>(
    py: Python<'py>,
    lua: &Lua<'_>,
    idx: c_int,
    start_args: Option<Py<PyTuple>>,
) -> PyResult<Bound<'py, PyAny>> {
    let thread = LuaThread {
        start_args: GilCell::new(start_args),
        closed: GilCell::new(false),
    };
    let init = PyClassInitializer::from(base(py, lua, idx)?).add_subclass(thread);
    Ok(Bound::new(py, init)?.into_any())
}
