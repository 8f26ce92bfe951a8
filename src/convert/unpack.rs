//! Lua tables as Python call arguments: `python.args{...}` and the `unpacks_lua_table`
//! decorators both read a table as `(positional..., name=value...)`.
//!
//! Integer keys `1..#t` are positions, string keys are keyword names.  Unlike upstream (which
//! leaves NULL slots for holes and crashes), a hole inside `1..#t` is passed as `None`.
//!
//! `#t` is a border that Lua code chooses: a table with 41 keys `2^0 .. 2^40` has a border
//! near `2^40`.  The argument vector is therefore sized from the entries actually present,
//! and a table with more holes than values (beyond a few) is refused with ValueError.

use std::ffi::c_int;

use pyo3::exceptions::{PyIndexError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use safe_lua::sys::{LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE};

use crate::runtime::Lua;

/// The positional and keyword arguments read from a Lua table.
pub(crate) struct TableArguments<'py> {
    pub(crate) args: Vec<Bound<'py, PyAny>>,
    pub(crate) kwargs: Bound<'py, PyDict>,
}

/// Reads the table at `idx` as call arguments.
pub(crate) fn unpack_table<'py>(
    py: Python<'py>,
    lua: &Lua<'_>,
    idx: c_int,
) -> PyResult<TableArguments<'py>> {
    let st = lua.st;
    let idx = st.abs_index(idx);
    // (A wrapper's registry entry may have been replaced by Lua code.)
    if st.type_of(idx) != LUA_TTABLE {
        return Err(PyTypeError::new_err(
            "arguments must be given as a Lua table",
        ));
    }
    let length = st.raw_len(idx);
    // (position, value) of each integer key; grows with the entries the table really has.
    let mut positional: Vec<(usize, Bound<'py, PyAny>)> = Vec::new();
    let kwargs = PyDict::new(py);
    lua.ensure_stack(py, 3)?;
    let _guard = lua.stack_guard();
    st.push_nil();
    // (The conversions below can run Python code that changes the table: `Lua::next` checks.)
    while lua.next(py, idx, false)? {
        match st.type_of(-2) {
            LUA_TNUMBER => {
                let position = match st.to_integer_x(-2) {
                    Some(n) if n >= 1 && (n as u64) <= length as u64 => n as usize,
                    Some(_) => return Err(PyIndexError::new_err("table index out of range")),
                    None => return Err(key_type_error()),
                };
                positional.push((position, lua.to_python(py, -1)?));
            }
            LUA_TSTRING => {
                let codec = lua.core.options.source_encoding.codec().unwrap_or(c"utf-8");
                // SAFETY: decoded before anything pops the key.
                let key = unsafe { st.to_bytes(-2) };
                let name = crate::text::decode_strict(py, key, codec)?;
                kwargs.set_item(name, lua.to_python(py, -1)?)?;
            }
            _ => return Err(key_type_error()),
        }
        st.pop(1);
    }
    if length > MAX_LENGTH_PER_VALUE * positional.len() + MAX_EXTRA_LENGTH {
        return Err(PyValueError::new_err(format!(
            "table has too many holes to be used as arguments ({} values at positions 1..{})",
            positional.len(),
            length
        )));
    }
    let mut args: Vec<Bound<'py, PyAny>> = vec![py.None().into_bound(py); length];
    for (position, value) in positional {
        args[position - 1] = value;
    }
    Ok(TableArguments { args, kwargs })
}

/// How sparse a table may be: `#t` may be up to twice the number of positional values
/// (half of the positions holes), plus a few.
const MAX_LENGTH_PER_VALUE: usize = 2;
const MAX_EXTRA_LENGTH: usize = 16;

fn key_type_error() -> PyErr {
    PyTypeError::new_err("table key is neither an integer nor a string")
}
