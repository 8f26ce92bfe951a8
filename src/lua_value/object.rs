//! `_LuaObject`: the protocols every Lua value supports from Python: call, `len`, `bool`,
//! `repr`, `str`, attribute and item reads.

use std::ffi::c_int;

use pyo3::exceptions::{PyAttributeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};
use pyo3::{PyTraverseError, gc::PyVisit};
use safe_lua::Op;
use safe_lua::sys::LUA_TUSERDATA;
use safe_lua::sys::{
    LUA_OK, LUA_TFUNCTION, LUA_TNIL, LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_TTHREAD,
};

use crate::convert::LuaObject;
use crate::gc::Traverse;
use crate::runtime::Lua;

impl LuaObject {
    /// The raw length (`#` without `__len`): table border, userdata size, 0 otherwise.
    pub(crate) fn length(&self, py: Python<'_>) -> PyResult<usize> {
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 1)?;
        self.push_own(&lua);
        let st = lua.st;
        Ok(match st.type_of(-1) {
            LUA_TTABLE | LUA_TUSERDATA | LUA_TSTRING => st.raw_len(-1),
            _ => 0,
        })
    }

    /// Lua's type tag of the wrapped value.
    pub(crate) fn lua_type_tag(&self, py: Python<'_>) -> PyResult<c_int> {
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 1)?;
        self.push_own(&lua);
        Ok(lua.st.type_of(-1))
    }

    /// Calls the value with `args`; results shaped as upstream (None, value or tuple).
    pub(crate) fn call(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, args.len() + 2)?;
        lua.push_traceback_handler(py);
        let func = lua.st.top() + 1;
        self.push_own(&lua);
        for arg in args.iter() {
            lua.push(py, &arg)?;
        }
        let n = lua.pcall(py, func)?;
        lua.results_to_python(py, func, n)
    }

    /// `self[key]`: Lua indexing with metamethods, protected.  For a plain table (no
    /// metatable) this is a raw read; otherwise the read runs protected with the GIL released
    /// (an `__index` function may run for long), and errors carry the Lua traceback.
    ///
    /// Functions and coroutines cannot be indexed from Python (as upstream): that raises
    /// TypeError, or AttributeError for attribute access (`as_attribute`).
    pub(crate) fn get_item(
        &self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        as_attribute: bool,
    ) -> PyResult<Py<PyAny>> {
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 4)?;
        self.push_own(&lua);
        let st = lua.st;
        let obj_idx = st.top();
        if matches!(st.type_of(obj_idx), LUA_TFUNCTION | LUA_TTHREAD) {
            const MESSAGE: &str = "item/attribute access not supported on functions";
            return Err(if as_attribute {
                PyAttributeError::new_err(MESSAGE)
            } else {
                PyTypeError::new_err(MESSAGE)
            });
        }
        if st.type_of(obj_idx) == LUA_TTABLE && !st.get_metatable(obj_idx) {
            lua.push_key(py, key)?;
            st.raw_get(obj_idx);
            return Ok(lua.to_python(py, -1)?.unbind());
        }
        // [obj, (metatable), ..., handler, obj, key]
        let handler = lua.push_traceback_handler(py);
        st.push_value(obj_idx);
        lua.push_key(py, key)?;
        let status = lua.without_gil(py, move || {
            st.protected(Op::GET_TABLE, std::ptr::null_mut(), 2, 1, handler)
        });
        if status != LUA_OK {
            return Err(lua.pop_error(py, status));
        }
        Ok(lua.to_python(py, -1)?.unbind())
    }

    /// The Lua key for an attribute name: the name as a Lua string in the runtime's source
    /// encoding (passed as `bytes` where that differs from how `str` values convert).
    pub(crate) fn attribute_key<'py>(
        &self,
        name: &Bound<'py, PyString>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = &self.core().options;
        Ok(match options.source_encoding.codec() {
            Some(codec) if options.encoding != options.source_encoding => {
                crate::text::encode_with(name, codec)?.into_any()
            }
            _ => name.clone().into_any(),
        })
    }
}

/// `"<Lua table at 0x...>"` for the value at `idx`.
pub(crate) fn lua_repr(lua: &Lua<'_>, idx: c_int) -> String {
    let st = lua.st;
    let tag = st.type_of(idx);
    let type_name = st.type_name(tag);
    let pointer = st.to_pointer(idx);
    // LuaJIT cdata show without an address, as upstream.
    if pointer.is_null() || tag > LUA_TTHREAD {
        format!("<Lua {type_name}>")
    } else {
        format!("<Lua {type_name} at {pointer:p}>")
    }
}

pub(super) fn is_dunder_name(name: &str) -> bool {
    is_dunder_bytes(name.as_bytes())
}

