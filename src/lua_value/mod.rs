//! Lua values seen from Python: `_LuaObject` and its subclasses `_LuaTable`, `_LuaFunction`,
//! `_LuaCoroutineFunction` and `_LuaThread`, plus the `_LuaIter` iterator over tables.
//!
//! Each wrapper holds a registry reference to its value and a strong reference to its
//! runtime.  A new wrapper is made every time a value crosses into Python (as upstream), so
//! identity is not preserved.

mod function;
mod iter;
mod object;
mod table;
mod thread;

use std::ffi::c_int;

use pyo3::prelude::*;

pub(crate) use function::{LuaCoroutineFunction, LuaFunction};
pub(crate) use iter::{LuaIter, next_slot};
pub(crate) use object::{
    LuaObject, call_slot, getattr_method, getattr_slot, init_attribute_lookup, item_slot,
    length_slot,
};
pub(crate) use table::{LuaTable, setitem_slot};
pub(crate) use thread::LuaThread;

use crate::context::Lua;
use crate::lua::ffi;

/// Wraps the Lua value at `idx` (a table, function, thread, foreign userdata, ...) in the
/// matching wrapper class.
pub(crate) fn wrap<'py>(py: Python<'py>, lua: &Lua<'_>, idx: c_int) -> PyResult<Bound<'py, PyAny>> {
    let st = lua.st;
    match st.type_of(idx) {
        ffi::LUA_TTABLE => object::new_wrapper(py, lua, idx, LuaTable),
        ffi::LUA_TFUNCTION => object::new_wrapper(py, lua, idx, LuaFunction),
        ffi::LUA_TTHREAD => thread::wrap_thread(py, lua, idx),
        _ => object::new_base_wrapper(py, lua, idx),
    }
}
