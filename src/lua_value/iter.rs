//! `_LuaIter`: a single-use iterator over a table's keys, values or items, in `next` order.
//!
//! Each iterator keeps its own last key (an integer in Rust, anything else in a registry slot
//! of its own), so several iterators over one table are independent, and one iterator shared
//! by several threads hands out each entry once (every step runs under the runtime lock).

use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, Ordering};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::{PyTraverseError, gc::PyVisit};

use super::object::{LuaObject, lua_repr};
use crate::core::GilCell;
use crate::lua::{Op, ffi};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IterKind {
    Keys,
    Values,
    Items,
}

/// Where the last key of an iteration is kept.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KeyState {
    /// No key yet: the iteration starts at the first entry.
    NotStarted,
    /// An integer key (the array part, typically), kept here: no registry write per step.
    Integer(i64),
    /// Any other key, in the registry slot `LuaIter::key_ref`.
    InRegistry,
    /// The iteration is over.
    Finished,
}

#[pyclass(frozen, module = "lupa", name = "_LuaIter")]
pub(crate) struct LuaIter {
    table: Py<LuaObject>,
    kind: IterKind,
    /// Read at the start of a step and written at its end, with the GIL and the runtime lock
    /// held (one step at a time, even when several threads share the iterator).
    key: GilCell<KeyState>,
    /// The registry slot for non-integer keys (made on first use, released at the end).
    key_ref: AtomicI32,
}

impl LuaIter {
    pub(crate) fn new(table: Py<LuaObject>, kind: IterKind) -> Self {
        LuaIter {
            table,
            kind,
            key: GilCell::new(KeyState::NotStarted),
            key_ref: AtomicI32::new(ffi::LUA_NOREF),
        }
    }

    fn step(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let table = self.table.get();
        let lua = table.enter(py)?;
        let key = *self.key.get(py);
        if key == KeyState::Finished {
            return Ok(None);
        }
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 5)?;
        let st = lua.st;
        table.push_own(&lua);
        let table_idx = st.top();
        if st.type_of(table_idx) != ffi::LUA_TTABLE {
            return Err(PyTypeError::new_err(format!(
                "cannot iterate over non-table (found {})",
                lua_repr(&lua, -1)
            )));
        }
        // Push the last key and check that it still has a value: `next` raises for a key that
        // is no longer in the table (removed, and the table rehashed since), so only such keys
        // need the much slower protected call.
        let key_present = match key {
            KeyState::Integer(n) => {
                let present = st.raw_get_i(table_idx, n) != ffi::LUA_TNIL;
                st.pop(1);
                st.push_integer(n);
                present
            }
            KeyState::InRegistry => {
                st.push_reference(self.key_ref.load(Ordering::Relaxed));
                st.push_value(-1);
                let present = st.raw_get(table_idx) != ffi::LUA_TNIL;
                st.pop(1);
                present
            }
            _ => {
                st.push_nil();
                true
            }
        };
        if key_present {
            if !st.next(table_idx) {
                st.set_top(table_idx - 1);
            }
        } else {
            let status = st.protected(Op::NEXT, std::ptr::null_mut(), 2, ffi::LUA_MULTRET, 0);
            if status != ffi::LUA_OK {
                self.finish(py, &lua);
                return Err(lua.pop_error(py, status));
            }
        }
        if st.top() < table_idx {
            self.finish(py, &lua);
            return Ok(None);
        }
        // Stack: [key, value]; remember the key for the next step.
        let next_key = match integer_key(st, -2) {
            Some(n) => KeyState::Integer(n),
            None => {
                st.push_value(-2);
                let reference = self.key_ref.load(Ordering::Relaxed);
                if reference == ffi::LUA_NOREF {
                    self.key_ref.store(lua.reference(py)?, Ordering::Relaxed);
                } else {
                    st.raw_set_i(ffi::LUA_REGISTRYINDEX, reference as i64);
                }
                KeyState::InRegistry
            }
        };
        self.key.replace(py, next_key);
        // (`python.none` keys convert back to None like any userdata of None.)
        Ok(Some(match self.kind {
            IterKind::Keys => lua.to_python(py, -2)?.unbind(),
            IterKind::Values => lua.to_python(py, -1)?.unbind(),
            IterKind::Items => PyTuple::new(py, [lua.to_python(py, -2)?, lua.to_python(py, -1)?])?
                .into_any()
                .unbind(),
        }))
    }

    fn finish(&self, py: Python<'_>, lua: &crate::context::Lua<'_>) {
        self.key.replace(py, KeyState::Finished);
        let reference = self.key_ref.swap(ffi::LUA_NOREF, Ordering::Relaxed);
        if reference != ffi::LUA_NOREF {
            lua.st
                .unreference_safely(reference, lua.core.memory_limited());
        }
    }
}

/// The value at `idx` as an integer key that `push_integer` recreates exactly: Lua 5.3+
/// integers; before 5.3, integral doubles in the `i64` range (except -0.0).
fn integer_key(st: crate::lua::State, idx: c_int) -> Option<i64> {
    if st.type_of(idx) != ffi::LUA_TNUMBER {
        return None;
    }
    if crate::flavour::HAS_INTEGERS {
        return st.to_integer_subtype(idx);
    }
    let n = st.to_number(idx);
    // `as` saturates (and maps NaN to 0), so the round trip only holds for exact integers.
    let i = n as i64;
    let exact = i as f64 == n && i.unsigned_abs() < 1 << 53 && !(i == 0 && n.is_sign_negative());
    exact.then_some(i)
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
        if key_ref != ffi::LUA_NOREF {
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