pub(super) fn is_dunder_bytes(name: &[u8]) -> bool {
    name.len() > 4 && name.starts_with(b"__") && name.ends_with(b"__")
}

/// What upstream raises for dunder names it refuses (from `object.__getattr__`, which does
/// not exist).
pub(crate) fn dunder_error() -> PyErr {
    PyAttributeError::new_err("type object 'object' has no attribute '__getattr__'")
}

/// The error for keyword arguments in a call of a Lua value (Lua has no keyword arguments).
#[inline]
pub(crate) fn check_no_kwargs(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<()> {
    match kwargs
        .filter(|k| !k.is_empty())
        .and_then(|k| k.iter().next())
    {
        Some((key, _)) => Err(PyTypeError::new_err(format!(
            "__call__() got an unexpected keyword argument {}",
            key.repr()?
        ))),
        None => Ok(()),
    }
}

/// The `tp_call` slot of the wrapper classes (installed by module.rs through PyO3's slot
/// trampoline, which keeps PyO3's reference bookkeeping and turns panics into exceptions).
///
/// Calling Lua values is the hottest path from Python, so it bypasses PyO3's generic argument
/// parsing: the argument tuple goes straight to `LuaObject::call`.  Same behaviour as the
/// `__call__` method.
///
/// # Safety
/// Called by CPython as `tp_call` of a `_LuaObject` subclass, with the GIL held.
pub(crate) unsafe fn call_slot(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
    args: *mut pyo3::ffi::PyObject,
    kwargs: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY: CPython passes a live instance of the class, an argument tuple and a dict or
    // NULL (borrowed references).
    let (slf, args, kwargs) = unsafe {
        (
            Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaObject>(),
            Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>(),
            Bound::from_borrowed_ptr_or_opt(py, kwargs).map(|k| k.cast_into_unchecked::<PyDict>()),
        )
    };
    check_no_kwargs(kwargs.as_ref())?;
    Ok(slf.get().call(py, &args)?.into_ptr())
}

/// The `sq_length` slot of the wrapper classes: `len()` for C code that uses the sequence
/// protocol (`PySequence_Size`), as upstream's wrappers have it.
///
/// # Safety
/// Called by CPython with a live instance of a wrapper class and the GIL held.
pub(crate) unsafe fn length_slot(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
) -> PyResult<pyo3::ffi::Py_ssize_t> {
    // SAFETY: CPython passes a live instance of the class (borrowed).
    let slf = unsafe { Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaObject>() };
    Ok(slf.get().length(py)? as pyo3::ffi::Py_ssize_t)
}

/// The `sq_item` slot of the wrapper classes: `obj[i]` for the sequence protocol (`reversed()`,
/// `PySequence_GetItem`), with the integer as the Lua key, as upstream's wrappers do.
///
/// # Safety
/// Called by CPython with a live instance of a wrapper class and the GIL held.
pub(crate) unsafe fn item_slot(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
    index: pyo3::ffi::Py_ssize_t,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY: CPython passes a live instance of the class (borrowed).
    let slf = unsafe { Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaObject>() };
    let key = index.into_pyobject(py)?;
    Ok(slf.get().get_item(py, key.as_any(), false)?.into_ptr())
}

/// Names of the methods of the wrapper classes (`keys`, `coroutine`, `send`, ...), which
/// shadow table keys of the same name (as upstream); set by `init_attribute_lookup`.
static METHOD_NAMES: pyo3::sync::PyOnceLock<Py<pyo3::types::PyFrozenSet>> =
    pyo3::sync::PyOnceLock::new();

/// Records the method names of the wrapper classes (see `getattr_slot`).
pub(crate) fn init_attribute_lookup(
    py: Python<'_>,
    classes: &[Bound<'_, pyo3::types::PyType>],
) -> PyResult<()> {
    let mut names = Vec::new();
    for class in classes {
        for name in class.dir()? {
            let name = name.cast_into::<PyString>()?;
            if !is_dunder_name(name.to_str()?) {
                names.push(name);
            }
        }
    }
    let _ = METHOD_NAMES.set(py, pyo3::types::PyFrozenSet::new(py, names)?.unbind());
    Ok(())
}

/// The `tp_getattro` slot of the wrapper classes (installed by module.rs through PyO3's slot
/// trampoline).
///
/// `wrapper.name` reads the Lua key `name`, unless `name` is a method of the class (methods
/// shadow keys) or a dunder name.  PyO3's `__getattr__` would first try the generic lookup
/// and build and discard an AttributeError for every key, which costs more than the Lua read.
///
/// # Safety
/// Called by CPython as `tp_getattro` of a `_LuaObject` subclass, with the GIL held.
pub(crate) unsafe fn getattr_slot(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
    name: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY: CPython passes a live instance of the class and a name (borrowed).
    let (slf, name) = unsafe {
        (
            Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaObject>(),
            Bound::from_borrowed_ptr(py, name),
        )
    };
    let Ok(name) = name.cast::<PyString>() else {
        return generic_getattr(&slf, &name).map(Bound::into_ptr);
    };
    let text = name.to_str()?;
    if is_dunder_name(text) {
        return generic_getattr(&slf, name)
            .map(Bound::into_ptr)
            .map_err(|err| {
                if err.is_instance_of::<PyAttributeError>(py) {
                    dunder_error()
                } else {
                    err
                }
            });
    }
    let is_method = METHOD_NAMES
        .get(py)
        .is_some_and(|names| names.bind(py).contains(name).unwrap_or(false));
    if is_method {
        match generic_getattr(&slf, name) {
            Err(err) if err.is_instance_of::<PyAttributeError>(py) => {}
            found => return found.map(Bound::into_ptr),
        }
    }
    let obj = slf.get();
    Ok(obj
        .get_item(py, &obj.attribute_key(name)?, true)?
        .into_ptr())
}

/// `_LuaObject.__getattr__(self, name)`, a method in the class dictionary as upstream has it
/// (module.rs installs it; attribute access itself goes through `getattr_slot`).  Takes any
/// key: a `str` is encoded with the source encoding, other keys are used as they are.
///
/// # Safety
/// Called by CPython (METH_O) with a live instance of a wrapper class and the GIL held.
pub(crate) unsafe fn getattr_method(
    py: Python<'_>,
    slf: *mut pyo3::ffi::PyObject,
    name: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    // SAFETY: CPython passes a live object and the argument (borrowed); method descriptors
    // check that `slf` is an instance of the class.
    let (slf, name) = unsafe {
        (
            Bound::from_borrowed_ptr(py, slf).cast_into_unchecked::<LuaObject>(),
            Bound::from_borrowed_ptr(py, name),
        )
    };
    let obj = slf.get();
    let key = if let Ok(text) = name.cast::<PyString>() {
        if is_dunder_name(text.to_str()?) {
            return Err(dunder_error());
        }
        obj.attribute_key(text)?
    } else {
        if let Ok(bytes) = name.cast::<pyo3::types::PyBytes>()
            && is_dunder_bytes(bytes.as_bytes())
        {
            return Err(dunder_error());
        }
        name
    };
    Ok(obj.get_item(py, &key, true)?.into_ptr())
}

fn generic_getattr<'py>(
    slf: &Bound<'py, LuaObject>,
    name: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: valid objects; returns a new reference or NULL with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(
            slf.py(),
            pyo3::ffi::PyObject_GenericGetAttr(slf.as_ptr(), name.as_ptr()),
        )
    }
}

