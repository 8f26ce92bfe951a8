//! Lua values pulled into Python.
//!
//! nil → `None`, boolean → `bool`, number → `int`/`float` (on Lua 5.1, 5.2, LuaJIT and Luau
//! integral numbers become `int`), string → `str` (or `bytes`), tables, functions, coroutines
//! and foreign userdata → wrappers, userdata of Python objects → the objects.  Luau's vectors
//! become tuples of three floats and its buffers `bytes` (copies; `LuaRuntime.vector()` and
//! `LuaRuntime.buffer()` make them from Python).

use std::ffi::c_int;

use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat};
use safe_lua::flavour::HAS_INTEGERS;
use safe_lua::sys::{
    LUA_TBOOLEAN, LUA_TFUNCTION, LUA_TNIL, LUA_TNONE, LUA_TNUMBER, LUA_TSTRING, LUA_TUSERDATA,
};

use super::{userdata, wrapper};
use crate::runtime::{Encoding, Lua};

impl Lua<'_> {
    /// Converts the Lua value at `idx` to Python.
    pub(crate) fn to_python<'py>(
        &self,
        py: Python<'py>,
        idx: c_int,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.to_python_typed(py, idx, self.st.type_of(idx))
    }

    /// `to_python` for a value whose type (`lua_type`) the caller already knows.
    #[inline]
    pub(crate) fn to_python_typed<'py>(
        &self,
        py: Python<'py>,
        idx: c_int,
        type_: c_int,
    ) -> PyResult<Bound<'py, PyAny>> {
        let st = self.st;
        match type_ {
            LUA_TNIL | LUA_TNONE => Ok(py.None().into_bound(py)),
            LUA_TBOOLEAN => Ok(PyBool::new(py, st.to_bool(idx)).to_owned().into_any()),
            LUA_TNUMBER => Ok(self.number_to_python(py, idx)),
            // SAFETY: the bytes are converted before anything can pop the string.
            LUA_TSTRING => self.string_to_python(py, unsafe { st.to_bytes(idx) }),
            LUA_TUSERDATA => match userdata::object_at(py, st, idx) {
                Some(result) => result,
                None => wrapper::wrap(py, self, idx),
            },
            LUA_TFUNCTION => match userdata::as_function_target(py, st, idx) {
                Some(obj) => Ok(obj),
                None => wrapper::wrap(py, self, idx),
            },
            #[cfg(feature = "luau")]
            safe_lua::sys::LUA_TVECTOR => {
                let [x, y, z] = st.to_vector(idx).expect("a vector");
                Ok(pyo3::types::PyTuple::new(py, [x as f64, y as f64, z as f64])?.into_any())
            }
            #[cfg(feature = "luau")]
            // SAFETY: the bytes are copied before anything can change or pop the buffer.
            safe_lua::sys::LUA_TBUFFER => match unsafe { st.to_buffer(idx) } {
                Some(bytes) => Ok(PyBytes::new(py, bytes).into_any()),
                None => wrapper::wrap(py, self, idx),
            },
            _ => wrapper::wrap(py, self, idx),
        }
    }

    fn number_to_python<'py>(&self, py: Python<'py>, idx: c_int) -> Bound<'py, PyAny> {
        if let Some(i) = self.st.to_integer_subtype(idx) {
            return i.into_pyobject(py).unwrap().into_any();
        }
        let n = self.st.to_number(idx);
        // Before Lua 5.3 every number is a double; integral ones come back as int, as upstream.
        // (`as` saturates and maps NaN to 0: the round trip holds exactly for integral
        // values in [-2**63, 2**63).)
        let i = n as i64;
        if !HAS_INTEGERS && i as f64 == n && n < 9.223_372_036_854_776e18 {
            return i.into_pyobject(py).unwrap().into_any();
        }
        PyFloat::new(py, n).into_any()
    }

    /// A Lua string: decoded with the runtime's encoding (strictly), or `bytes`.
    pub(crate) fn string_to_python<'py>(
        &self,
        py: Python<'py>,
        bytes: &[u8],
    ) -> PyResult<Bound<'py, PyAny>> {
        match &self.core.options.encoding {
            Encoding::Bytes => Ok(PyBytes::new(py, bytes).into_any()),
            encoding => crate::text::decode_strict(py, bytes, encoding.codec().expect("not Bytes")),
        }
    }

    /// Converts `n` values starting at `first` into upstream's result shape: `None` for no
    /// value, the value itself for one, a tuple for several.
    pub(crate) fn results_to_python(
        &self,
        py: Python<'_>,
        first: c_int,
        n: c_int,
    ) -> PyResult<Py<PyAny>> {
        match n {
            0 => Ok(py.None()),
            1 => Ok(self.to_python(py, first)?.unbind()),
            _ => {
                // SAFETY: a new tuple of `n` slots, each filled once below before it is used
                // (on error, the tuple is released with its filled and NULL slots, which
                // tuple deallocation handles).
                unsafe {
                    let tuple = Bound::from_owned_ptr_or_err(
                        py,
                        pyffi::PyTuple_New(n as pyffi::Py_ssize_t),
                    )?;
                    for (slot, idx) in (first..first + n).enumerate() {
                        let item = self.to_python(py, idx)?;
                        pyffi::PyTuple_SET_ITEM(
                            tuple.as_ptr(),
                            slot as pyffi::Py_ssize_t,
                            item.into_ptr(),
                        );
                    }
                    Ok(tuple.unbind())
                }
            }
        }
    }
}
