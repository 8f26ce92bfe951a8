//! Python objects as Lua values: full userdata that own a reference to the object.
//!
//! Every Python object that is not converted to a Lua value becomes a `PyUserdata` with the
//! shared metatable (registry `"POBJECT"`, see python_value/metatable.rs).  The userdata owns
//! one strong reference; `__gc` releases it (on Luau, which never calls `__gc` for userdata,
//! a destructor queues it for release: `destroy_userdata`).  Each userdata also has a slot in
//! its runtime's `PyRefTable`, so that Python's cycle collector sees the references Lua holds.
//!
//! Identity: a weak-valued Lua table maps `(object address | protocol flags)` to the userdata,
//! so the same object with the same protocol is the same Lua value while Lua references it
//! (`rawequal` holds).  A cache hit is verified against the object and the flags (upstream
//! only checks that the slot holds *some* userdata and can hand out another object's).

use std::ffi::c_int;
use std::ptr;

use pyo3::exceptions::PyReferenceError;
use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use safe_lua::sys::{LUA_OK, LUA_TTABLE, LUA_TUSERDATA, lua_State};
use safe_lua::{CanCreate, CanRaise, Op, State};

use crate::runtime::{Core, Lua};

/// Which Python protocol Lua indexing uses, and how iteration steps are unpacked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Flags(pub(crate) u8);

impl Flags {
    /// Attribute protocol (`getattr`).
    pub(crate) const NONE: Flags = Flags(0);
    /// Item protocol (`obj[key]`): objects that have `__getitem__`, and `as_itemgetter`.
    pub(crate) const AS_INDEX: Flags = Flags(1);
    /// `python.iterex`: tuple items become several loop values.
    pub(crate) const UNPACK_TUPLE: Flags = Flags(2);
    /// `python.enumerate`: steps yield `index, item`.
    pub(crate) const ENUMERATOR: Flags = Flags(4);

    pub(crate) fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

const MAGIC: u64 = 0x6c75_7061_2d72_7321; // "lupa-rs!"

/// The memory of a Python object userdata.
#[repr(C)]
struct PyUserdata {
    magic: u64,
    /// The object; None once Lua finalized the userdata ("deleted python object").
    obj: Option<Py<PyAny>>,
    core: *const Core,
    flags: Flags,
    /// The userdata's slot in the runtime's `PyRefTable`.
    slot: usize,
}

/// A Python object userdata found on the Lua stack, described by value.
///
/// Nothing in it points into the userdata's memory: Lua code can finalize a userdata (call
/// its `__gc` by hand) while Python code runs, so a reference into that memory must never
/// outlive the moment it is read.  Take the object itself with `object_at`, which returns a
/// new (owned) reference.
#[derive(Clone, Copy)]
pub(crate) struct UserdataInfo {
    core: *const Core,
    pub(crate) flags: Flags,
    /// False once Lua finalized the userdata ("deleted python object").
    pub(crate) alive: bool,
}

impl UserdataInfo {
    /// The runtime core (the core outlives its userdata and every Lua call into it).
    pub(crate) fn core<'a>(&self) -> &'a Core {
        // SAFETY: userdata only exist while their Lua state exists, and the core owns the
        // state; the pointer was set at creation.
        unsafe { &*self.core }
    }
}

/// The userdata at `idx` if it is one of ours; the borrow must end before any Lua or Python
/// code runs (see `UserdataInfo`).  `[-0, +0]`
///
/// Recognised by size and a magic number rather than by metatable, which is cheaper and still
/// rejects every userdata Lua code can reach (`io` files, `newproxy` objects, ...).
#[inline]
fn userdata_mut<'a>(st: State, idx: c_int) -> Option<&'a mut PyUserdata> {
    if st.type_of(idx) != LUA_TUSERDATA || st.raw_len(idx) != size_of::<PyUserdata>() {
        return None;
    }
    let ud = st.to_userdata(idx).cast::<PyUserdata>();
    // SAFETY: a full userdata of exactly our size: its memory is readable; the magic number
    // confirms that we initialised it (Lua aligns userdata memory for any C type).
    let ud = unsafe { &mut *ud };
    (ud.magic == MAGIC).then_some(ud)
}

/// What the userdata at `idx` is, if it is one of ours.  `[-0, +0]`
#[inline]
pub(crate) fn userdata_at(st: State, idx: c_int) -> Option<UserdataInfo> {
    userdata_mut(st, idx).map(|ud| UserdataInfo {
        core: ud.core,
        flags: ud.flags,
        alive: ud.obj.is_some(),
    })
}

/// A new reference to the object of the userdata at `idx`: None if the value is not one of
/// our userdata, `ReferenceError("deleted python object")` if Lua finalized it.  `[-0, +0]`
#[inline]
pub(crate) fn object_at<'py>(
    py: Python<'py>,
    st: State,
    idx: c_int,
) -> Option<PyResult<Bound<'py, PyAny>>> {
    let ud = userdata_mut(st, idx)?;
    Some(match &ud.obj {
        Some(obj) => Ok(obj.bind(py).clone()),
        None => Err(PyReferenceError::new_err("deleted python object")),
    })
}

