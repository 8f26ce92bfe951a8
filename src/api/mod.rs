//! The contents of a flavour module (`lupa.lua54`, ...) as Python sees them: upstream's
//! module-level names, the classes with their hand-written type slots, and the checks made
//! when the module is imported.
//!
//! * `runtime.rs`: `LuaRuntime`'s methods, and how a runtime is created.
//! * `fast_rlock.rs`: `FastRLock`.
//! * `luau.rs`: the methods only `lupa.luau`'s `LuaRuntime` has (`vector`, `buffer`).

mod fast_rlock;
mod limits;
#[cfg(feature = "luau")]
mod luau;
mod runtime;
mod sandbox;

use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyTuple, PyType};
use safe_lua::sys::LUA_TLIGHTUSERDATA;

use self::fast_rlock::FastRLock;
use self::runtime::LuaNoGC;
use crate::convert;
use crate::convert::{
    LuaCoroutineFunction, LuaFunction, LuaObject, LuaTable, LuaThread, PyProtocolWrapper,
    as_attrgetter, as_itemgetter, unpack_table,
};
use crate::exceptions;
use crate::lua_value::LuaIter;
use crate::module_name::MODULE_NAME;
use crate::pyhelpers::Flag;
use crate::python_value::PyArguments;
use crate::runtime::LuaRuntime;

const ALL: [&str; 12] = [
    "LUA_VERSION",
    "LUA_MAXINTEGER",
    "LUA_MININTEGER",
    "LuaRuntime",
    "LuaError",
    "LuaSyntaxError",
    "LuaMemoryError",
    "as_itemgetter",
    "as_attrgetter",
    "lua_type",
    "unpacks_lua_table",
    "unpacks_lua_table_method",
];

/// Returns the Lua type name of a wrapped Lua value (`'table'`, `'function'`, `'thread'`,
/// `'userdata'`, ...), or None if `obj` is not a Lua value of this module.
#[pyfunction]
fn lua_type(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let Ok(wrapper) = obj.cast::<LuaObject>() else {
        return Ok(None);
    };
    let wrapper = wrapper.get();
    let tag = wrapper.lua_type_tag(py)?;
    let lua = wrapper.enter(py)?;
    let name = match tag {
        LUA_TLIGHTUSERDATA => "userdata",
        tag => lua.st.type_name(tag),
    };
    Ok(Some(name.to_owned()))
}

/// Converts a Lua value into plain Python data, recursively: a table with the keys 1..n
/// becomes a list, any other table a dict (`empty_table`: what an empty one becomes, `dict`
/// or `list`); tables nested deeper than `max_depth` stay Lua tables; functions, coroutines
/// and other userdata stay as they are, or raise with `strict=True` (as do too deep tables).
/// A table that contains itself gives a list or dict that contains itself.  Any other value
/// is returned as it is.
#[pyfunction]
#[pyo3(
    signature = (value, *, max_depth = None, empty_table = None, strict = Flag(false)),
    text_signature = "(value, *, max_depth=None, empty_table=None, strict=False)"
)]
fn to_python(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    max_depth: Option<&Bound<'_, PyAny>>,
    empty_table: Option<&Bound<'_, PyAny>>,
    strict: Flag,
) -> PyResult<Py<PyAny>> {
    use pyo3::exceptions::{PyTypeError, PyValueError};
    let max_depth =
        match max_depth.filter(|m| !m.is_none()) {
            None => None,
            Some(m) if m.is_instance_of::<pyo3::types::PyBool>() => {
                return Err(PyTypeError::new_err("max_depth must be an int or None"));
            }
            Some(m) => Some(m.extract::<usize>().map_err(|_| {
                PyValueError::new_err("max_depth must be a non-negative int or None")
            })?),
        };
    let empty = match empty_table {
        None => convert::EmptyTable::Dict,
        Some(t) if t.is(py.get_type::<PyDict>()) => convert::EmptyTable::Dict,
        Some(t) if t.is(py.get_type::<pyo3::types::PyList>()) => convert::EmptyTable::List,
        Some(_) => return Err(PyValueError::new_err("empty_table must be dict or list")),
    };
    let options = convert::DeepOptions {
        max_depth,
        empty,
        strict: strict.0,
    };
    let Ok(wrapper) = value.cast::<LuaObject>() else {
        return Ok(value.clone().unbind());
    };
    let wrapper = wrapper.get();
    let lua = wrapper.enter(py)?;
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 1)?;
    wrapper.push_own(&lua);
    Ok(convert::to_python_deep(py, &lua, -1, options)?.unbind())
}

