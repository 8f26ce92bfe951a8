//! `_LuaIter`: a single-use iterator over a table's keys, values or items, in `next` order.
//!
//! Each iterator keeps its own last key (an integer in Rust, anything else in a registry slot
//! of its own), so several iterators over one table are independent, and one iterator shared
//! by several threads hands out each entry once (every step runs under the runtime lock).

use std::ffi::c_int;
use std::sync::atomic::{AtomicI32, Ordering};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::{PyTraverseError, gc::PyVisit};

use safe_lua::sys::{LUA_NOREF, LUA_TBOOLEAN, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE};

use super::object::lua_repr;
use crate::convert::LuaObject;
use crate::gc::traverse_fields;
use crate::runtime::GilCell;

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
    /// The runtime's lock acquisition count during the last step, if the key it left is
    /// known to be valid for as long as nothing else uses the runtime (see `step`).
    valid_at: GilCell<Option<u64>>,
}

traverse_fields!(LuaIter { table });

impl LuaIter {
    pub(crate) fn new(table: Py<LuaObject>, kind: IterKind) -> Self {
        LuaIter {
            table,
            kind,
            key: GilCell::new(KeyState::NotStarted),
            key_ref: AtomicI32::new(LUA_NOREF),
            valid_at: GilCell::new(None),
        }
    }

    fn step(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let table = self.table.get();
        let lua = table.enter(py)?;
        let key = *self.key.get(py);
        if key == KeyState::Finished {
            return Ok(None);
        }
        // `Lua::next` checks that the last key is still valid for `next`.  The check is
        // skipped when nothing at all ran on the runtime since the last step: that step was an
        // outermost entry (no Lua code below it that could continue afterwards), ran no code
        // and made no Lua allocation after `next` (which could run finalizers), and the lock
        // was not taken since (every use of the runtime takes it, every Lua GC step happens
        // inside such a use).
        let acquisitions = lua.core.acquisitions();
        let outermost = lua.core.entry_depth() == 1;
        let untouched = outermost && *self.valid_at.get(py) == Some(acquisitions - 1);
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 5)?;
        let st = lua.st;
        table.push_own(&lua);
        let table_idx = st.top();
        if st.type_of(table_idx) != LUA_TTABLE {
            return Err(PyTypeError::new_err(format!(
                "cannot iterate over non-table (found {})",
                lua_repr(&lua, -1)
            )));
        }
        match key {
            KeyState::Integer(n) => st.push_integer(n),
            KeyState::InRegistry => {
                st.push_reference(self.key_ref.load(Ordering::Relaxed));
            }
            _ => st.push_nil(),
        }
        match lua.next(py, table_idx, untouched) {
            Ok(true) => {}
            Ok(false) => {
                self.finish(py, &lua);
                return Ok(None);
            }
            Err(err) => {
                self.finish(py, &lua);
                return Err(err);
            }
        }
        // Stack: [key, value].  Keep the key for the next step, then convert (the entry is
        // consumed even if the conversion fails).
        let key_type = st.type_of(-2);
        let mut made_reference = false;
        let next_key = match integer_key(st, -2, key_type) {
            Some(n) => KeyState::Integer(n),
            None => {
                st.push_value(-2);
                let reference = self.key_ref.load(Ordering::Relaxed);
                if reference == LUA_NOREF {
                    made_reference = true;
                    match lua.reference(py) {
                        Ok(reference) => self.key_ref.store(reference, Ordering::Relaxed),
                        // Out of memory: the iteration cannot go on.
                        Err(err) => {
                            self.finish(py, &lua);
                            return Err(err);
                        }
                    }
                } else if let Err(err) = lua.set_registry_slot(py, reference) {
                    self.finish(py, &lua);
                    return Err(err);
                }
                KeyState::InRegistry
            }
        };
        self.key.replace(py, next_key);
        // Numbers, strings and booleans convert without touching the Lua heap.
        // (`python.none` keys convert back to None like any userdata of None.)
        self.valid_at.replace(py, None);
        let (item, plain) = match self.kind {
            IterKind::Keys => (
                lua.to_python_typed(py, -2, key_type)?.unbind(),
                is_plain(key_type),
            ),
            IterKind::Values => {
                let value_type = st.type_of(-1);
                (
                    lua.to_python_typed(py, -1, value_type)?.unbind(),
                    is_plain(value_type),
                )
            }
            IterKind::Items => {
                let value_type = st.type_of(-1);
                let key = lua.to_python_typed(py, -2, key_type)?;
                let value = lua.to_python_typed(py, -1, value_type)?;
                let item = PyTuple::new(py, [key, value])?.into_any().unbind();
                (item, is_plain(key_type) && is_plain(value_type))
            }
        };
        // Trusted by the next step if nothing happens in between (see above), the conversion
        // (which may run Python code) included.
        // (Dropping `lua` runs no code unless the step hit the memory limit.)
        if outermost
            && plain
            && !made_reference
            && !lua.hit_memory_limit()
            && lua.core.acquisitions() == acquisitions
        {
            self.valid_at.replace(py, Some(acquisitions));
        }
        Ok(Some(item))
    }

    fn finish(&self, py: Python<'_>, lua: &crate::runtime::Lua<'_>) {
        self.key.replace(py, KeyState::Finished);
        let reference = self.key_ref.swap(LUA_NOREF, Ordering::Relaxed);
        if reference != LUA_NOREF {
            lua.unreference(reference);
        }
    }
}

/// Whether a value of this Lua type converts to Python without touching the Lua heap.
fn is_plain(type_: c_int) -> bool {
    matches!(type_, LUA_TNUMBER | LUA_TSTRING | LUA_TBOOLEAN | LUA_TNIL)
}

/// The value at `idx` (of Lua type `type_`) as an integer key that `push_integer` recreates
/// exactly: Lua 5.3+ integers; before 5.3, integral doubles below 2**53 in magnitude (except
/// -0.0).
fn integer_key(st: safe_lua::State, idx: c_int, type_: c_int) -> Option<i64> {
    if type_ != LUA_TNUMBER {
        return None;
    }
    if safe_lua::flavour::HAS_INTEGERS {
        return st.to_integer_subtype(idx);
    }
    let n = st.to_number(idx);
    // `as` saturates (and maps NaN to 0), so the round trip only holds for exact integers.
    let i = n as i64;
    let exact = i as f64 == n && i.unsigned_abs() < 1 << 53 && !(i == 0 && n.is_sign_negative());
    exact.then_some(i)
}

/// The `tp_iternext` slot of `_LuaIter` (installed by module.rs through PyO3's slot
/// trampoline): one step without PyO3's method-call bookkeeping, since iteration calls it once
/// per entry.  NULL without an exception set ends the iteration.
///
/// # Safety
/// Called by CPython as `tp_iternext` of `_LuaIter`, with the GIL held.
pub(crate) unsafe fn next_slot(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY: CPython passes a live `_LuaIter` (borrowed).
    let slf = unsafe { Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaIter>() };
    Ok(slf
        .get()
        .step(py)?
        .map_or(std::ptr::null_mut(), Py::into_ptr))
}

impl Drop for LuaIter {
    fn drop(&mut self) {
        let key_ref = *self.key_ref.get_mut();
        if key_ref != LUA_NOREF {
            // SAFETY: Python objects are deallocated with the GIL held.
            let py = unsafe { Python::assume_attached() };
            self.table.get().core().release_reference(py, key_ref);
        }
    }
}

#[pymethods]
impl LuaIter {
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
        crate::gc::Traverse::traverse(self, &visit)
    }
}
