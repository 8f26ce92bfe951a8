//! Protected execution of Lua operations that can raise.
//!
//! An unprotected Lua error has no `lua_pcall` to return to and ends in the panic handler,
//! which aborts the process.  Every operation that can raise and is started outside Lua
//! therefore runs as one of the C functions below, through `State::protected`.  The functions
//! touch only the Lua stack and plain data behind a data pointer, so an error unwinding out of
//! them skips no Rust destructor: they hold `CanRaise`.

use std::ffi::{c_int, c_void};

use mlua_sys as ffi;

use crate::token::{CanGrow, CanRaise};
use crate::{Marker, State};

/// A C function that performs one protected operation.  It receives its data pointer as
/// argument 1 (`State::push_pointer`), followed by the operands.  Ops defined outside this
/// crate must be in `StateConfig::registered` (see `State::push_registered`), and claim
/// `CanRaise` only as `op_context` does here.
#[derive(Clone, Copy)]
pub struct Op(pub ffi::lua_CFunction);

impl Op {
    /// `t[k]` with metamethods: `[t, k] -> [v]`.
    pub const GET_TABLE: Op = Op(op_get_table);
    /// `t[k] = v` with metamethods: `[t, k, v] -> []`.
    pub const SET_TABLE: Op = Op(op_set_table);
    /// `rawset(t, k, v)`: `[t, k, v] -> []` (raises for nil and NaN keys, and on memory).
    pub const RAW_SET: Op = Op(op_raw_set);
    /// `next(t, k)`: `[t, k] -> [k', v]`, or `[]` at the end (raises for invalid keys).
    pub const NEXT: Op = Op(op_next);
    /// Pushes the bytes of the `ByteSlice` in the data: `[] -> [s]`.
    pub const PUSH_BYTES: Op = Op(op_push_bytes);
    /// Creates a table with the `(narr, nrec)` size hints in the data: `[] -> [t]`.
    pub const NEW_TABLE: Op = Op(op_new_table);
    /// `luaL_ref`: `[v] -> [ref]`.
    pub const REFERENCE: Op = Op(op_reference);
    /// `luaL_unref` of the reference number in the data pointer: `[] -> []` (it allocates
    /// when it has to recreate its free list entry).
    pub const UNREFERENCE: Op = Op(op_unreference);
    /// A coroutine running the function on top: `[f] -> [co]`.
    pub const NEW_COROUTINE: Op = Op(op_new_coroutine);
    /// A full garbage collection (finalizers may raise on Lua 5.1-5.3): `[] -> []`.
    pub const GC_COLLECT: Op = Op(op_gc_collect);
    /// A C closure of the `lua_CFunction` in the data pointer, with the operands as its
    /// upvalues: `[v1, ..., vn] -> [closure]`.
    pub const CLOSURE: Op = Op(op_closure);
}

/// Every `Op` function and the message handler, which `open_state` registers so that
/// `push_registered` can push them without allocating on Lua 5.1 and LuaJIT.
pub(crate) const REGISTERED_FUNCTIONS: &[ffi::lua_CFunction] = &[
    op_get_table,
    op_set_table,
    op_raw_set,
    op_next,
    op_push_bytes,
    op_new_table,
    op_reference,
    op_gc_collect,
    op_unreference,
    op_new_coroutine,
    op_closure,
    keep_error,
];

/// Data of `Op::PUSH_BYTES`.
#[repr(C)]
pub struct ByteSlice {
    pub ptr: *const u8,
    pub len: usize,
}

impl State {
    /// Runs `op` inside `lua_pcall` on the top `nargs` values, with `data` as its first
    /// argument and `msgh` as the message handler (a stack index below the arguments, or 0).
    /// Returns the `lua_pcall` status; on error, the error object is on top.  If a script
    /// removed the op's registry entry on Lua 5.1/LuaJIT (where making it again allocates),
    /// the operands are dropped and the error is `Marker::RegistryTampered`.
    /// `[-nargs, +(nresults|1), -]`
    pub fn protected(
        self,
        op: Op,
        data: *mut c_void,
        nargs: c_int,
        nresults: c_int,
        msgh: c_int,
    ) -> c_int {
        let func = self.top() - nargs + 1;
        // (Registered on first use where creating objects cannot raise, see `open_state`.)
        let create = || crate::StateData::of(self).and_then(crate::StateData::can_create);
        if !self.push_registered(op.0, None) && !self.push_registered(op.0, create()) {
            self.set_top(func - 1);
            self.push_marker(Marker::RegistryTampered);
            return ffi::LUA_ERRRUN;
        }
        self.insert(func);
        self.push_pointer(data);
        self.insert(func + 1);
        self.pcall(nargs + 1, nresults, msgh)
    }
}

