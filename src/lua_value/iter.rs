//! `_LuaIter`: a single-use iterator over a table's keys, values or items, in `next` order.
//!
//! The last key lives in a registry slot of its own, so several iterators over one table are
//! independent, and one iterator shared by several threads hands out each entry once (every
//! step runs under the runtime lock).

use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, Ordering};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::{PyTraverseError, gc::PyVisit};

use super::object::{LuaObject, lua_repr};
use crate::lua::{Op, ffi};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IterKind {
    Keys,
    Values,
    Items,
}

/// No key yet: the iteration starts at the first entry.
const NOT_STARTED: c_int = ffi::LUA_NOREF;
/// The iteration is over.
const FINISHED: c_int = ffi::LUA_NOREF - 1;

#[pyclass(frozen, module = "lupa", name = "_LuaIter")]
pub(crate) struct LuaIter {
    table: Py<LuaObject>,
    kind: IterKind,
    /// Registry reference of the last key, or `NOT_STARTED`/`FINISHED`.
    key_ref: AtomicI32,
}

impl LuaIter {
    pub(crate) fn new(table: Py<LuaObject>, kind: IterKind) -> Self {
        LuaIter {
            table,
            kind,
            key_ref: AtomicI32::new(NOT_STARTED),
        }
    }

    fn step(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let table = self.table.get();
        let lua = table.enter(py)?;
        let key_ref = self.key_ref.load(Ordering::Relaxed);
        if key_ref == FINISHED {
            return Ok(None);
        }
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 5)?;
        let st = lua.st;
        table.push_own(&lua);
        if st.type_of(-1) != ffi::LUA_TTABLE {
            return Err(PyTypeError::new_err(format!(
                "cannot iterate over non-table (found {})",
                lua_repr(&lua, -1)
            )));
        }
        if key_ref == NOT_STARTED {
            st.push_nil();
        } else {
            st.push_reference(key_ref);
        }
        // `next` raises for a key that is no longer in the table (it was removed and the table
        // rehashed since the last step).  A key that still has a value cannot fail, so only
        // the other keys need the (much slower) protected call.
        let base = st.top() - 2;
        let key_present = key_ref == NOT_STARTED || {
            st.push_value(-1);
            let present = st.raw_get(base + 1) != ffi::LUA_TNIL;
            st.pop(1);
            present
        };
        if key_present {
            if !st.next(base + 1) {
                st.set_top(base);
            }
        } else {
            let status = st.protected(Op::NEXT, std::ptr::null_mut(), 2, ffi::LUA_MULTRET, 0);
            if status != ffi::LUA_OK {
                self.finish(&lua);
                return Err(lua.pop_error(py, status));
            }
        }
        if st.top() == base {
            self.finish(&lua);
            return Ok(None);
        }
        // Stack: [key, value]; remember the key for the next step.
        st.push_value(-2);
        if key_ref == NOT_STARTED {
            let reference = lua.reference(py)?;
            self.key_ref.store(reference, Ordering::Relaxed);
        } else {
            st.raw_set_i(ffi::LUA_REGISTRYINDEX, key_ref as i64);
        }
        // (`python.none` keys convert back to None like any userdata of None.)
        Ok(Some(match self.kind {
            IterKind::Keys => lua.to_python(py, -2)?.unbind(),
            IterKind::Values => lua.to_python(py, -1)?.unbind(),
            IterKind::Items => PyTuple::new(py, [lua.to_python(py, -2)?, lua.to_python(py, -1)?])?
                .into_any()
                .unbind(),
        }))
    }

    fn finish(&self, lua: &crate::context::Lua<'_>) {
        let key_ref = self.key_ref.swap(FINISHED, Ordering::Relaxed);
        if key_ref != NOT_STARTED && key_ref != FINISHED {
            lua.st
                .unreference_safely(key_ref, lua.core.memory_limited());
        }
    }
}

/// The `tp_iternext` slot of `_LuaIter` (installed by module.rs): one step without PyO3's
/// method-call bookkeeping, since iteration calls it once per entry.
///
/// # Safety
/// Called by CPython as `tp_iternext` of `_LuaIter`, with the GIL held.
pub(crate) unsafe extern "C" fn next_slot(
    slf: *mut pyo3::ffi::PyObject,
) -> *mut pyo3::ffi::PyObject {
    // SAFETY: CPython calls tp_iternext with the GIL held.
    let py = unsafe { Python::assume_attached() };
    crate::pyhelpers::run_slot(py, || {
        // SAFETY: CPython passes a live `_LuaIter` (borrowed).
        let slf = unsafe { Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaIter>() };
        Ok(slf
            .get()
            .step(py)?
            .map_or(std::ptr::null_mut(), Py::into_ptr))
    })
}

impl Drop for LuaIter {
    fn drop(&mut self) {
        let key_ref = *self.key_ref.get_mut();
        if key_ref != NOT_STARTED && key_ref != FINISHED {
            // SAFETY: Python objects are deallocated with the GIL held.
            let py = unsafe { Python::assume_attached() };
            self.table.get().core().release_reference(py, key_ref);
        }
    }
}

#[pymethods]
impl LuaIter {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __new__(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        Err(super::object::not_instantiable())
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// (The `tp_iternext` slot, `next_slot`, bypasses this method; same behaviour.)
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        self.step(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("LuaIter({})", self.table.bind(py).repr()?))
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.table)
    }
}
