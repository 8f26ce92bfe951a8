//! `LuaRuntime` methods that only the `lupa.luau` module has: making Luau's value types
//! from Python.  Vectors and buffers coming from Lua are converted (to a tuple of floats, to
//! `bytes`); these methods go the other way and return the Lua value wrapped, like
//! `LuaRuntime.table()` does, so that it reaches Lua unchanged when it is passed back.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use safe_lua::sys::LUA_OK;
use safe_lua::{ByteSlice, Op};

use crate::convert::wrap;
use crate::runtime::Lua;

/// `LuaRuntime.vector(x, y, z)`: a Luau vector (three 32-bit floats).
pub(super) fn vector(py: Python<'_>, lua: &Lua<'_>, xyz: [f64; 3]) -> PyResult<Py<PyAny>> {
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 1)?;
    lua.st.push_vector(xyz.map(|c| c as f32));
    Ok(wrap(py, lua, -1)?.unbind())
}

/// `LuaRuntime.buffer(data)`: a new Luau buffer with a copy of `data` (`bytes`,
/// `bytearray` or any object with the buffer protocol), or of `data` zero bytes for an int.
pub(super) fn buffer(
    py: Python<'_>,
    lua: &Lua<'_>,
    data: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let bytes: Vec<u8> = if let Ok(b) = data.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(b) = data.cast::<PyByteArray>() {
        b.to_vec()
    } else if data.is_instance_of::<pyo3::types::PyInt>() {
        let size: usize = data.extract()?;
        vec![0; size]
    } else if let Ok(view) = py.import("builtins")?.getattr("memoryview")?.call1((data,)) {
        view.call_method0("tobytes")?
            .cast_into::<PyBytes>()?
            .as_bytes()
            .to_vec()
    } else {
        return Err(PyTypeError::new_err(format!(
            "expected bytes, a buffer or an int, got {}",
            data.get_type().name()?
        )));
    };
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 1)?;
    if let Some(create) = lua.core.can_create() {
        lua.st.push_buffer(create, &bytes);
    } else {
        let mut slice = ByteSlice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        };
        let status = lua
            .st
            .protected(Op::PUSH_BUFFER, (&raw mut slice).cast(), 0, 1, 0);
        if status != LUA_OK {
            return Err(lua.pop_error(py, status));
        }
    }
    Ok(wrap(py, lua, -1)?.unbind())
}