/// The object of the userdata at `idx` if it is one of ours and alive (a new reference).
#[inline]
pub(crate) fn live_object_at<'py>(
    py: Python<'py>,
    st: State,
    idx: c_int,
) -> Option<Bound<'py, PyAny>> {
    object_at(py, st, idx).and_then(Result::ok)
}

/// The second upvalue of the C closures that stand for a Python object in Lua
/// (`python.as_function`; the first upvalue is the object's userdata).  A conversion to Python
/// gives back the object (`as_function_target`).
static STANDS_FOR_PYTHON_OBJECT: u8 = 0;

/// Pushes the upvalues of a C closure that stands for the Python object whose userdata is on
/// top: `[ud] -> [ud, marker]` (see `as_function_target`).
pub(crate) fn push_function_marker(st: State) {
    st.push_static(&STANDS_FOR_PYTHON_OBJECT);
}

/// If the function at `idx` is a C closure that stands for a Python object (made with
/// `push_function_marker`), that object.  `[-0, +0]`
pub(crate) fn as_function_target<'py>(
    py: Python<'py>,
    st: State,
    idx: c_int,
) -> Option<Bound<'py, PyAny>> {
    if !st.is_cfunction(idx) || !st.get_upvalue(idx, 2) {
        return None;
    }
    let marked = st.is_static(-1, &STANDS_FOR_PYTHON_OBJECT);
    st.pop(1);
    if !marked || !st.get_upvalue(idx, 1) {
        return None;
    }
    let obj = live_object_at(py, st, -1);
    st.pop(1);
    obj
}

/// Whether `hasattr(obj, "__getitem__")`, which selects the item protocol (as upstream).
pub(crate) fn has_getitem(obj: &Bound<'_, PyAny>) -> PyResult<bool> {
    let mut target = obj.as_ptr();
    // SAFETY: `obj` is a valid object; reading type slots of a live type is safe.
    unsafe {
        let tp = pyffi::Py_TYPE(target);
        let mapping = (*tp).tp_as_mapping;
        let sequence = (*tp).tp_as_sequence;
        if (!mapping.is_null() && (*mapping).mp_subscript.is_some())
            || (!sequence.is_null() && (*sequence).sq_item.is_some())
        {
            return Ok(true);
        }
        // A bound method answers attribute lookups for its function.
        if let Some((function, _)) = crate::pyhelpers::bound_method_parts(target) {
            target = function;
        }
    }
    let py = obj.py();
    let name = pyo3::intern!(py, "__getitem__");
    // SAFETY: valid objects; `lookup_attribute` returns -1 (error set), 0 or 1.
    match unsafe { crate::pyhelpers::has_attribute(target, name.as_ptr()) } {
        -1 => Err(PyErr::fetch(py)),
        found => Ok(found == 1),
    }
}

/// Data of the protected "create userdata" operation.
struct NewUserdata {
    obj: *mut pyffi::PyObject,
    core: *const Core,
    flags: Flags,
    /// The identity-cache key to store the userdata under, if any.
    key: Option<i64>,
}

/// The identity-cache key of an object with a protocol: object addresses are aligned to at
/// least 8 bytes, so the three flag bits fit below them.
#[inline(always)]
fn identity_key(obj: *mut pyffi::PyObject, flags: Flags) -> i64 {
    (obj as usize | flags.0 as usize) as i64
}

/// Pushes the userdata for `obj` with the given protocol flags, reusing the cached one.
/// `[-0, +1]`
pub(crate) fn push_pyobject(
    py: Python<'_>,
    lua: &Lua<'_>,
    obj: &Bound<'_, PyAny>,
    flags: Flags,
) -> PyResult<()> {
    let key = identity_key(obj.as_ptr(), flags);
    if push_cached(lua, key, |ud| {
        ud.flags == flags && ud.obj.as_ref().is_some_and(|o| o.as_ptr() == obj.as_ptr())
    }) {
        return Ok(());
    }
    push_new(py, lua, obj, flags, Some(key))
}