impl State {
    /// Pops the top value into registry slot `slot` (a reference made at initialisation).
    /// The slot exists unless Lua code removed it through `debug.getregistry()`, and
    /// re-creating it allocates: without `grow`, the store runs protected and a failure
    /// leaves the error object on top.  Returns the status.  `[-1, +(0|1), -]`
    pub fn set_registry_slot(self, slot: c_int, grow: Option<CanGrow>) -> c_int {
        if let Some(grow) = grow {
            self.raw_set_i(grow, ffi::LUA_REGISTRYINDEX, slot as i64);
            return ffi::LUA_OK;
        }
        // [v] -> [registry, slot, v]
        self.push_value(ffi::LUA_REGISTRYINDEX);
        self.insert(-2);
        self.push_integer(slot as i64);
        self.insert(-2);
        self.protected(Op::RAW_SET, std::ptr::null_mut(), 3, 0, 0)
    }
}

/// The state and data pointer (argument 1) of an op, and the capability to raise.
///
/// # Safety
/// Only for the body of an op called by `lua_pcall` from `State::protected`, whose frames own
/// nothing that needs dropping.
#[inline(always)]
pub unsafe fn op_context<T>(l: *mut ffi::lua_State) -> (State, *mut T, CanRaise) {
    // SAFETY: called by Lua with a valid state (caller).
    let st = unsafe { State::new(l) };
    let data = st.to_pushed_pointer(1).cast();
    // SAFETY: the op owns nothing that needs dropping (caller).
    (st, data, unsafe { CanRaise::assume() })
}

// Each op below: called by lua_pcall from `State::protected` with its data at index 1.

unsafe extern "C-unwind" fn op_get_table(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    st.get_table(raise, 2);
    1
}

unsafe extern "C-unwind" fn op_set_table(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    st.set_table(raise, 2);
    0
}

unsafe extern "C-unwind" fn op_raw_set(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    st.raw_set(raise, 2);
    0
}

unsafe extern "C-unwind" fn op_next(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    if st.next(raise, 2) { 2 } else { 0 }
}

unsafe extern "C-unwind" fn op_push_bytes(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, data, raise) = unsafe { op_context::<ByteSlice>(l) };
    // SAFETY: the caller passed a ByteSlice that lives for the protected call and describes
    // readable memory.
    let bytes = unsafe { std::slice::from_raw_parts((*data).ptr, (*data).len) };
    st.push_bytes(raise.create(), bytes);
    1
}

unsafe extern "C-unwind" fn op_new_table(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, data, raise) = unsafe { op_context::<(c_int, c_int)>(l) };
    // SAFETY: the caller passed a (narr, nrec) pair that lives for the protected call.
    let (narr, nrec) = unsafe { *data };
    st.new_table(raise.create(), narr, nrec);
    1
}

unsafe extern "C-unwind" fn op_reference(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    let reference = st.reference(raise.grow());
    st.push_integer(reference as i64);
    1
}

unsafe extern "C-unwind" fn op_unreference(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, data, raise) = unsafe { op_context::<c_void>(l) };
    st.unreference(raise.grow(), data as usize as c_int);
    0
}

unsafe extern "C-unwind" fn op_new_coroutine(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    st.new_coroutine(raise.create());
    1
}

unsafe extern "C-unwind" fn op_gc_collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, _, raise) = unsafe { op_context::<()>(l) };
    st.gc_collect(raise);
    0
}

unsafe extern "C-unwind" fn op_closure(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op.
    let (st, data, raise) = unsafe { op_context::<c_void>(l) };
    // SAFETY: the caller passed a `lua_CFunction` (a non-null function pointer) as data.
    let f: ffi::lua_CFunction = unsafe { std::mem::transmute(data) };
    // [data, v1, ..., vn]
    st.push_cclosure(raise.create(), f, st.top() - 1);
    1
}

/// The message handler used when `debug.traceback` is missing: errors stay as they are.
///
/// # Safety
/// A `lua_CFunction`: only Lua calls it.
pub unsafe extern "C-unwind" fn keep_error(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state and the error object at index 1.
    let st = unsafe { State::new(l) };
    st.set_top(1);
    1
}
