//! Value conversion between Python and Lua, both ways, in one place.
//!
//! Python → Lua: `None` → nil, `bool` → boolean, `float` → number, `int` → integer (through
//! the overflow handler when it does not fit), `bytes` → string, `str` → string in the
//! runtime's encoding (userdata with `encoding=None`), wrappers of Lua values → the values,
//! `as_attrgetter`/`as_itemgetter` → userdata with that protocol, anything else → userdata.
//!
//! Lua → Python: nil → `None`, boolean → `bool`, number → `int`/`float` (on Lua 5.1, 5.2 and
//! LuaJIT integral numbers become `int`), string → `str` (or `bytes`), tables, functions,
//! coroutines and foreign userdata → wrappers, userdata of Python objects → the objects.

use std::ffi::{CStr, c_int};

use pyo3::exceptions::PyOverflowError;
use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString};

use crate::context::Lua;
use crate::flavour::HAS_INTEGERS;
use crate::lua::ffi;
use crate::lua_value::{self, LuaObject};
use crate::options::Encoding;
use crate::pyobject::{self, Flags};
use crate::pyprotocol::PyProtocolWrapper;

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
            return pyobject::push_pyobject(py, self, wrapper.obj.bind(py), wrapper.flags);
        }
        if let Some((function, bound_self)) = crate::pyhelpers::bound_method_parts(obj.as_ptr()) {
            return pyobject::push_bound_method(py, self, obj, function, bound_self);
        }
        let flags = if pyobject::has_getitem(obj)? {
            Flags::AS_INDEX
        } else {
            Flags::NONE
        };
        pyobject::push_pyobject(py, self, obj, flags)
    }

    /// A `str`: encoded with the runtime's encoding, or wrapped with `encoding=None`.
    fn push_pystr(&self, py: Python<'_>, s: &Bound<'_, PyString>) -> PyResult<()> {
        match &self.core.options.encoding {
            Encoding::Utf8 => self.push_bytes(py, s.to_str()?.as_bytes()),
            Encoding::Codec(codec) => {
                let encoded = encode_with(s, codec)?;
                self.push_bytes(py, encoded.as_bytes())
            }
            Encoding::Bytes => pyobject::push_pyobject(py, self, s.as_any(), Flags::AS_INDEX),
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
        crate::overflow::push_overflowing_int(py, self, obj)
    }

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
            ffi::LUA_TNIL | ffi::LUA_TNONE => Ok(py.None().into_bound(py)),
            ffi::LUA_TBOOLEAN => Ok(PyBool::new(py, st.to_bool(idx)).to_owned().into_any()),
            ffi::LUA_TNUMBER => Ok(self.number_to_python(py, idx)),
            ffi::LUA_TSTRING => self.string_to_python(py, st.to_bytes(idx)),
            ffi::LUA_TUSERDATA => match pyobject::object_at(py, st, idx) {
                Some(result) => result,
                None => lua_value::wrap(py, self, idx),
            },
            ffi::LUA_TFUNCTION => match pyobject::as_function_target(py, st, idx) {
                Some(obj) => Ok(obj),
                None => lua_value::wrap(py, self, idx),
            },
            _ => lua_value::wrap(py, self, idx),
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
            encoding => decode_strict(py, bytes, encoding.codec().expect("not Bytes")),
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

/// Strict decoding; the UnicodeDecodeError (or LookupError) propagates, as upstream.
pub(crate) fn decode_strict<'py>(
    py: Python<'py>,
    bytes: &[u8],
    codec: &CStr,
) -> PyResult<Bound<'py, PyAny>> {
    let len = bytes.len() as pyffi::Py_ssize_t;
    // SAFETY: valid buffer and C strings; returns a new reference or NULL with an exception.
    let obj = unsafe {
        if codec == c"utf-8" {
            pyffi::PyUnicode_DecodeUTF8(bytes.as_ptr().cast(), len, c"strict".as_ptr())
        } else {
            pyffi::PyUnicode_Decode(
                bytes.as_ptr().cast(),
                len,
                codec.as_ptr(),
                c"strict".as_ptr(),
            )
        }
    };
    // SAFETY: an owned reference or NULL.
    unsafe { Bound::from_owned_ptr_or_err(py, obj) }
}

/// Decodes with a codec, or None if that fails (for error messages).
pub(crate) fn decode_with(codec: &CStr, bytes: &[u8]) -> Option<String> {
    Python::attach(|py| {
        decode_strict(py, bytes, codec)
            .ok()?
            .extract::<String>()
            .ok()
    })
}

/// Encodes a `str` with a codec (strict).
pub(crate) fn encode_with<'py>(
    s: &Bound<'py, PyString>,
    codec: &CStr,
) -> PyResult<Bound<'py, PyBytes>> {
    // SAFETY: valid object and C strings; returns a new reference or NULL with an exception.
    let obj =
        unsafe { pyffi::PyUnicode_AsEncodedString(s.as_ptr(), codec.as_ptr(), c"strict".as_ptr()) };
    // SAFETY: an owned reference or NULL.
    let obj = unsafe { Bound::from_owned_ptr_or_err(s.py(), obj) }?;
    Ok(obj.cast_into::<PyBytes>()?)
}

/// The error upstream raises for an int that does not fit and has no (working) handler.
pub(crate) fn int_overflow_error() -> PyErr {
    PyOverflowError::new_err("Python int too large to convert to C long")
}
