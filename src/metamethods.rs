//! The metatable of Python object userdata: `__index`, `__newindex`, `__call`, `__tostring`,
//! `__gc` (and `__name = "POBJECT"` on Lua 5.3+, which names the type in Lua's messages).
//!
//! Indexing follows upstream's decision order: the runtime's attribute getter/setter if set
//! (for every object); else the item protocol for objects wrapped with it (those with
//! `__getitem__`, and `as_itemgetter`); else attribute access through the attribute filter.
//!
//! Safety of every `unsafe extern "C-unwind" fn` here: it is a `lua_CFunction`, called only by
//! Lua with a valid state of a runtime whose lock the calling thread holds.

use std::ffi::c_int;

use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::callback::{self_userdata, with_python};
use crate::context::Lua;
use crate::convert;
use crate::flavour::USE_METATABLE_NAME;
use crate::lua::{State, ffi, run_c_function};
use crate::pyargs::PyArguments;
use crate::pyobject::{self, Flags};

/// Creates the shared metatable, stores it at registry `"POBJECT"` and returns a registry
/// reference to it.  Runs during initialisation.
pub(crate) fn create_metatable(st: State) -> c_int {
    st.new_table(0, 6);
    let entries: [(&std::ffi::CStr, ffi::lua_CFunction); 5] = [
        (c"__index", index),
        (c"__newindex", newindex),
        (c"__call", call),
        (c"__tostring", tostring),
        (c"__gc", gc),
    ];
    for (name, f) in entries {
        st.push_cfunction(f);
        st.set_field(-2, name);
    }
    if USE_METATABLE_NAME {
        st.push_str("POBJECT");
        st.set_field(-2, c"__name");
    }
    st.push_value(-1);
    st.set_field(ffi::LUA_REGISTRYINDEX, c"POBJECT");
    st.reference()
}

/// Runs a metamethod whose argument 1 is a Python object userdata: `f` gets the object and
/// its flags, with the GIL held.  Errors (a bad `self`, Python exceptions) are raised in Lua.
///
/// # Safety
/// Only from a C function called by Lua with the state `l`.
unsafe fn on_python_object<F>(l: *mut ffi::lua_State, f: F) -> c_int
where
    F: for<'py> FnOnce(Python<'py>, &Lua<'_>, &Bound<'py, PyAny>, Flags) -> PyResult<c_int>,
{
    // SAFETY: per this function's contract.
    unsafe {
        run_c_function(l, |st| {
            let ud = self_userdata(st)?;
            let flags = ud.flags;
            with_python(ud.core(), st, |py, lua| {
                // An owned reference: `f` may run Lua code that finalizes the userdata.
                let obj = pyobject::object_at(py, st, 1).expect("checked")?;
                Ok(f(py, lua, &obj, flags)?)
            })
        })
    }
}

unsafe extern "C-unwind" fn index(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        on_python_object(l, |py, lua, obj, flags| {
            let key = lua.to_python(py, 2)?;
            let value = get_item_or_attribute(py, lua, obj, flags, &key)?;
            lua.push(py, &value)?;
            Ok(1)
        })
    }
}

unsafe extern "C-unwind" fn newindex(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        on_python_object(l, |py, lua, obj, flags| {
            let key = lua.to_python(py, 2)?;
            let value = lua.to_python(py, 3)?;
            set_item_or_attribute(py, lua, obj, flags, &key, &value)?;
            Ok(0)
        })
    }
}

unsafe extern "C-unwind" fn call(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        on_python_object(l, |py, lua, callable, _flags| {
            call_python(py, lua, callable, 2)
        })
    }
}

unsafe extern "C-unwind" fn tostring(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        on_python_object(l, |py, lua, obj, _flags| {
            let text = obj.str()?;
            let codec = lua.core.options.encoding.codec().unwrap_or(c"utf-8");
            if codec == c"utf-8" {
                lua.push_bytes(py, text.to_str()?.as_bytes())?;
            } else {
                lua.push_bytes(py, convert::encode_with(&text, codec)?.as_bytes())?;
            }
            Ok(1)
        })
    }
}

unsafe extern "C-unwind" fn gc(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            let Some(ud) = pyobject::userdata_at(st, 1) else {
                return Ok(0);
            };
            with_python(ud.core(), st, |py, _lua| {
                pyobject::finalize_at(py, st, 1);
                Ok(0)
            })
        })
    }
}

