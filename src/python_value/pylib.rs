//! The `python` table in Lua (also `require "python"`): `none`, `eval`, `builtins`,
//! `as_attrgetter`, `as_itemgetter`, `as_function`, `iter`, `iterex`, `enumerate`, `args` and
//! `set_overflow_handler`.
//!
//! The functions are plain C functions (no closure to allocate per runtime); they find the
//! runtime's `Core` in the registry (`CORE_KEY`).
//!
//! Safety of every `unsafe extern "C-unwind" fn` here: it is a `lua_CFunction`, called only by
//! Lua with a valid state of a runtime whose lock the calling thread holds.

use std::ffi::{CStr, c_int, c_void};

use pyo3::prelude::*;
use pyo3::types::PyTuple;
use safe_lua::sys::{
    LUA_OK, LUA_REGISTRYINDEX, LUA_TFUNCTION, LUA_TLIGHTUSERDATA, LUA_TNIL, LUA_TTABLE,
    lua_CFunction, lua_State, lua_upvalueindex,
};
use safe_lua::{CanRaise, Message, Op, Raise, State, run_c_function};

use super::args::PyArguments;
use super::bridge::{Fail, call_python, with_python};
use crate::convert::{Flags, unpack_table, userdata};
use crate::runtime::{Core, Lua, is_live_core, remember_core};

static BUILTINS: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
static EVAL: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// Creates the `python` table, makes it a global and `package.loaded.python`.  Runs during
/// initialisation (hence `CanRaise`: nothing raises then).
pub(crate) fn open(py: Python<'_>, lua: &Lua<'_>, raise: CanRaise) -> PyResult<()> {
    let st = lua.st;
    st.push_static(&CORE_KEY);
    st.push_light_userdata(raise.grow(), lua.core as *const Core as *mut c_void);
    st.raw_set(raise, LUA_REGISTRYINDEX);
    remember_core(lua.core);
    let functions: [(&'static CStr, lua_CFunction); 8] = [
        (c"as_attrgetter", as_attrgetter),
        (c"as_itemgetter", as_itemgetter),
        (c"as_function", as_function),
        (c"iter", iter),
        (c"iterex", iterex),
        (c"enumerate", enumerate),
        (c"args", args),
        (c"set_overflow_handler", set_overflow_handler),
    ];
    st.new_table(raise.create(), 0, 11);
    for (name, f) in functions {
        st.push_named_cfunction(raise.create(), f, name);
        st.set_field(raise, -2, name);
    }
    st.push_reference(lua.core.refs.get().none);
    st.set_field(raise, -2, c"none");
    // Neither has `__getitem__`: both use the attribute protocol.  (Looked up once per
    // process: importing costs more than the rest of a runtime's set-up.)
    if lua.core.options.register_eval {
        let eval = EVAL.import(py, "builtins", "eval")?;
        userdata::push_pyobject(py, lua, eval, Flags::NONE)?;
        st.set_field(raise, -2, c"eval");
    }
    if lua.core.options.register_builtins {
        let builtins = BUILTINS
            .get_or_try_init(py, || py.import("builtins").map(|m| m.into_any().unbind()))?;
        userdata::push_pyobject(py, lua, builtins.bind(py), Flags::NONE)?;
        st.set_field(raise, -2, c"builtins");
    }

    st.push_globals();
    st.push_value(-2);
    st.set_field(raise, -2, c"python");
    st.pop(1);
    st.push_globals();
    if st.get_field(raise, -1, c"package") == LUA_TTABLE
        && st.get_field(raise, -1, c"loaded") == LUA_TTABLE
    {
        st.push_value(-4);
        st.set_field(raise, -2, c"python");
    }
    st.set_top(0);
    Ok(())
}

/// The registry key under which `open` stores the runtime's core (the address of a static,
/// unique to this module).
static CORE_KEY: u8 = 0;

/// The runtime core, for a `python.*` function; an error if Lua code changed its registry
/// entry (`debug.getregistry()`): only the addresses of live cores are trusted.
/// `[-0, +0, -]`
fn core<'a>(st: State) -> Result<&'a Core, Raise> {
    st.push_static(&CORE_KEY);
    st.raw_get(LUA_REGISTRYINDEX);
    let ptr = if st.type_of(-1) == LUA_TLIGHTUSERDATA {
        st.to_userdata(-1)
    } else {
        std::ptr::null_mut()
    };
    st.pop(1);
    if ptr.is_null() || !is_live_core(ptr as usize) {
        return Err(Raise::Message(Message::new(format_args!(
            "the python module cannot find its runtime (registry entry changed)"
        ))));
    }
    // SAFETY: the address of a live core (checked above); cores outlive their Lua state.
    Ok(unsafe { &*(ptr as *const Core) })
}

/// Argument 1 as a Python object: our userdata, or a `python.as_function` closure.
fn python_argument<'py>(py: Python<'py>, st: State) -> Result<Bound<'py, PyAny>, Raise> {
    if let Some(obj) = userdata::object_at(py, st, 1) {
        return obj.map_err(|_| Raise::bad_argument(1, "deleted python object"));
    }
    userdata::as_function_target(py, st, 1)
        .ok_or_else(|| Raise::bad_argument(1, "not a python object"))
}

