//! Protected execution of Lua operations that can raise.
//!
//! An unprotected Lua error has no `lua_pcall` to return to and ends in the panic handler,
//! which aborts the process (upstream lupa does this for `t[nan] = 1` and friends).  Every
//! operation started from Python that can raise therefore runs as one of the C functions
//! below, through `State::protected`.  The functions touch only the Lua stack and plain data
//! behind a data pointer, so an error unwinding out of them skips no Rust destructor.

use std::ffi::{c_int, c_void};

use super::{State, ffi};

/// A C function that performs one protected operation.  It receives its data pointer as
/// argument 1 (`State::push_pointer`), followed by the operands.
#[derive(Clone, Copy)]
pub(crate) struct Op(pub(crate) ffi::lua_CFunction);

impl Op {
    /// `t[k]` with metamethods: `[t, k] -> [v]`.
    pub(crate) const GET_TABLE: Op = Op(op_get_table);
    /// `t[k] = v` with metamethods: `[t, k, v] -> []`.
    pub(crate) const SET_TABLE: Op = Op(op_set_table);
    /// `rawset(t, k, v)`: `[t, k, v] -> []` (raises for nil and NaN keys, and on memory).
    pub(crate) const RAW_SET: Op = Op(op_raw_set);
    /// `next(t, k)`: `[t, k] -> [k', v]`, or `[]` at the end (raises for invalid keys).
    pub(crate) const NEXT: Op = Op(op_next);
    /// Pushes the bytes of the `ByteSlice` in the data: `[] -> [s]`.
    pub(crate) const PUSH_BYTES: Op = Op(op_push_bytes);
    /// Creates a table with the `(narr, nrec)` size hints in the data: `[] -> [t]`.
    pub(crate) const NEW_TABLE: Op = Op(op_new_table);
    /// `luaL_ref`: `[v] -> [ref]`.
    pub(crate) const REFERENCE: Op = Op(op_reference);
    /// `luaL_unref` of the reference number in the data pointer: `[] -> []` (it allocates
    /// when it has to recreate its free list entry).
    pub(crate) const UNREFERENCE: Op = Op(op_unreference);
    /// A coroutine running the function on top: `[f] -> [co]`.
    pub(crate) const NEW_COROUTINE: Op = Op(op_new_coroutine);
    /// A full garbage collection (finalizers may raise on Lua 5.1-5.3): `[] -> []`.
    pub(crate) const GC_COLLECT: Op = Op(op_gc_collect);
    /// A C closure of the `lua_CFunction` in the data pointer with one upvalue:
    /// `[v] -> [closure]`.
    pub(crate) const CLOSURE_1: Op = Op(op_closure_1);
}

/// Every `Op` function and the message handler, which `open_state` registers so that
/// `push_cfunction_noalloc` can push them without allocating on Lua 5.1 and LuaJIT.
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
    op_closure_1,
    keep_error,
];

/// Data of `Op::PUSH_BYTES`.
#[repr(C)]
pub(crate) struct ByteSlice {
    pub(crate) ptr: *const u8,
    pub(crate) len: usize,
}

impl State {
    /// Runs `op` inside `lua_pcall` on the top `nargs` values, with `data` as its first
    /// argument and `msgh` as the message handler (a stack index below the arguments, or 0).
    /// Returns the `lua_pcall` status; on error, the error object is on top.
    /// `[-nargs, +(nresults|1), -]`
    pub(crate) fn protected(
        self,
        op: Op,
        data: *mut c_void,
        nargs: c_int,
        nresults: c_int,
        msgh: c_int,
    ) -> c_int {
        let func = self.top() - nargs + 1;
        self.push_cfunction_noalloc(op.0);
        self.insert(func);
        self.push_pointer(data);
        self.insert(func + 1);
        self.pcall(nargs + 1, nresults, msgh)
    }
}

impl State {
    /// Pops the top value into registry slot `slot` (a reference made at initialisation).
    /// The slot exists unless Lua code removed it through `debug.getregistry()`, and
    /// re-creating it allocates: with `protect`, the store runs protected and a failure
    /// leaves the error object on top.  Returns the status.  `[-1, +(0|1), -]`
    pub(crate) fn set_registry_slot(self, slot: c_int, protect: bool) -> c_int {
        if !protect {
            self.raw_set_i(ffi::LUA_REGISTRYINDEX, slot as i64);
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

/// The data pointer of an op (argument 1).
#[inline(always)]
fn op_data<T>(st: State) -> *mut T {
    st.to_pushed_pointer(1).cast()
}

// Each op below: called by lua_pcall from `State::protected` with its data at index 1.

unsafe extern "C-unwind" fn op_get_table(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.get_table(2);
    1
}

unsafe extern "C-unwind" fn op_set_table(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.set_table(2);
    0
}

unsafe extern "C-unwind" fn op_raw_set(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.raw_set(2);
    0
}

unsafe extern "C-unwind" fn op_next(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    if st.next(2) { 2 } else { 0 }
}

unsafe extern "C-unwind" fn op_push_bytes(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: the caller passed a ByteSlice that lives for the protected call.
    let slice = unsafe { &*op_data::<ByteSlice>(st) };
    // SAFETY: the slice describes readable memory (caller).
    st.push_bytes(unsafe { std::slice::from_raw_parts(slice.ptr, slice.len) });
    1
}

unsafe extern "C-unwind" fn op_new_table(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: the caller passed a (narr, nrec) pair that lives for the protected call.
    let (narr, nrec) = unsafe { *op_data::<(c_int, c_int)>(st) };
    st.new_table(narr, nrec);
    1
}

unsafe extern "C-unwind" fn op_reference(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    let reference = st.reference();
    st.push_integer(reference as i64);
    1
}

unsafe extern "C-unwind" fn op_unreference(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.unreference(st.to_pushed_pointer(1) as usize as c_int);
    0
}

unsafe extern "C-unwind" fn op_new_coroutine(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.new_coroutine();
    1
}

unsafe extern "C-unwind" fn op_gc_collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.gc(ffi::LUA_GCCOLLECT);
    0
}

unsafe extern "C-unwind" fn op_closure_1(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: the caller passed a `lua_CFunction` (a non-null function pointer) as data.
    let f: ffi::lua_CFunction = unsafe { std::mem::transmute(op_data::<c_void>(st)) };
    st.push_cclosure(f, 1);
    1
}

/// The message handler used when `debug.traceback` is missing: errors stay as they are.
pub(crate) unsafe extern "C-unwind" fn keep_error(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state and the error object at index 1.
    let st = unsafe { State::new(l) };
    st.set_top(1);
    1
}