#[pymethods]
impl LuaObject {
    /// Wrappers hold a reference into one live Lua state: they cannot be copied or pickled
    /// (upstream's message, from Cython).
    fn __reduce__(&self) -> PyResult<()> {
        Err(crate::exceptions::not_reducible())
    }

    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        check_no_kwargs(kwargs)?;
        self.call(py, args)
    }

    /// The raw length (`#` without `__len`): table border, userdata size, 0 otherwise.
    fn __len__(&self, py: Python<'_>) -> PyResult<usize> {
        self.length(py)
    }

    fn __bool__(&self) -> bool {
        true
    }

    fn __iter__(&self) -> PyResult<Py<PyAny>> {
        Err(PyTypeError::new_err(
            "iteration is only supported for tables",
        ))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        if self.core().is_closed() {
            return Ok("<Lua object of a closed runtime>".to_owned());
        }
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 1)?;
        self.push_own(&lua);
        Ok(lua_repr(&lua, -1))
    }

    /// `str()`: the value's `__tostring` metamethod if it has one, else the repr.
    fn __str__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let lua = self.enter(py)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 3)?;
        self.push_own(&lua);
        let st = lua.st;
        let obj_idx = st.top();
        if st.get_metatable(obj_idx) {
            lua.push_bytes(py, b"__tostring")?;
            st.raw_get(-2);
            if st.type_of(-1) != LUA_TNIL {
                st.push_value(-3);
                let status = lua.without_gil(py, move || st.pcall(1, 1, 0));
                if status != LUA_OK {
                    return Err(lua.pop_error(py, status));
                }
                return match st.type_of(-1) {
                    LUA_TSTRING | LUA_TNUMBER => {
                        let bytes = st.to_text(-1).unwrap_or_default();
                        Ok(PyString::new(py, &lua.decode_text(py, &bytes))
                            .into_any()
                            .unbind())
                    }
                    _ => Err(PyTypeError::new_err(
                        "__tostring returned non-string object",
                    )),
                };
            }
        }
        Ok(PyString::new(py, &lua_repr(&lua, obj_idx))
            .into_any()
            .unbind())
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.get_item(py, key, false)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.traverse(&visit)
    }
}
