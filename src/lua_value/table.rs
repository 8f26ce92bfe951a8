//! `_LuaTable`: Lua tables as Python mappings.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use safe_lua::Op;
use safe_lua::sys::{LUA_OK, LUA_TTABLE};

use super::iter::{IterKind, LuaIter};
use super::object::{is_dunder_bytes, is_dunder_name};
use crate::convert::{LuaObject, LuaTable};

impl LuaObject {
    /// `self[key] = value` with Lua semantics: metamethods apply, `None` as a key is
    /// `python.none`, `None` as a value deletes.  Errors (a nil or NaN key, a failing
    /// `__newindex`) raise LuaError instead of aborting the process as upstream does.
    pub(crate) fn set_item(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 6)?;
        self.push_own(&lua);
        let st = lua.st;
        let obj_idx = st.top();
        let plain = st.type_of(obj_idx) == LUA_TTABLE && !st.get_metatable(obj_idx);
        st.set_top(obj_idx);
        // `del t[k]` and `t[k] = None` both delete.
        let deleting = value.is_none_or(|v| v.is_none());
        if plain {
            // [table, key, value]
            if deleting && is_plain_key(key) {
                // Deleting frees memory, even if pushing the key needs a little (see
                // `with_limit_lifted`); plain keys run no Python code while they are pushed.
                safe_lua::memory::with_limit_lifted(st, || lua.push_key(py, key))?;
                if st.is_valid_key(-1) {
                    // No allocation, no protected call (which needs memory on Lua 5.2/5.3):
                    // a runtime at its memory limit can always drop data.
                    st.raw_clear_present_key(obj_idx);
                    return Ok(());
                }
            } else {
                lua.push_key(py, key)?;
            }
            match value {
                Some(value) => lua.push(py, value)?,
                None => st.push_nil(),
            }
            return lua.raw_set(py, obj_idx);
        }
        // Metamethods may run: with the message handler below the operands, as
        // [table, ..., handler, table, key, value].
        let handler = lua.push_traceback_handler(py);
        st.push_value(obj_idx);
        lua.push_key(py, key)?;
        match value {
            Some(value) => lua.push(py, value)?,
            None => st.push_nil(),
        }
        let status = lua.without_gil(py, move || {
            st.protected(Op::SET_TABLE, std::ptr::null_mut(), 3, 0, handler)
        });
        if status != LUA_OK {
            return Err(lua.pop_error(py, status));
        }
        Ok(())
    }

    /// A `_LuaIter` over this table.
    fn iterate(slf: &Bound<'_, LuaObject>, kind: IterKind) -> PyResult<Py<LuaIter>> {
        Py::new(slf.py(), LuaIter::new(slf.clone().unbind(), kind))
    }
}

/// Whether a Python key converts to a Lua string or number (no Python code runs meanwhile).
fn is_plain_key(key: &Bound<'_, PyAny>) -> bool {
    use pyo3::types::{PyFloat, PyInt};
    key.is_instance_of::<PyString>()
        || key.is_instance_of::<PyBytes>()
        || key.is_exact_instance_of::<PyInt>()
        || key.is_exact_instance_of::<PyFloat>()
}

/// What `object.__setattr__`/`__delattr__` raise when applied to this class (as upstream).
fn setattr_error(slf: &Bound<'_, LuaTable>, method: &str) -> PyErr {
    let type_name = slf
        .get_type()
        .fully_qualified_name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    PyTypeError::new_err(format!("can't apply this {method} to {type_name} object"))
}

/// The Lua key for an attribute name given to `__setattr__`/`__delattr__`: a `str` in the
/// source encoding, any other key as it is; dunder names (`str` or `bytes`) are refused as
/// `object.__setattr__` refuses them for this class.
fn attribute_key<'py>(
    slf: &Bound<'py, LuaTable>,
    name: &Bound<'py, PyAny>,
    method: &str,
) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(text) = name.cast::<PyString>() {
        if is_dunder_name(text.to_str()?) {
            return Err(setattr_error(slf, method));
        }
        return slf.as_super().get().attribute_key(text);
    }
    if let Ok(bytes) = name.cast::<PyBytes>()
        && is_dunder_bytes(bytes.as_bytes())
    {
        return Err(setattr_error(slf, method));
    }
    Ok(name.clone())
}

/// The `mp_ass_subscript` slot of `_LuaTable` (installed by module.rs through PyO3's slot
/// trampoline): `t[k] = v` and `del t[k]` without PyO3's argument handling.  Same behaviour as
/// `__setitem__` and `__delitem__`.
///
/// # Safety
/// Called by CPython as `mp_ass_subscript` of `_LuaTable`, with the GIL held.
pub(crate) unsafe fn setitem_slot(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
    key: *mut pyo3::ffi::PyObject,
    value: *mut pyo3::ffi::PyObject,
) -> PyResult<std::ffi::c_int> {
    // SAFETY: CPython passes a live `_LuaTable`, a key and a value or NULL (borrowed).
    let (slf, key, value) = unsafe {
        (
            Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaObject>(),
            Bound::from_borrowed_ptr(py, key),
            Bound::from_borrowed_ptr_or_opt(py, value),
        )
    };
    slf.get().set_item(py, &key, value.as_ref())?;
    Ok(0)
}

#[pymethods]
impl LuaTable {
    /// An iterator over the table's keys (in Lua's `next` order).
    fn keys(slf: &Bound<'_, Self>) -> PyResult<Py<LuaIter>> {
        LuaObject::iterate(slf.as_super(), IterKind::Keys)
    }

    /// An iterator over the table's values.
    fn values(slf: &Bound<'_, Self>) -> PyResult<Py<LuaIter>> {
        LuaObject::iterate(slf.as_super(), IterKind::Values)
    }

    /// An iterator over `(key, value)` pairs.
    fn items(slf: &Bound<'_, Self>) -> PyResult<Py<LuaIter>> {
        LuaObject::iterate(slf.as_super(), IterKind::Items)
    }

    fn __iter__(slf: &Bound<'_, Self>) -> PyResult<Py<LuaIter>> {
        LuaObject::iterate(slf.as_super(), IterKind::Keys)
    }

    fn __setitem__(
        slf: &Bound<'_, Self>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        slf.as_super().get().set_item(slf.py(), key, Some(value))
    }

    fn __delitem__(slf: &Bound<'_, Self>, key: &Bound<'_, PyAny>) -> PyResult<()> {
        slf.as_super().get().set_item(slf.py(), key, None)
    }

    /// `t.name = value`.  Called explicitly (`t.__setattr__(key, value)`), it also takes
    /// `bytes` and other keys, as upstream's does.
    fn __setattr__(
        slf: &Bound<'_, Self>,
        name: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = attribute_key(slf, name, "__setattr__")?;
        slf.as_super().get().set_item(slf.py(), &key, Some(value))
    }

    /// `del t.name` (and, called explicitly, any key; see `__setattr__`).
    fn __delattr__(slf: &Bound<'_, Self>, name: &Bound<'_, PyAny>) -> PyResult<()> {
        let key = attribute_key(slf, name, "__delattr__")?;
        slf.as_super().get().set_item(slf.py(), &key, None)
    }
}
