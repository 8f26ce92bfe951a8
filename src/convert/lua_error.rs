//! Lua error objects as Python exceptions: the runtime's `ErrorConverter`.
//!
//! A Python exception that travelled through Lua (raised by a callback, maybe caught and
//! re-raised by Lua code) is raised again as the same object with its traceback.  Anything
//! else becomes LuaError/LuaMemoryError with Lua's message (empty for non-string error
//! objects, as upstream) and the error object as the exception's `value`; the frames of Lua's
//! traceback join the exception's Python traceback (`lua_frames.rs`).

use std::ffi::c_int;

use pyo3::prelude::*;
use safe_lua::Marker;
use safe_lua::sys::{LUA_ERRMEM, LUA_TNUMBER, LUA_TSTRING};

use super::userdata;
use crate::exceptions::{self, ErrorKind};
use crate::runtime::Lua;

/// The `ErrorConverter` of every runtime: the exception for the Lua error object at `idx`,
/// reported with `status`; `kind` is the class for errors that are not memory errors.
pub(crate) fn error_from(
    lua: &Lua<'_>,
    py: Python<'_>,
    idx: c_int,
    status: c_int,
    kind: ErrorKind,
) -> PyErr {
    let st = lua.st;
    match st.marker_at(idx) {
        Some(Marker::OutOfMemory) => {
            return exceptions::new_error(py, ErrorKind::Memory, "not enough memory");
        }
        Some(Marker::RegistryTampered) => {
            return exceptions::lua_error(
                py,
                "an entry of the Lua registry that lupa needs was removed (debug.getregistry())",
            );
        }
        None => {}
    }
    if let Some(obj) = userdata::live_object_at(py, st, idx)
        && obj.is_instance_of::<pyo3::exceptions::PyBaseException>()
    {
        return PyErr::from_value(obj);
    }
    let message = match st.type_of(idx) {
        LUA_TSTRING | LUA_TNUMBER => {
            let bytes = st.to_text(idx).unwrap_or_default();
            lua.decode_message(py, &bytes)
        }
        _ => String::new(),
    };
    let kind = if status == LUA_ERRMEM || exceptions::is_memory_message(&message) {
        ErrorKind::Memory
    } else {
        kind
    };
    if status == LUA_ERRMEM {
        // Upstream raises LuaMemoryError() without arguments for Lua's memory status.
        return exceptions::memory_error_without_message(py);
    }
    let lua_order = message;
    let message = exceptions::reorder_traceback(&lua_order);
    let value = match st.type_of(idx) {
        LUA_TSTRING => None,
        _ => lua.to_python(py, idx).ok().map(Bound::unbind),
    };
    let err = exceptions::error_with_value(
        py,
        kind,
        message
            .as_str()
            .into_pyobject(py)
            .unwrap()
            .into_any()
            .unbind(),
        value,
    );
    super::lua_frames::with_lua_frames(py, err, &lua_order)
}