/// `(args, kwargs)` from a Lua table, for the `unpacks_lua_table*` decorators.
#[pyfunction]
fn _unpack_lua_table<'py>(
    py: Python<'py>,
    table: &Bound<'py, LuaTable>,
) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyDict>)> {
    let table = table.as_super().get();
    let lua = table.enter(py)?;
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 1)?;
    table.push_own(&lua);
    let unpacked = unpack_table(py, &lua, -1)?;
    Ok((PyTuple::new(py, unpacked.args)?, unpacked.kwargs))
}

/// The decorators are plain Python functions (made with `functools.wraps`, like upstream).
const DECORATORS: &std::ffi::CStr = c"
from functools import wraps as _wraps

def unpacks_lua_table(func):
    '''
    A decorator to make the decorated function receive kwargs
    when it is called from Lua with a single Lua table argument.
    '''
    @_wraps(func)
    def wrapper(*args):
        if len(args) == 1 and type(args[0]) is _LuaTable:
            args, kwargs = _unpack_lua_table(args[0])
            return func(*args, **kwargs)
        return func(*args)
    return wrapper

def unpacks_lua_table_method(meth):
    '''
    This is :func:`unpacks_lua_table` for methods
    (i.e. it knows about the 'self' argument).
    '''
    @_wraps(meth)
    def wrapper(self, *args):
        if len(args) == 1 and type(args[0]) is _LuaTable:
            args, kwargs = _unpack_lua_table(args[0])
            return meth(self, *args, **kwargs)
        return meth(self, *args)
    return wrapper
";

fn add_decorators(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let namespace = PyDict::new(py);
    namespace.set_item("_LuaTable", py.get_type::<LuaTable>())?;
    namespace.set_item(
        "_unpack_lua_table",
        PyCFunction::new_closure(py, None, None, |args, _| {
            let py = args.py();
            let table = args.get_item(0)?;
            _unpack_lua_table(py, table.cast::<LuaTable>()?)
                .map(|r| r.into_pyobject(py).map(|t| t.unbind()))?
        })?,
    )?;
    namespace.set_item("__name__", format!("lupa.{MODULE_NAME}"))?;
    py.run(DECORATORS, Some(&namespace), None)?;
    for name in ["unpacks_lua_table", "unpacks_lua_table_method"] {
        m.add(name, namespace.get_item(name)?.expect("defined above"))?;
    }
    Ok(())
}

/// Gives a class the module's name (`lupa.lua54._LuaTable`), as upstream's classes have: in
/// `__module__` (for reprs) and in the C-level type name (for error messages, which say
/// "'lupa.lua54._LuaFunction' object is not iterable").  The name is fixed at compile time by
/// `#[pyclass]`, which cannot name the flavour.
fn set_module(ty: &Bound<'_, PyType>, module_name: &str) -> PyResult<()> {
    ty.setattr("__module__", module_name)?;
    let full_name = std::ffi::CString::new(format!("{module_name}.{}", ty.name()?))?;
    // SAFETY: the type object is alive and not yet used; `tp_name` only needs to point to a
    // NUL-terminated string that lives as long as the type (leaked: one per class).
    unsafe { (*ty.as_type_ptr()).tp_name = full_name.into_raw() };
    Ok(())
}