/// Pushes a new userdata for `obj` that is not entered into the identity cache: for objects
/// that Lua code cannot meet twice (the iterators of `python.iter` loops), whose cache
/// entries would only make the cache grow.  `[-0, +1]`
pub(crate) fn push_uncached(
    py: Python<'_>,
    lua: &Lua<'_>,
    obj: &Bound<'_, PyAny>,
    flags: Flags,
) -> PyResult<()> {
    push_new(py, lua, obj, flags, None)
}

/// Pushes the userdata for a bound method `function.__get__(bound_self)`, reusing the one
/// made for an *equal* bound method (same function and `__self__`) if Lua still has it.
///
/// `obj:method()` in Lua reads `obj.method` through `__index`, and every `getattr` makes a
/// new bound method object; giving each its own userdata would allocate a userdata per call,
/// keep the method alive until Lua collects it, and let it pile up in Python's young
/// generation.  Equal bound methods behave identically, so one userdata serves them all.
pub(crate) fn push_bound_method(
    py: Python<'_>,
    lua: &Lua<'_>,
    method: &Bound<'_, PyAny>,
    function: *mut pyffi::PyObject,
    bound_self: *mut pyffi::PyObject,
) -> PyResult<()> {
    // Low bits 0b111 never occur in `identity_key`s (no protocol combines all three flags).
    let key = (((bound_self as usize).rotate_left(17) ^ function as usize) | 7) as i64;
    let same_method = |ud: &PyUserdata| {
        ud.obj
            .as_ref()
            .and_then(|o| crate::pyhelpers::bound_method_parts(o.as_ptr()))
            .is_some_and(|parts| parts == (function, bound_self))
    };
    if push_cached(lua, key, same_method) {
        return Ok(());
    }
    let flags = if has_getitem(method)? {
        Flags::AS_INDEX
    } else {
        Flags::NONE
    };
    push_new(py, lua, method, flags, Some(key))
}

/// Pushes the identity cache's userdata for `key` if it passes `matches`.  `[-0, +(1|0)]`
#[inline]
fn push_cached(lua: &Lua<'_>, key: i64, matches: impl FnOnce(&PyUserdata) -> bool) -> bool {
    let st = lua.st;
    if st.push_reference(lua.core.refs.get().identity_cache) != LUA_TTABLE {
        // Replaced through the debug library; `push_new` reports it.
        st.pop(1);
        return false;
    }
    st.push_integer(key);
    st.raw_get(-2);
    if let Some(ud) = userdata_mut(st, -1)
        && matches(ud)
    {
        st.remove(-2);
        return true;
    }
    st.pop(2);
    false
}

/// Creates a userdata for `obj` and caches it under `key` (if any).  `[-0, +1]`
fn push_new(
    py: Python<'_>,
    lua: &Lua<'_>,
    obj: &Bound<'_, PyAny>,
    flags: Flags,
    key: Option<i64>,
) -> PyResult<()> {
    let st = lua.st;
    // Lua code can reach both registry entries through `debug.getregistry()`; the raw
    // accesses below need them to be tables.
    let refs = lua.core.refs.get();
    if st.push_reference(refs.pobject_metatable) != LUA_TTABLE {
        st.pop(1);
        return Err(registry_entry_replaced(py, "metatable of Python objects"));
    }
    st.pop(1);
    if st.push_reference(refs.identity_cache) != LUA_TTABLE {
        st.pop(1);
        return Err(registry_entry_replaced(py, "cache of Python objects"));
    }
    let mut data = NewUserdata {
        obj: obj.as_ptr(),
        core: lua.core,
        flags,
        key,
    };
    if let Some(create) = lua.core.can_create() {
        // SAFETY: the GIL is held (`py`), the cache is on top and `data` is valid.
        unsafe { init_userdata(st, create, &data) };
        st.remove(-2);
    } else {
        // [cache] -> [ud]
        let status = st.protected(Op(new_userdata_op), (&raw mut data).cast(), 1, 1, 0);
        if status != LUA_OK {
            return Err(lua.pop_error(py, status));
        }
    }
    if key.is_some() {
        lua.core.cache_entries.set(lua.core.cache_entries.get() + 1);
    }
    Ok(())
}