/// Checks that argument 1 is a Python object (see `python_argument`).
fn check_python_argument(core: &Core, st: State) -> Result<(), Raise> {
    with_python(core, st, |py, _lua| {
        python_argument(py, st)?;
        Ok(0)
    })
    .map(drop)
}

/// Rejects arguments beyond `max`.
fn check_argument_count(st: State, max: c_int) -> Result<(), Raise> {
    if st.top() > max {
        Err(Raise::bad_argument(max + 1, "invalid arguments"))
    } else {
        Ok(())
    }
}

/// `python.as_attrgetter`/`as_itemgetter`: the argument wrapped with `flags`.
///
/// # Safety
/// Only from a C function that Lua called with `l` (see `run_c_function`).
unsafe fn with_flags(l: *mut lua_State, flags: Flags) -> c_int {
    // SAFETY: per this function's contract.
    unsafe {
        run_c_function(l, |st| {
            check_argument_count(st, 1)?;
            with_python(core(st)?, st, |py, lua| {
                let obj = python_argument(py, st)?;
                userdata::push_pyobject(py, lua, &obj, flags)?;
                Ok(1)
            })
        })
    }
}

unsafe extern "C-unwind" fn as_attrgetter(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe { with_flags(l, Flags::NONE) }
}

unsafe extern "C-unwind" fn as_itemgetter(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe { with_flags(l, Flags::AS_INDEX) }
}

/// `python.as_function(obj)`: a real Lua function that calls `obj`.  A C closure with the
/// object's userdata and the marker of closures that stand for Python objects as upvalues
/// (`userdata::push_function_marker`): converted back to Python, it is `obj` again.
unsafe extern "C-unwind" fn as_function(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            check_argument_count(st, 1)?;
            let core = core(st)?;
            check_python_argument(core, st)?;
            if userdata::userdata_at(st, 1).is_none() {
                // An as_function closure: reuse its userdata.
                st.get_upvalue(1, 1);
                st.replace(1);
            }
            st.set_top(1);
            userdata::push_function_marker(st);
            // [ud, marker] -> [closure].  Creating the closure can raise (a memory limit, or a
            // finalizer's error on Lua 5.1-5.3): then it runs protected, never in this frame.
            if let Some(create) = core.can_create() {
                st.push_cclosure(create, as_function_call, 2);
                return Ok(1);
            }
            let f = as_function_call as *mut c_void;
            match st.protected(Op::CLOSURE, f, 2, 1, 0) {
                LUA_OK => Ok(1),
                _ => Err(Raise::Error),
            }
        })
    }
}

