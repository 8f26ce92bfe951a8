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
use pyo3::types::PyBytes;
use safe_lua::flavour::METATABLE_NAMES_IN_ERRORS;
use safe_lua::sys::{LUA_REGISTRYINDEX, lua_CFunction, lua_State};
use safe_lua::{CanGrow, CanRaise, State, run_c_function};

use super::bridge::{always_with_python, call_python, self_userdata, with_python};
use crate::convert::{Flags, userdata};
use crate::runtime::Lua;

/// Creates the shared metatable, stores it at registry `"POBJECT"` and returns a registry
/// reference to it.  Runs during initialisation (hence `CanRaise`: nothing raises then).
pub(crate) fn create_metatable(st: State, raise: CanRaise) -> c_int {
    st.new_table(raise.create(), 0, 6);
    let entries: [(&'static std::ffi::CStr, lua_CFunction); 5] = [
        (c"__index", index),
        (c"__newindex", newindex),
        (c"__call", call),
        (c"__tostring", tostring),
        (c"__gc", gc),
    ];
    for (name, f) in entries {
        st.push_named_cfunction(raise.create(), f, name);
        st.set_field(raise, -2, name);
    }
    if METATABLE_NAMES_IN_ERRORS {
        st.push_str(raise.create(), "POBJECT");
        st.set_field(raise, -2, c"__name");
    }
    st.push_value(-1);
    st.set_field(raise, LUA_REGISTRYINDEX, c"POBJECT");
    st.reference(CanGrow::from(raise))
}

/// Runs a metamethod whose argument 1 is a Python object userdata: `f` gets the object and
/// its flags, with the GIL held.  Errors (a bad `self`, Python exceptions) are raised in Lua.
///
/// # Safety
/// Only from a C function called by Lua with the state `l`.
unsafe fn on_python_object<F>(l: *mut lua_State, f: F) -> c_int
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
                let obj = userdata::object_at(py, st, 1).expect("checked")?;
                Ok(f(py, lua, &obj, flags)?)
            })
        })
    }
}

unsafe extern "C-unwind" fn index(l: *mut lua_State) -> c_int {
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

unsafe extern "C-unwind" fn newindex(l: *mut lua_State) -> c_int {
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

unsafe extern "C-unwind" fn call(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        on_python_object(l, |py, lua, callable, _flags| {
            call_python(py, lua, callable, 2)
        })
    }
}

unsafe extern "C-unwind" fn tostring(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        on_python_object(l, |py, lua, obj, _flags| {
            let text = obj.str()?;
            let codec = lua.core.options.encoding.codec().unwrap_or(c"utf-8");
            if codec == c"utf-8" {
                lua.push_bytes(py, text.to_str()?.as_bytes())?;
            } else {
                lua.push_bytes(py, crate::text::encode_with(&text, codec)?.as_bytes())?;
            }
            Ok(1)
        })
    }
}

unsafe extern "C-unwind" fn gc(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            let Some(ud) = userdata::userdata_at(st, 1) else {
                return Ok(0);
            };
            always_with_python(ud.core(), st, |py, _lua| {
                userdata::finalize_at(py, st, 1);
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
    let name = match name.cast::<PyBytes>() {
        Ok(bytes) => {
            let codec = lua.core.options.source_encoding.codec().unwrap_or(c"utf-8");
            crate::text::decode_strict(py, bytes.as_bytes(), codec)?
        }
        Err(_) => name,
    };
    if lua.core.options.hide_private_attributes
        && let Ok(text) = name.cast::<pyo3::types::PyString>()
        && text.to_str().is_ok_and(is_private_attribute)
    {
        return Err(pyo3::exceptions::PyAttributeError::new_err(format!(
            "access to private attribute '{text}' is not allowed in a sandbox"
        )));
    }
    Ok(name)
}

/// The attributes a sandbox hides: names that start with `_` (no way from `obj.__class__`
/// to `__subclasses__()` or `__globals__`), and the frames, code and tracebacks that
/// generators, coroutines and tracebacks show under plain names (`gen.gi_frame.f_builtins`
/// leads to `exec`; the list of RestrictedPython).
fn is_private_attribute(name: &str) -> bool {
    const INSPECTION: &[&str] = &[
        "ag_await",
        "ag_code",
        "ag_frame",
        "co_code",
        "cr_await",
        "cr_code",
        "cr_frame",
        "cr_origin",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "f_trace",
        "gi_code",
        "gi_frame",
        "gi_yieldfrom",
        "tb_frame",
        "tb_next",
    ];
    name.starts_with('_') || INSPECTION.contains(&name)
}
