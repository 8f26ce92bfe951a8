//! Lua tables as Python call arguments: `python.args{...}` and the `unpacks_lua_table`
//! decorators both read a table as `(positional..., name=value...)`.
//!
//! Integer keys `1..#t` are positions, string keys are keyword names.  Unlike upstream (which
//! leaves NULL slots for holes and crashes), a hole inside `1..#t` is passed as `None`.

use std::ffi::c_int;

use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::context::Lua;
use crate::lua::ffi;

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
    let length = st.raw_len(idx);
    let mut args: Vec<Bound<'py, PyAny>> = vec![py.None().into_bound(py); length];
    let kwargs = PyDict::new(py);
    lua.ensure_stack(py, 3)?;
    let _guard = lua.stack_guard();
    st.push_nil();
    // (The conversions below can run Python code that changes the table: `Lua::next` checks.)
    while lua.next(py, idx, false)? {
        match st.type_of(-2) {
            ffi::LUA_TNUMBER => {
                let position = match st.to_integer_x(-2) {
                    Some(n) if n >= 1 && (n as u64) <= length as u64 => n as usize,
                    Some(_) => return Err(PyIndexError::new_err("table index out of range")),
                    None => return Err(key_type_error()),
                };
                args[position - 1] = lua.to_python(py, -1)?;
            }
            ffi::LUA_TSTRING => {
                let codec = lua.core.options.source_encoding.codec().unwrap_or(c"utf-8");
                let name = crate::convert::decode_strict(py, st.to_bytes(-2), codec)?;
                kwargs.set_item(name, lua.to_python(py, -1)?)?;
            }
            _ => return Err(key_type_error()),
        }
        st.pop(1);
    }
    Ok(TableArguments { args, kwargs })
}

fn key_type_error() -> PyErr {
    PyTypeError::new_err("table key is neither an integer nor a string")
}

/// The result of `python.args{...}`: opaque to Lua, spliced into the arguments when passed
/// to a Python callable.
#[pyclass(module = "lupa", name = "_PyArguments", frozen)]
pub(crate) struct PyArguments {
    args: Py<PyTuple>,
    kwargs: Py<PyDict>,
}

impl PyArguments {
    pub(crate) fn new(py: Python<'_>, unpacked: TableArguments<'_>) -> PyResult<Self> {
        Ok(PyArguments {
            args: PyTuple::new(py, unpacked.args)?.unbind(),
            kwargs: unpacked.kwargs.unbind(),
        })
    }

    /// Adds these arguments to a call being assembled.  A keyword given twice raises
    /// TypeError, as Python does for `f(**a, **b)`.
    pub(crate) fn splice_into<'py>(
        &self,
        py: Python<'py>,
        args: &mut crate::pyhelpers::Args<'py>,
        kwargs: &mut Option<Bound<'py, PyDict>>,
    ) -> PyResult<()> {
        args.extend(self.args.bind(py).iter());
        let own = self.kwargs.bind(py);
        if own.is_empty() {
            return Ok(());
        }
        let merged = kwargs.get_or_insert_with(|| PyDict::new(py));
        for (key, value) in own.iter() {
            if merged.contains(&key)? {
                let name = key
                    .cast::<PyString>()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                return Err(PyTypeError::new_err(format!(
                    "function() got multiple values for keyword argument '{name}'"
                )));
            }
            merged.set_item(key, value)?;
        }
        Ok(())
    }
}