/// The error of a `python.*` function whose helper's registry entry a script removed (Lua
/// 5.1/LuaJIT, see `State::push_registered`).
fn registry_tampered() -> Fail {
    Fail::Lua(Raise::Message(Message::new(format_args!(
        "the python module cannot find its helper function (registry entry removed)"
    ))))
}

/// The body of `python.as_function` closures: upvalue 1 is the object's userdata.
unsafe extern "C-unwind" fn as_function_call(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            let upvalue = lua_upvalueindex(1);
            let ud = match userdata::userdata_at(st, upvalue) {
                Some(ud) if ud.alive => ud,
                Some(_) => return Err(Raise::bad_argument(1, "deleted python object")),
                None => return Err(Raise::bad_argument(1, "not a python object")),
            };
            with_python(ud.core(), st, |py, lua| {
                // An owned reference: the call may run Lua code that finalizes the userdata
                // (through `debug.getupvalue` on this closure) and drops the last one.
                let callable = userdata::object_at(py, st, upvalue).expect("checked")?;
                Ok(call_python(py, lua, &callable, 1)?)
            })
        })
    }
}

/// `python.iter`/`iterex`/`enumerate`: the iterator function, state and control value.
///
/// # Safety
/// Only from a C function that Lua called with `l` (see `run_c_function`).
unsafe fn start_iteration(l: *mut lua_State, flags: Flags) -> c_int {
    // SAFETY: per this function's contract.
    unsafe {
        run_c_function(l, |st| {
            check_argument_count(st, 1)?;
            let core = core(st)?;
            with_python(core, st, |py, lua| {
                let iterator = python_argument(py, st)?.try_iter()?;
                if !st.push_registered(iter_next, core.can_create()) {
                    return Err(registry_tampered());
                }
                userdata::push_uncached(py, lua, iterator.as_any(), flags)?;
                st.push_nil();
                Ok(3)
            })
        })
    }
}

unsafe extern "C-unwind" fn iter(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe { start_iteration(l, Flags::NONE) }
}

unsafe extern "C-unwind" fn iterex(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe { start_iteration(l, Flags::UNPACK_TUPLE) }
}

/// `python.enumerate(obj[, start])`: the loop's control value is the previous index.
unsafe extern "C-unwind" fn enumerate(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            check_argument_count(st, 2)?;
            let core = core(st)?;
            let start = if st.top() >= 2 {
                safe_lua::flavour::enumerate_start(st, 2).ok_or_else(|| {
                    let type_name = st.type_name(st.type_of(2));
                    Raise::Message(Message::new(format_args!(
                        "Could not convert {type_name} to string"
                    )))
                })?
            } else {
                0
            };
            with_python(core, st, |py, lua| {
                let iterator = python_argument(py, st)?.try_iter()?;
                if !st.push_registered(iter_next, core.can_create()) {
                    return Err(registry_tampered());
                }
                userdata::push_uncached(py, lua, iterator.as_any(), Flags::ENUMERATOR)?;
                st.push_integer(start.wrapping_sub(1));
                Ok(3)
            })
        })
    }
}

/// The step function of `python.iter`/`iterex`/`enumerate` loops: `(iterator, control)`.
/// A plain C function (no closure to allocate per runtime): the runtime comes from the
/// iterator's userdata.  Registered by `open_state` (`StateConfig::extra_functions`).
pub(crate) unsafe extern "C-unwind" fn iter_next(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            let ud = match userdata::userdata_at(st, 1) {
                Some(ud) if ud.alive => ud,
                Some(_) => return Err(Raise::bad_argument(1, "deleted python object")),
                None => return Err(Raise::bad_argument(1, "not a python object")),
            };
            let core = ud.core();
            let flags = ud.flags;
            let index = if flags.contains(Flags::ENUMERATOR) {
                // As upstream: `lua_tointeger(control) + 1`, so a missing or non-numeric
                // control value counts as 0.
                safe_lua::flavour::enumerate_start(st, 2).unwrap_or(0)
            } else {
                0
            };
            with_python(core, st, |py, lua| {
                let iterator = userdata::object_at(py, st, 1).expect("checked")?;
                // Lua code can call the step function with any Python object.  (Inside the
                // `unsafe` block above: the GIL is held and the object is live.)
                if pyo3::ffi::PyIter_Check(iterator.as_ptr()) == 0 {
                    return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                        "'{}' object is not an iterator",
                        iterator.get_type().name()?
                    ))
                    .into());
                }
                let Some(item) = next_item(py, &iterator)? else {
                    // One nil, as upstream (a `for` loop ends on it either way).
                    lua.st.push_nil();
                    return Ok(1);
                };
                Ok(step_values(py, lua, flags, index, &item)?)
            })
        })
    }
}