/// `obj[key]` or `getattr(obj, key)` per the decision order in the module docs.
pub(crate) fn get_item_or_attribute<'py>(
    py: Python<'py>,
    lua: &Lua<'_>,
    obj: &Bound<'py, PyAny>,
    flags: Flags,
    key: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let getter = lua
        .core
        .handlers
        .get(py)
        .attribute_getter
        .as_ref()
        .map(|g| g.bind(py).clone());
    if let Some(getter) = getter {
        return getter.call1((obj, key));
    }
    if flags.contains(Flags::AS_INDEX) {
        return crate::pyhelpers::subscript(obj, key);
    }
    let name = attribute_name(py, lua, obj, key, false)?;
    // SAFETY: valid objects; returns a new reference or NULL with an exception set (e.g.
    // "attribute name must be string" for non-str names, as upstream).
    unsafe {
        Bound::from_owned_ptr_or_err(py, pyffi::PyObject_GetAttr(obj.as_ptr(), name.as_ptr()))
    }
}

/// `obj[key] = value` or `setattr(obj, key, value)` per the decision order.
pub(crate) fn set_item_or_attribute<'py>(
    py: Python<'py>,
    lua: &Lua<'_>,
    obj: &Bound<'py, PyAny>,
    flags: Flags,
    key: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
) -> PyResult<()> {
    let setter = lua
        .core
        .handlers
        .get(py)
        .attribute_setter
        .as_ref()
        .map(|s| s.bind(py).clone());
    if let Some(setter) = setter {
        setter.call1((obj, key, value))?;
        return Ok(());
    }
    if flags.contains(Flags::AS_INDEX) {
        return obj.set_item(key, value);
    }
    let name = attribute_name(py, lua, obj, key, true)?;
    // SAFETY: valid objects; returns -1 with an exception set on failure.
    if unsafe { pyffi::PyObject_SetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) } < 0 {
        return Err(PyErr::fetch(py));
    }
    Ok(())
}

/// The attribute name for the attribute protocol: passed through the runtime's attribute
/// filter, and decoded with the source encoding if it is `bytes`.
fn attribute_name<'py>(
    py: Python<'py>,
    lua: &Lua<'_>,
    obj: &Bound<'py, PyAny>,
    key: &Bound<'py, PyAny>,
    is_setting: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let filter = lua
        .core
        .handlers
        .get(py)
        .attribute_filter
        .as_ref()
        .map(|f| f.bind(py).clone());
    let name = match filter {
        Some(filter) => filter.call1((obj, key, is_setting))?,
        None => key.clone(),
    };
    match name.cast::<PyBytes>() {
        Ok(bytes) => {
            let codec = lua.core.options.source_encoding.codec().unwrap_or(c"utf-8");
            convert::decode_strict(py, bytes.as_bytes(), codec)
        }
        Err(_) => Ok(name),
    }
}

/// Calls a Python callable with the Lua values from stack index `first` on as arguments and
/// pushes its results.  Returns the number of results.
///
/// `python.args(...)` values among the arguments are spliced in as positional and keyword
/// arguments.  `obj:method(...)` works because Lua passes `obj` again as the first argument:
/// for a bound Python method whose `__self__` is that argument, the underlying function is
/// called instead (upstream's rule; builtin methods are not covered, as upstream).
pub(crate) fn call_python(
    py: Python<'_>,
    lua: &Lua<'_>,
    callable: &Bound<'_, PyAny>,
    first: c_int,
) -> PyResult<c_int> {
    let top = lua.st.top();
    let mut args = crate::pyhelpers::Args::new();
    let mut kwargs: Option<Bound<'_, PyDict>> = None;
    for idx in first..=top {
        let arg = lua.to_python(py, idx)?;
        if let Ok(spliced) = arg.cast::<PyArguments>() {
            spliced.get().splice_into(py, &mut args, &mut kwargs)?;
        } else {
            args.push(arg);
        }
    }
    let function;
    let mut callable = callable;
    if let Some((method_function, bound_self)) =
        crate::pyhelpers::bound_method_parts(callable.as_ptr())
        && args.first().is_some_and(|a| a.as_ptr() == bound_self)
    {
        // SAFETY: `method_function` is a borrowed reference kept alive by the method object.
        function = unsafe { Bound::from_borrowed_ptr(py, method_function) };
        callable = &function;
    }
    let result = match kwargs {
        None => crate::pyhelpers::vectorcall(py, callable, &args)?,
        Some(kwargs) => callable.call(PyTuple::new(py, args)?, Some(&kwargs))?,
    };
    push_results(py, lua, &result)
}

/// Pushes a callback's result: several values for a tuple when the runtime unpacks returned
/// tuples, else one value.
pub(crate) fn push_results(
    py: Python<'_>,
    lua: &Lua<'_>,
    result: &Bound<'_, PyAny>,
) -> PyResult<c_int> {
    if lua.core.options.unpack_returned_tuples
        && let Ok(tuple) = result.cast::<PyTuple>()
    {
        lua.ensure_stack(py, tuple.len())?;
        for item in tuple.iter() {
            lua.push(py, &item)?;
        }
        return Ok(tuple.len() as c_int);
    }
    lua.push(py, result)?;
    Ok(1)
}