/// The error for a registry entry of ours that Lua code replaced (`debug.getregistry()`).
fn registry_entry_replaced(py: Python<'_>, what: &str) -> PyErr {
    crate::exceptions::lua_error(
        py,
        format!("the {what} was replaced in the Lua registry; Python objects cannot be passed"),
    )
}

/// `[cache] -> [ud]`, run protected when creating objects may raise.  Registered with the
/// runtime's state (`StateConfig::registered`, see `State::push_registered`).
pub(crate) unsafe extern "C-unwind" fn new_userdata_op(l: *mut lua_State) -> c_int {
    // SAFETY: an op called by lua_pcall from `push_new` with [data, cache]; this frame owns
    // nothing that needs dropping.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    let data = st.to_pushed_pointer(1).cast::<NewUserdata>();
    // SAFETY: the data lives on the caller's stack for the protected call; the caller holds
    // the GIL; the cache table is at index 2.
    unsafe { init_userdata(st, raise.create(), &*data) };
    1
}

/// Creates the userdata and registers it.  Stack: `[..., cache] -> [..., cache, ud]`.
/// Allocates (may raise on memory errors, with `create` from a protected call); owns nothing
/// that would need dropping when it does: the object's reference is moved into the userdata
/// before the last allocation.
///
/// # Safety
/// The GIL is held and the cache table is on top of the stack.
unsafe fn init_userdata(st: State, create: CanCreate, data: &NewUserdata) {
    let ud = st
        .new_finalized_userdata(create, size_of::<PyUserdata>())
        .cast::<PyUserdata>();
    // SAFETY: the GIL is held (caller).
    let py = unsafe { Python::assume_attached() };
    // SAFETY: `data.obj` is a live object.
    let obj = unsafe { Bound::<PyAny>::from_borrowed_ptr(py, data.obj) }.unbind();
    // SAFETY: the core outlives its userdata.
    let slot = unsafe { (*data.core).pyrefs.insert(py, obj.as_ptr()) };
    // SAFETY: `ud` is fresh userdata memory of the right size and alignment.
    unsafe {
        ptr::write(
            ud,
            PyUserdata {
                magic: MAGIC,
                obj: Some(obj),
                core: data.core,
                flags: data.flags,
                slot,
            },
        )
    };
    // SAFETY: the core is alive.
    let refs = unsafe { (*data.core).refs.get() };
    st.push_reference(refs.pobject_metatable);
    st.set_metatable(-2);
    if let Some(key) = data.key {
        st.push_integer(key);
        st.push_value(-2);
        // An integer key is always valid.
        st.raw_set_checked(create.grow(), -4);
    }
}

/// Finalizes the userdata at `idx` (its `__gc`), if it is one of ours: releases the object
/// and its slot.  Idempotent.
pub(crate) fn finalize_at(py: Python<'_>, st: State, idx: c_int) {
    let Some(ud) = userdata_mut(st, idx) else {
        return;
    };
    let Some(obj) = ud.obj.take() else {
        return;
    };
    // SAFETY: the core outlives its userdata.
    let core = unsafe { &*ud.core };
    core.pyrefs.remove(py, ud.slot);
    // The object's `__del__` may run Lua code: `ud` is not used after this.
    drop(obj);
}

/// The destructor of Python object userdata on Luau (`State::set_userdata_destructor`; the
/// other flavours call `__gc`).  It runs inside Luau's garbage collector, often without the
/// GIL: it only moves the object's reference into the runtime's queue of deferred releases
/// (runtime/deferred.rs), which the runtime empties where Python code may run.
///
/// # Safety
/// Called by Luau with the memory of a userdata made by `init_userdata`.
pub(crate) unsafe extern "C" fn destroy_userdata(_l: *mut lua_State, ud: *mut std::ffi::c_void) {
    let ud = ud.cast::<PyUserdata>();
    // SAFETY: the memory of one of our userdata (the tag is ours), initialised by
    // `init_userdata` before any allocation could run the collector; checked anyway.
    let ud = unsafe { &mut *ud };
    if ud.magic != MAGIC {
        return;
    }
    // Finalized by hand (`__gc` called from Lua) if there is no object left.
    if let Some(obj) = ud.obj.take() {
        // SAFETY: the core outlives its userdata.
        unsafe { &*ud.core }.deferred.push(obj, ud.slot);
    }
}
