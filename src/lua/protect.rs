//! Protected execution of Lua operations that can raise, and the traceback message handler.
//!
//! An unprotected Lua error has no `lua_pcall` to return to and ends in the panic handler,
//! which aborts the process (upstream lupa does this for `t[nan] = 1` and friends).  Every
//! operation started from Python that can raise therefore runs as one of the C functions
//! below, through `State::protected`.  The functions touch only the Lua stack and plain data
//! behind a light userdata, so an error unwinding out of them skips no Rust destructor.

use std::ffi::{c_int, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{State, ffi};

/// A C function that performs one protected operation.  It receives a light userdata (its
/// data) as argument 1, followed by the operands.
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
    /// A full garbage collection (finalizers may raise on Lua 5.1-5.3): `[] -> []`.
    pub(crate) const GC_COLLECT: Op = Op(op_gc_collect);
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
    traceback_handler,
];

/// Data of `Op::PUSH_BYTES`.
#[repr(C)]
pub(crate) struct ByteSlice {
    pub(crate) ptr: *const u8,
    pub(crate) len: usize,
}

impl State {
    /// Runs `op` inside `lua_pcall` on the top `nargs` values, with `data` as its first
    /// argument.  With `traceback`, errors get the Lua traceback appended (see
    /// `traceback_handler`).  Returns the `lua_pcall` status; on error, the error object is on
    /// top.  `[-nargs, +(nresults|1), -]`
    pub(crate) fn protected(
        self,
        op: Op,
        data: *mut c_void,
        nargs: c_int,
        nresults: c_int,
        traceback: bool,
    ) -> c_int {
        let base = self.top() - nargs + 1;
        let mut func = base;
        if traceback {
            self.push_cfunction_noalloc(traceback_handler);
            self.insert(base);
            func += 1;
        }
        self.push_cfunction_noalloc(op.0);
        self.insert(func);
        self.push_light_userdata(data);
        self.insert(func + 1);
        let status = self.pcall(nargs + 1, nresults, if traceback { base } else { 0 });
        if traceback {
            self.remove(base);
        }
        status
    }
}

/// The data pointer of an op (argument 1).
#[inline(always)]
fn op_data<T>(st: State) -> *mut T {
    st.to_userdata(1).cast()
}

// Each op below: called by lua_pcall from `State::protected` with a light userdata at index 1.

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

unsafe extern "C-unwind" fn op_gc_collect(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state.
    let st = unsafe { State::new(l) };
    st.gc(ffi::LUA_GCCOLLECT);
    0
}

/// The address of the C function behind the standard `debug.traceback`, recorded when the
/// first state is opened (all states of this module share the same statically linked Lua).
static STANDARD_TRACEBACK: AtomicUsize = AtomicUsize::new(0);

pub(super) fn remember_standard_traceback(f: Option<ffi::lua_CFunction>) {
    if let Some(f) = f {
        STANDARD_TRACEBACK.store(f as usize, Ordering::Relaxed);
    }
}

/// Message handler for calls from Python: formats the error with the *current* global
/// `debug.traceback`, as upstream lupa does (which passes `debug.traceback` itself as the
/// handler).  Looking it up only when an error happens keeps successful calls cheap.
///
/// If Lua code removed `debug` or `debug.traceback`, the message is left alone; if it replaced
/// `debug.traceback`, the replacement formats the message.  The standard function is told to
/// start one level up, so that this handler does not show in the traceback.
pub(crate) unsafe extern "C-unwind" fn traceback_handler(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state and the error object at index 1.
    let st = unsafe { State::new(l) };
    st.set_top(1);
    st.push_globals();
    if st.get_field(-1, c"debug") != ffi::LUA_TTABLE {
        st.set_top(1);
        return 1;
    }
    if st.get_field(-1, c"traceback") != ffi::LUA_TFUNCTION {
        st.set_top(1);
        return 1;
    }
    let standard = st.to_cfunction(-1).map(|f| f as usize)
        == Some(STANDARD_TRACEBACK.load(Ordering::Relaxed));
    st.push_value(1);
    if standard {
        st.push_integer(2);
        st.call(2, 1);
    } else {
        st.call(1, 1);
    }
    1
}
