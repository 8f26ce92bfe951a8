//! Small CPython C-API helpers that PyO3 does not offer at the speed we need.

use std::ffi::c_int;

use pyo3::ffi as pyffi;

#[cfg(not(Py_3_13))]
unsafe extern "C" {
    /// CPython 3.7–3.12: like `getattr(obj, name)`, but a missing attribute returns 0
    /// without creating an AttributeError (much cheaper than catching one).
    fn _PyObject_LookupAttr(
        obj: *mut pyffi::PyObject,
        name: *mut pyffi::PyObject,
        result: *mut *mut pyffi::PyObject,
    ) -> c_int;
}

/// `hasattr(obj, name)` without the cost of an AttributeError: 1 found, 0 missing, -1 error
/// (with the Python error set).
///
/// # Safety
/// The GIL is held; `obj` and `name` (a str) are valid objects.
pub(crate) unsafe fn has_attribute(obj: *mut pyffi::PyObject, name: *mut pyffi::PyObject) -> c_int {
    let mut result: *mut pyffi::PyObject = std::ptr::null_mut();
    #[cfg(Py_3_13)]
    // SAFETY: guaranteed by the caller.
    let found = unsafe { pyffi::PyObject_GetOptionalAttr(obj, name, &mut result) };
    #[cfg(not(Py_3_13))]
    // SAFETY: guaranteed by the caller.
    let found = unsafe { _PyObject_LookupAttr(obj, name, &mut result) };
    // SAFETY: `result` is NULL or a new reference.
    unsafe { pyffi::Py_XDECREF(result) };
    found
}

/// Arguments of a Python call made from Lua (on the stack for up to 8).
pub(crate) type Args<'py> = smallvec::SmallVec<[pyo3::Bound<'py, pyo3::PyAny>; 8]>;

/// Calls `callable(*args)` through the vectorcall protocol (no argument tuple is built).
pub(crate) fn vectorcall<'py>(
    py: pyo3::Python<'py>,
    callable: &pyo3::Bound<'py, pyo3::PyAny>,
    args: &[pyo3::Bound<'py, pyo3::PyAny>],
) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
    let ptrs: smallvec::SmallVec<[*mut pyffi::PyObject; 8]> =
        args.iter().map(|a| a.as_ptr()).collect();
    // SAFETY: the GIL is held; `ptrs` holds borrowed references kept alive by `args` for the
    // duration of the call; the result is a new reference or NULL with an exception set.
    unsafe {
        let result = pyffi::PyObject_Vectorcall(
            callable.as_ptr(),
            ptrs.as_ptr(),
            ptrs.len(),
            std::ptr::null_mut(),
        );
        pyo3::Bound::from_owned_ptr_or_err(py, result)
    }
}

unsafe extern "C" {
    /// The type of bound Python methods (`types.MethodType`).
    static mut PyMethod_Type: pyffi::PyTypeObject;
    fn PyMethod_Function(method: *mut pyffi::PyObject) -> *mut pyffi::PyObject;
    fn PyMethod_Self(method: *mut pyffi::PyObject) -> *mut pyffi::PyObject;
}

/// For a bound Python method (exactly `types.MethodType`), its function and `__self__`
/// (borrowed references).
#[inline]
pub(crate) fn bound_method_parts(
    obj: *mut pyffi::PyObject,
) -> Option<(*mut pyffi::PyObject, *mut pyffi::PyObject)> {
    // SAFETY: `obj` is a live object (callers hold a reference); reading its type and, for
    // a method, calling the accessors is safe with the GIL held (callers hold it).
    unsafe {
        if pyffi::Py_TYPE(obj) != &raw mut PyMethod_Type {
            return None;
        }
        Some((PyMethod_Function(obj), PyMethod_Self(obj)))
    }
}

/// `obj[key]` with the error upstream's (Cython's) item access gives for objects that are not
/// subscriptable: `'type' object is not subscriptable` for classes without
/// `__class_getitem__`, where CPython itself would say "type 'str' is not subscriptable".
pub(crate) fn subscript<'py>(
    obj: &pyo3::Bound<'py, pyo3::PyAny>,
    key: &pyo3::Bound<'py, pyo3::PyAny>,
) -> pyo3::PyResult<pyo3::Bound<'py, pyo3::PyAny>> {
    use pyo3::prelude::*;
    // SAFETY: reading the type slots of a live object's type.
    let subscriptable = unsafe {
        let tp = pyffi::Py_TYPE(obj.as_ptr());
        let mapping = (*tp).tp_as_mapping;
        let sequence = (*tp).tp_as_sequence;
        (!mapping.is_null() && (*mapping).mp_subscript.is_some())
            || (!sequence.is_null() && (*sequence).sq_item.is_some())
    };
    if subscriptable {
        return obj.get_item(key);
    }
    if obj.is_instance_of::<pyo3::types::PyType>()
        && let Some(class_getitem) = obj.getattr_opt("__class_getitem__")?
    {
        return class_getitem.call1((key,));
    }
    let type_name = obj.get_type().name()?;
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "'{type_name}' object is not subscriptable"
    )))
}

/// Whether the interpreter has Python threads besides the calling one (which holds the GIL).
#[inline]
pub(crate) fn other_python_threads(_py: pyo3::Python<'_>) -> bool {
    // SAFETY: with the GIL held, the interpreter and its thread list are valid; the list head
    // is read without the interpreter's list lock, which at worst misses a thread that is
    // being created right now (it then waits for the GIL until the current call returns).
    unsafe {
        let head = pyffi::PyInterpreterState_ThreadHead(pyffi::PyInterpreterState_Get());
        !head.is_null() && !pyffi::PyThreadState_Next(head).is_null()
    }
}

/// A flag argument taken by truth value, as upstream's Cython `bint` parameters are
/// (`total=1`, `recursive=[]`, `blocking=None` is false).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Flag(pub(crate) bool);

impl<'py> pyo3::FromPyObject<'_, 'py> for Flag {
    type Error = pyo3::PyErr;

    fn extract(obj: pyo3::Borrowed<'_, 'py, pyo3::PyAny>) -> Result<Self, Self::Error> {
        use pyo3::types::PyAnyMethods;
        obj.is_truthy().map(Flag)
    }
}
