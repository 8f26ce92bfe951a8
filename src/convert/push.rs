//! Python values pushed into Lua.
//!
//! `None` → nil, `bool` → boolean, `float` → number, `int` → integer (through the overflow
//! handler when it does not fit), `bytes` → string, `str` → string in the runtime's encoding
//! (userdata with `encoding=None`), wrappers of Lua values → the values,
//! `as_attrgetter`/`as_itemgetter` → userdata with that protocol, anything else → userdata.

use std::ffi::c_int;

use pyo3::exceptions::PyOverflowError;
use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};

use super::userdata::{self, Flags};
use super::{LuaObject, PyProtocolWrapper};
use crate::runtime::{Encoding, Lua};

/// What a Python `None` becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoneAs {
    /// nil: arguments, values, results.
    Nil,
    /// `python.none`: table keys, and the first value of an iteration step (nil would end
    /// the loop).
    PythonNone,
}

impl Lua<'_> {
    /// Pushes `obj` converted to Lua.  `[-0, +1]`
    #[inline]
    pub(crate) fn push(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        self.push_as(py, obj, NoneAs::Nil)
    }

    /// Pushes `obj` converted to Lua, as a table key (`None` is `python.none`).  `[-0, +1]`
    #[inline]
    pub(crate) fn push_key(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        self.push_as(py, obj, NoneAs::PythonNone)
    }

    /// Pushes an exact `int` that fits a `lua_Integer`, or an exact `float`, and returns
    /// true; returns false (pushing nothing) for anything else.  The shortcut for building
    /// tables from lists of numbers.  `[-0, +(0|1)]`
    #[inline(always)]
    pub(crate) fn push_if_number(&self, obj: &Bound<'_, PyAny>) -> bool {
        let ptr = obj.as_ptr();
        // SAFETY: `ptr` is a live object; the type checks guard the accessors, and
        // PyLong_AsLongLongAndOverflow cannot fail for an exact int (an overflow is reported
        // through the flag, with no exception set).
        unsafe {
            if pyffi::PyLong_CheckExact(ptr) != 0 {
                let mut overflow: c_int = 0;
                let value = pyffi::PyLong_AsLongLongAndOverflow(ptr, &mut overflow);
                if overflow != 0 {
                    return false;
                }
                self.st.push_integer(value);
                true
            } else if pyffi::PyFloat_CheckExact(ptr) != 0 {
                self.st.push_number(pyffi::PyFloat_AS_DOUBLE(ptr));
                true
            } else {
                false
            }
        }
    }

    pub(crate) fn push_as(
        &self,
        py: Python<'_>,
        obj: &Bound<'_, PyAny>,
        none: NoneAs,
    ) -> PyResult<()> {
        let st = self.st;
        if obj.is_none() {
            match none {
                NoneAs::Nil => st.push_nil(),
                NoneAs::PythonNone => {
                    st.push_reference(self.core.refs.get().none);
                }
            }
            return Ok(());
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            st.push_bool(b.is_true());
            return Ok(());
        }
        if obj.is_exact_instance_of::<PyFloat>() {
            // SAFETY: `obj` is an exact float.
            st.push_number(unsafe { pyffi::PyFloat_AS_DOUBLE(obj.as_ptr()) });
            return Ok(());
        }
        if obj.is_instance_of::<PyInt>() {
            return self.push_int(py, obj);
        }
        if let Ok(s) = obj.cast::<PyString>() {
            return self.push_pystr(py, s);
        }
        if let Ok(b) = obj.cast::<PyBytes>() {
            return self.push_bytes(py, b.as_bytes());
        }
        if let Ok(wrapper) = obj.cast::<LuaObject>() {
            return wrapper.get().push_value(py, self);
        }
        if obj.is_instance_of::<PyFloat>() {
            st.push_number(obj.extract::<f64>()?);
            return Ok(());
        }
        if let Ok(wrapper) = obj.cast::<PyProtocolWrapper>() {
            let wrapper = wrapper.get();
            return userdata::push_pyobject(py, self, wrapper.obj.bind(py), wrapper.flags);
        }
        if let Some((function, bound_self)) = crate::pyhelpers::bound_method_parts(obj.as_ptr()) {
            return userdata::push_bound_method(py, self, obj, function, bound_self);
        }
        let flags = if userdata::has_getitem(obj)? {
            Flags::AS_INDEX
        } else {
            Flags::NONE
        };
        userdata::push_pyobject(py, self, obj, flags)
    }

    /// A `str`: encoded with the runtime's encoding, or wrapped with `encoding=None`.
    fn push_pystr(&self, py: Python<'_>, s: &Bound<'_, PyString>) -> PyResult<()> {
        match &self.core.options.encoding {
            Encoding::Utf8 => self.push_bytes(py, s.to_str()?.as_bytes()),
            Encoding::Codec(codec) => {
                let encoded = crate::text::encode_with(s, codec)?;
                self.push_bytes(py, encoded.as_bytes())
            }
            Encoding::Bytes => userdata::push_pyobject(py, self, s.as_any(), Flags::AS_INDEX),
        }
    }

    /// An `int`: a Lua integer when it fits `lua_Integer` (a double before Lua 5.3), else
    /// whatever the overflow handler returns.
    fn push_int(&self, py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let mut overflow: c_int = 0;
        // SAFETY: `obj` is an int; errors are reported through the return value + overflow.
        let value = unsafe { pyffi::PyLong_AsLongLongAndOverflow(obj.as_ptr(), &mut overflow) };
        if overflow == 0 {
            if value == -1
                && let Some(err) = PyErr::take(py)
            {
                return Err(err);
            }
            self.st.push_integer(value);
            return Ok(());
        }
        super::overflow::push_overflowing_int(py, self, obj)
    }
}

/// The error upstream raises for an int that does not fit and has no (working) handler.
pub(crate) fn int_overflow_error() -> PyErr {
    PyOverflowError::new_err("Python int too large to convert to C long")
}
