//! `string.gmatch`: the iterator is a C closure with the subject, the pattern and the
//! iteration state as upvalues, as in C.  The state is what the flavour keeps: an integer
//! (the next start) in Lua 5.1, 5.2 and LuaJIT; a userdata (start and end of the last match)
//! from Lua 5.3 on.

use std::ffi::c_int;
use std::mem::size_of;

use lua_patterns::GmatchState;
use mlua_sys as ffi;

use super::dialect::DIALECT;
use super::values::push_values;
use super::{
    Pinned, Poll, args, check_c_stack, pure, raise_match_error, raise_panicked, raise_tampered,
};
use crate::sys::lua_upvalueindex;
use crate::{CanRaise, State};

/// The iteration state of Lua 5.3+ (a full userdata).  `magic` tells it from other userdata
/// of the same size that a script might put in its place (`debug.setupvalue`).
#[repr(C)]
struct StateBox {
    magic: u64,
    src: u64,
    /// `u64::MAX`: none.
    lastmatch: u64,
}

const MAGIC: u64 = 0x676d_6174_6368_5f73; // "gmatch_s"

/// `string.gmatch(s, pattern [, init])`.
pub(super) unsafe extern "C-unwind" fn gmatch(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls C functions with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: a C function called by Lua, whose frame holds only plain data.
    let raise = unsafe { CanRaise::assume() };
    // SAFETY: only the length is used, right away.
    let len = unsafe { st.check_bytes(raise, 1) }.len();
    // SAFETY: not used (the check is the point).
    let _ = unsafe { st.check_bytes(raise, 2) };
    let init = args::gmatch_init(st, raise);
    st.set_top(2); // keep the strings as upvalues
    push_state(st, raise, GmatchState::new(DIALECT, len, init));
    st.push_cclosure(raise.create(), gmatch_aux, 3);
    1
}

/// The iterator.
unsafe extern "C-unwind" fn gmatch_aux(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls C functions with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: a C function called by Lua, whose frame holds only plain data; the matcher runs
    // inside `pure`, which calls no Lua.
    let raise = unsafe { CanRaise::assume() };
    check_c_stack(st, raise);
    let (subject_idx, pattern_idx) = (lua_upvalueindex(1), lua_upvalueindex(2));
    if st.type_of(subject_idx) != ffi::LUA_TSTRING || st.type_of(pattern_idx) != ffi::LUA_TSTRING {
        raise_tampered(st, raise);
    }
    // SAFETY: strings (no conversion), kept by the closure; `pin` checks the subject after
    // every call that could run Lua code.
    let (subject, pattern) = unsafe { (st.to_bytes(subject_idx), st.to_bytes(pattern_idx)) };
    let pin = Pinned::new(subject_idx, subject);
    let mut state = read_state(st, raise);
    let mut poll = Poll::new(st);
    let mut found = Ok(None);
    if let Err(panicked) = pure(|| found = state.next(DIALECT, subject, pattern, &mut poll)) {
        raise_panicked(st, raise, panicked);
    }
    let m = match &found {
        Ok(Some(m)) => m,
        Ok(None) => return 0,
        Err(e) => raise_match_error(st, raise, *e),
    };
    // As in C, the state advances before the values are pushed (and fail, maybe).
    write_state(st, raise, state);
    push_values(st, raise, subject, pin, m.value_count(), |i| {
        m.value(DIALECT, i)
    })
}

/// Pushes a new iteration state.
fn push_state(st: State, raise: CanRaise, state: GmatchState) {
    if DIALECT.uses_lastmatch() {
        let p = st
            .new_userdata(raise.create(), size_of::<StateBox>())
            .cast::<StateBox>();
        // SAFETY: a fresh userdata of the right size, aligned for any Lua value (8 bytes).
        unsafe { p.write(to_box(state)) };
    } else {
        st.push_integer(state.src as i64);
    }
}

/// The iterator's state (upvalue 3); an error if a script replaced it with something else.
fn read_state(st: State, raise: CanRaise) -> GmatchState {
    let idx = lua_upvalueindex(3);
    if DIALECT.uses_lastmatch() {
        let Some(p) = state_box(st, idx) else {
            raise_tampered(st, raise)
        };
        // SAFETY: one of our boxes (`state_box`), alive as the closure's upvalue.
        let b = unsafe { p.read() };
        GmatchState {
            src: usize::try_from(b.src).unwrap_or(usize::MAX),
            lastmatch: usize::try_from(b.lastmatch)
                .ok()
                .filter(|&e| e != usize::MAX),
        }
    } else {
        match st.to_integer_x(idx) {
            // (A negative start, set by a script, finds nothing.)
            Some(src) => GmatchState {
                src: usize::try_from(src).unwrap_or(usize::MAX),
                lastmatch: None,
            },
            None => raise_tampered(st, raise),
        }
    }
}

/// Stores the state after a match.
fn write_state(st: State, raise: CanRaise, state: GmatchState) {
    let idx = lua_upvalueindex(3);
    if DIALECT.uses_lastmatch() {
        // (Looked up again: `read_state`'s pointer is not trusted across the match, during
        // which the owner's checker ran Python code.)
        let Some(p) = state_box(st, idx) else {
            raise_tampered(st, raise)
        };
        // SAFETY: one of our boxes (`state_box`), alive as the closure's upvalue.
        unsafe { p.write(to_box(state)) };
    } else {
        st.push_integer(state.src as i64);
        st.replace(idx);
    }
}

fn to_box(state: GmatchState) -> StateBox {
    StateBox {
        magic: MAGIC,
        src: state.src as u64,
        lastmatch: state.lastmatch.map_or(u64::MAX, |e| e as u64),
    }
}

/// The state box at `idx`, if that is one.
fn state_box(st: State, idx: c_int) -> Option<*mut StateBox> {
    if st.type_of(idx) != ffi::LUA_TUSERDATA || st.raw_len(idx) != size_of::<StateBox>() {
        return None;
    }
    let p = st.to_userdata(idx).cast::<StateBox>();
    // SAFETY: a full userdata of the box's size (aligned for any Lua value).
    (!p.is_null() && unsafe { (*p).magic } == MAGIC).then_some(p)
}
