//! `string.find` and `string.match` (`str_find_aux`).

use std::ffi::c_int;

use lua_patterns::{Captures, Match, MatchError};
use mlua_sys as ffi;

use super::dialect::{DIALECT, SPECIALS_RULE};
use super::values::push_values;
use super::{Pinned, Poll, args, check_c_stack, pure, raise_match_error, raise_panicked};
use crate::{CanRaise, State};

/// `string.find(s, pattern [, init [, plain]])`.
pub(super) unsafe extern "C-unwind" fn find(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua, as `find_aux` requires.
    unsafe { find_aux(l, true) }
}

/// `string.match(s, pattern [, init])`.
pub(super) unsafe extern "C-unwind" fn str_match(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua, as `find_aux` requires.
    unsafe { find_aux(l, false) }
}

/// # Safety
/// Called by Lua as a C function (directly by `find` or `str_match`).
#[inline(always)]
unsafe fn find_aux(l: *mut ffi::lua_State, find: bool) -> c_int {
    // SAFETY: Lua calls C functions with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: a C function called by Lua.  Its frame (and the helpers it calls with `raise`)
    // holds only plain data, and nothing between here and Lua catches unwinding: the matcher
    // runs inside `pure`, which calls no Lua.
    let raise = unsafe { CanRaise::assume() };
    check_c_stack(st, raise);
    let pattern_converted = st.type_of(2) != ffi::LUA_TSTRING;
    // SAFETY: the strings stay in slots 1 and 2 while they are used: `pin` checks slot 1
    // after every call that could run Lua code (a collection step's finalizers).
    let subject = unsafe { st.check_bytes(raise, 1) };
    // SAFETY: as above; nothing that could run Lua code happens before the match.
    let pattern = unsafe { st.check_bytes(raise, 2) };
    let pin = Pinned::new(1, subject);
    if pattern_converted {
        pin.check(st, raise);
    }
    let init = args::find_init(st, raise);
    let plain = find && st.to_bool(4);
    let mut poll = Poll::new(st);
    // (The match is written in place: it is large, and copies of it showed in profiles.)
    let mut found = Ok(None);
    if let Err(panicked) = pure(|| found = search(subject, pattern, init, find, plain, &mut poll)) {
        raise_panicked(st, raise, panicked);
    }
    let m = match &found {
        Ok(Some(m)) => m,
        Ok(None) => {
            st.push_nil();
            return 1;
        }
        Err(e) => raise_match_error(st, raise, *e),
    };
    if find {
        st.push_integer(m.start as i64 + 1);
        st.push_integer(m.end as i64);
        let count = m.captures.len();
        2 + push_values(st, raise, subject, pin, count, |i| {
            m.find_capture(DIALECT, i)
        })
    } else {
        push_values(st, raise, subject, pin, m.value_count(), |i| {
            m.value(DIALECT, i)
        })
    }
}

/// The search of `str_find_aux`: a plain one when asked for (or when the pattern has no
/// special characters), with the C library's `memchr`; otherwise the matcher.
fn search(
    subject: &[u8],
    pattern: &[u8],
    init: Option<i64>,
    find: bool,
    plain: bool,
    poll: &mut Poll<'_>,
) -> Result<Option<Match>, MatchError> {
    if find && (plain || lua_patterns::has_no_specials(SPECIALS_RULE, pattern)) {
        let Some(start) = lua_patterns::find_start(DIALECT, init, subject.len()) else {
            return Ok(None); // start after the subject's end (Lua 5.2+)
        };
        let found = lua_patterns::plain_find_with(subject, pattern, start, poll, memchr)?;
        return Ok(found.map(|start| Match {
            start,
            end: start + pattern.len(),
            captures: Captures::default(),
        }));
    }
    lua_patterns::str_match(DIALECT, subject, pattern, init, poll)
}

/// `memchr`: the first bytes inline (a frequent byte is near: no call), then the C library's
/// (vectorised for the machine it runs on; `lua-patterns`' portable one is slower on long
/// scans for a rare byte).
fn memchr(hay: &[u8], c: u8) -> Option<usize> {
    const INLINE: usize = 16;
    let (head, tail) = hay.split_at(hay.len().min(INLINE));
    if let Some(i) = head.iter().position(|&b| b == c) {
        return Some(i);
    }
    // SAFETY: `tail` is readable for its length; memchr reads no further.
    let found = unsafe { libc::memchr(tail.as_ptr().cast(), c_int::from(c), tail.len()) };
    (!found.is_null()).then(|| head.len() + (found as usize - tail.as_ptr() as usize))
}