fn next_item<'py>(
    py: Python<'py>,
    iterator: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    // SAFETY: the GIL is held; `iterator` is a live object.  PyIter_Next returns a new
    // reference, or NULL at the end (no exception) or on error (exception set).
    let item = unsafe { pyo3::ffi::PyIter_Next(iterator.as_ptr()) };
    if item.is_null() {
        return match PyErr::take(py) {
            Some(err) => Err(err),
            None => Ok(None),
        };
    }
    // SAFETY: an owned, non-null reference.
    Ok(Some(unsafe { Bound::from_owned_ptr(py, item) }))
}

/// Pushes one iteration step.  The first value must not be nil (that ends a Lua `for`), so a
/// `None` there becomes `python.none`; further values are plain.
fn step_values(
    py: Python<'_>,
    lua: &Lua<'_>,
    flags: Flags,
    index: i64,
    item: &Bound<'_, PyAny>,
) -> PyResult<c_int> {
    use crate::convert::NoneAs;
    let unpack = flags.contains(Flags::UNPACK_TUPLE) || lua.core.options.unpack_returned_tuples;
    let mut count = 0;
    let mut first = NoneAs::PythonNone;
    if flags.contains(Flags::ENUMERATOR) {
        lua.st.push_integer(index.wrapping_add(1));
        count += 1;
        first = NoneAs::Nil;
    }
    match item.cast::<PyTuple>() {
        Ok(tuple) if unpack => {
            lua.ensure_stack(py, tuple.len() + 1)?;
            for (i, value) in tuple.iter().enumerate() {
                lua.push_as(py, &value, if i == 0 { first } else { NoneAs::Nil })?;
            }
            count += tuple.len() as c_int;
        }
        _ => {
            lua.push_as(py, item, first)?;
            count += 1;
        }
    }
    Ok(count)
}

/// `python.args{...}`: positional and keyword arguments for a Python call.
unsafe extern "C-unwind" fn args(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            if st.type_of(1) != LUA_TTABLE {
                let got = st.type_name(st.type_of(1));
                return Err(Raise::BadArgument(
                    1,
                    Message::new(format_args!("table expected, got {got}")),
                ));
            }
            let core = core(st)?;
            with_python(core, st, |py, lua| {
                let arguments = PyArguments::new(py, unpack_table(py, lua, 1)?)?;
                let arguments = Bound::new(py, arguments)?;
                userdata::push_pyobject(py, lua, arguments.as_any(), Flags::NONE)?;
                Ok(1)
            })
        })
    }
}

/// `python.set_overflow_handler(h)`: nil, a Lua function or a Python object.
unsafe extern "C-unwind" fn set_overflow_handler(l: *mut lua_State) -> c_int {
    // SAFETY: called by Lua as a C function.
    unsafe {
        run_c_function(l, |st| {
            let core = core(st)?;
            match st.type_of(1) {
                LUA_TNIL | LUA_TFUNCTION => {}
                _ => check_python_argument(core, st)?,
            }
            st.set_top(1);
            let slot = core.refs.get().overflow_handler;
            match st.set_registry_slot(slot, core.can_grow()) {
                LUA_OK => Ok(0),
                _ => Err(Raise::Error),
            }
        })
    }
}