/// Installs the hand-written type slots of the wrapper classes (see `lua_value`), each
/// through PyO3's slot trampoline, which keeps PyO3's reference bookkeeping (references
/// dropped during the call are released at once) and turns panics into exceptions.
fn install_slots(py: Python<'_>, wrappers: &[Bound<'_, PyType>]) -> PyResult<()> {
    use crate::lua_value as slots;
    use pyo3::get_trampoline_function as trampoline;
    let coroutine_function = py.get_type::<LuaCoroutineFunction>();
    for ty in wrappers {
        let tp = ty.as_type_ptr();
        // SAFETY: the types are fully created and not yet used; the slots implement the
        // protocols for instances of these classes (see their docs).  Heap types always have
        // their sequence methods (checked anyway).
        unsafe {
            (*tp).tp_getattro = Some(trampoline!(getattrofunc, slots::getattr_slot));
            if !ty.is(&coroutine_function) {
                (*tp).tp_call = Some(trampoline!(ternaryfunc, slots::call_slot));
            }
            let sequence = (*tp).tp_as_sequence;
            if !sequence.is_null() {
                (*sequence).sq_length = Some(trampoline!(lenfunc, slots::length_slot));
                (*sequence).sq_item = Some(trampoline!(ssizeargfunc, slots::item_slot));
            }
        }
    }
    // SAFETY: as above; `_LuaTable` has mapping methods (PyO3 allocated them, since the class
    // defines `__setitem__`); `mp_ass_subscript` has the signature of `setattrofunc`.
    unsafe {
        (*py.get_type::<LuaIter>().as_type_ptr()).tp_iternext =
            Some(trampoline!(iternextfunc, slots::next_slot));
        let mapping = (*py.get_type::<LuaTable>().as_type_ptr()).tp_as_mapping;
        if !mapping.is_null() {
            (*mapping).mp_ass_subscript = Some(trampoline!(setattrofunc, slots::setitem_slot));
        }
    }
    // SAFETY: as above; the classes are made by the runtime only (see `refuse_instances`).
    unsafe {
        for ty in wrappers.iter().chain([&py.get_type::<LuaIter>()]) {
            (*ty.as_type_ptr()).tp_new = Some(trampoline!(newfunc, refuse_instances));
        }
        (*py.get_type::<PyProtocolWrapper>().as_type_ptr()).tp_new =
            Some(trampoline!(newfunc, refuse_protocol_wrappers));
    }
    add_getattr_method(py, &wrappers[0])
}

/// `tp_new` of the classes whose instances only the runtime makes: the wrappers of Lua values
/// and `_LuaIter`.  One slot instead of a `#[new]` in each class, with upstream's message.
///
/// # Safety
/// Called by CPython as `tp_new`, with the GIL held.
unsafe fn refuse_instances(
    _py: Python<'_>,
    _subtype: *mut pyo3::ffi::PyTypeObject,
    _args: *mut pyo3::ffi::PyObject,
    _kwargs: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    Err(pyo3::exceptions::PyTypeError::new_err(
        "Type cannot be instantiated manually",
    ))
}

/// `tp_new` of `_PyProtocolWrapper` (made by `as_attrgetter`/`as_itemgetter`), with
/// upstream's message.
///
/// # Safety
/// Called by CPython as `tp_new`, with the GIL held.
unsafe fn refuse_protocol_wrappers(
    _py: Python<'_>,
    _subtype: *mut pyo3::ffi::PyTypeObject,
    _args: *mut pyo3::ffi::PyObject,
    _kwargs: *mut pyo3::ffi::PyObject,
) -> PyResult<*mut pyo3::ffi::PyObject> {
    Err(pyo3::exceptions::PyTypeError::new_err(
        "Type cannot be instantiated from Python",
    ))
}

/// Puts `__getattr__` into `_LuaObject`'s dictionary as a method (upstream's wrappers have it:
/// `t.__getattr__("x")`, `type(t).__getattr__`).  Attribute access itself keeps using
/// `tp_getattro`: writing the dictionary directly does not make CPython replace the slot.
fn add_getattr_method(py: Python<'_>, object_type: &Bound<'_, PyType>) -> PyResult<()> {
    let def = Box::leak(Box::new(pyo3::ffi::PyMethodDef {
        ml_name: c"__getattr__".as_ptr(),
        ml_meth: pyo3::ffi::PyMethodDefPointer {
            PyCFunction: pyo3::get_trampoline_function!(
                binaryfunc,
                crate::lua_value::getattr_method
            ),
        },
        ml_flags: pyo3::ffi::METH_O,
        ml_doc: c"Looks up a key of the Lua value, as attribute access does.".as_ptr(),
    }));
    let tp = object_type.as_type_ptr();
    // SAFETY: `def` lives forever (leaked, one per module); the type is alive; the result is
    // a new reference or NULL with an exception set.
    let descriptor =
        unsafe { Bound::from_owned_ptr_or_err(py, pyo3::ffi::PyDescr_NewMethod(tp, def))? };
    // SAFETY: a ready type has a dictionary; PyType_Modified invalidates the method cache.
    unsafe {
        let dict = Bound::from_borrowed_ptr(py, (*tp).tp_dict);
        dict.set_item("__getattr__", descriptor)?;
        pyo3::ffi::PyType_Modified(tp);
    }
    Ok(())
}

