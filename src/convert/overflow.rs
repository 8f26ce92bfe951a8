//! Python ints that do not fit Lua's integer type go through the runtime's overflow handler
//! (`overflow_handler=`, `set_overflow_handler()`, `python.set_overflow_handler()`), which
//! lives in the registry as a Lua value: nil, a Lua function, or a Python object.

use pyo3::prelude::*;

use safe_lua::sys::{LUA_OK, LUA_TFUNCTION, LUA_TUSERDATA};

use super::push::int_overflow_error;
use super::userdata::{self, Flags};
use crate::runtime::Lua;

/// Pushes the handler's conversion of `value`, or fails with upstream's OverflowError when
/// there is no handler or it fails (raises, returns another too-large int, is not callable).
/// `[-0, +1]`
pub(crate) fn push_overflowing_int(
    py: Python<'_>,
    lua: &Lua<'_>,
    value: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let st = lua.st;
    lua.ensure_stack(py, 3)?;
    st.push_reference(lua.core.refs.get().overflow_handler);
    match st.type_of(-1) {
        LUA_TFUNCTION => {
            userdata::push_pyobject(py, lua, value, Flags::NONE)?;
            let status = lua.without_gil(py, move || st.pcall(1, 1, 0));
            if status != LUA_OK {
                st.pop(1);
                return Err(int_overflow_error());
            }
            Ok(())
        }
        LUA_TUSERDATA => {
            let handler = userdata::live_object_at(py, st, -1);
            st.pop(1);
            let result = handler.ok_or_else(int_overflow_error)?.call1((value,));
            match result {
                // A result that is still a too-large int must not call the handler again.
                Ok(result) if result.is_instance_of::<pyo3::types::PyInt>() => {
                    match result.extract::<i64>() {
                        Ok(i) => {
                            st.push_integer(i);
                            Ok(())
                        }
                        Err(_) => Err(int_overflow_error()),
                    }
                }
                Ok(result) => lua.push(py, &result),
                Err(_) => Err(int_overflow_error()),
            }
        }
        _ => {
            st.pop(1);
            Err(int_overflow_error())
        }
    }
}

/// Stores a handler (None removes it).
pub(crate) fn set_handler(
    py: Python<'_>,
    lua: &Lua<'_>,
    handler: Option<&Bound<'_, PyAny>>,
) -> PyResult<()> {
    match handler {
        Some(handler) => userdata::push_pyobject(py, lua, handler, Flags::NONE)?,
        None => lua.st.push_nil(),
    }
    lua.set_registry_slot(py, lua.core.refs.get().overflow_handler)
}