/// Refuses to load into a free-threaded CPython running without the GIL (`PYTHON_GIL=0`,
/// `-X gil=0`): the runtime lock, the core and the reference table rely on the GIL.  (Without
/// that option, CPython turns the GIL back on when it imports this module, which declares that
/// it needs it.)
fn refuse_disabled_gil(py: Python<'_>) -> PyResult<()> {
    let sys = py.import("sys")?;
    let Some(is_gil_enabled) = sys.getattr_opt("_is_gil_enabled")? else {
        return Ok(());
    };
    if is_gil_enabled.call0()?.is_truthy()? {
        return Ok(());
    }
    let forced_off = match sys.getattr("flags")?.getattr_opt("gil")? {
        Some(gil) => gil.eq(0)?,
        None => false,
    };
    if forced_off {
        return Err(pyo3::exceptions::PyImportError::new_err(format!(
            "lupa.{MODULE_NAME} cannot run on a free-threaded Python with the GIL disabled \
             (PYTHON_GIL=0 or -X gil=0): lupa-rs relies on the GIL to protect its Lua \
             runtimes; run with the GIL enabled (PYTHON_GIL=1)"
        )));
    }
    Ok(())
}

pub(crate) fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    refuse_disabled_gil(py)?;
    crate::runtime::remember_main_thread(py)?;
    let module_name = format!("lupa.{MODULE_NAME}");
    for ty in [
        py.get_type::<LuaRuntime>(),
        py.get_type::<LuaObject>(),
        py.get_type::<LuaTable>(),
        py.get_type::<LuaFunction>(),
        py.get_type::<LuaCoroutineFunction>(),
        py.get_type::<LuaThread>(),
        py.get_type::<LuaIter>(),
        py.get_type::<LuaNoGC>(),
        py.get_type::<PyProtocolWrapper>(),
        py.get_type::<PyArguments>(),
        py.get_type::<FastRLock>(),
        py.get_type::<limits::LuaLimits>(),
    ] {
        set_module(&ty, &module_name)?;
    }
    let wrappers = [
        py.get_type::<LuaObject>(),
        py.get_type::<LuaTable>(),
        py.get_type::<LuaFunction>(),
        py.get_type::<LuaCoroutineFunction>(),
        py.get_type::<LuaThread>(),
    ];
    crate::lua_value::init_attribute_lookup(py, &wrappers)?;
    install_slots(py, &wrappers)?;
    m.add_class::<LuaRuntime>()?;
    m.add_class::<FastRLock>()?;
    m.add_class::<limits::LuaLimits>()?;
    m.add_class::<PyArguments>()?;
    exceptions::register(m)?;
    m.add("LUA_VERSION", safe_lua::flavour::library_version())?;
    m.add("LUA_MAXINTEGER", i64::MAX)?;
    m.add("LUA_MININTEGER", i64::MIN)?;
    m.add_function(wrap_pyfunction!(lua_type, m)?)?;
    m.add_function(wrap_pyfunction!(to_python, m)?)?;
    m.add_function(wrap_pyfunction!(as_attrgetter, m)?)?;
    m.add_function(wrap_pyfunction!(as_itemgetter, m)?)?;
    add_decorators(m)?;
    m.add("__all__", ALL.to_vec())?;
    // Tells lupa-rs from upstream lupa (the test suite runs against both).
    // (`setattr`, not `add`, which would also list it in `__all__`.)
    m.setattr(
        "_IMPLEMENTATION",
        concat!("lupa-rs ", env!("CARGO_PKG_VERSION")),
    )?;
    // Whether limits reach finalizers and coroutines resumed by Lua code (docs/guide.md).
    m.setattr("_COMPLETE_LIMITS", safe_lua::limits::COMPLETE)?;
    Ok(())
}
