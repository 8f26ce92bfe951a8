//! `string.gsub` (`str_gsub`, `add_value`, `add_s`).
//!
//! `lua_patterns::GsubLoop` is the C function's loop, one match at a time; this C function
//! drives it and makes each replacement in its own frame: the text before the match and
//! expanded replacement strings go to the buffer, replacement functions and tables are called
//! (indexed) unprotected, as in C, so errors and tracebacks are the C library's.  Replacement
//! strings are expanded by `add_string` into the buffer's free space, measured first when
//! it might not fit.

use std::ffi::c_int;

use lua_patterns::{GsubHandler, GsubLoop, GsubMatch, Match, MatchError, PatternError, Replaced};
use mlua_sys as ffi;

use super::buffer::Buffer;
use super::dialect::DIALECT;
use super::values::{push_value, push_values};
use super::{Pinned, Poll, args, check_c_stack, or_raise, pure, raise_match_error, raise_panicked};
use crate::{CanRaise, Message, State};

/// `string.gsub(s, pattern, repl [, n])`.
pub(super) unsafe extern "C-unwind" fn gsub(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls C functions with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: a C function called by Lua.  Its frame (and the helpers it calls with `raise`)
    // holds only plain data, and nothing between here and Lua catches unwinding: the matcher
    // runs inside `pure`, which calls no Lua.
    let raise = unsafe { CanRaise::assume() };
    check_c_stack(st, raise);
    // SAFETY: the strings stay in slots 1 and 2 (and 3) while they are used: `Args::check`
    // runs after every call that could run Lua code.
    let subject = unsafe { st.check_bytes(raise, 1) };
    // SAFETY: as above.
    let pattern = unsafe { st.check_bytes(raise, 2) };
    let tr = st.type_of(3);
    // (Read before the type of argument 3 is checked, as in C.)
    let max_n = args::gsub_max(st, raise, subject.len());
    let repl = match tr {
        // SAFETY: as above (a number is converted in place, as C does at the first match).
        ffi::LUA_TSTRING | ffi::LUA_TNUMBER => unsafe { st.to_lstring(raise.create(), 3) },
        ffi::LUA_TFUNCTION | ffi::LUA_TTABLE => None,
        _ => args::bad_replacement(st, raise),
    };
    let pins = Args {
        subject: Pinned::new(1, subject),
        pattern: Pinned::new(2, pattern),
        repl: repl.map(|r| Pinned::new(3, r)),
    };
    let mut out = Buffer::new(st);
    pins.check(st, raise, &out);

    let mut poll = Poll::new(st);
    let mut it = GsubLoop::new(DIALECT, subject, pattern, Some(max_n), &mut poll);
    let mut changed = false;
    loop {
        let mut step = Ok(None);
        if let Err(panicked) = pure(|| step = it.next_match()) {
            raise_panicked(st, raise, panicked);
        }
        let m = match step {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => raise_match_error(st, raise, e),
        };
        if out.add(st, raise, subject.get(m.gap..m.start).unwrap_or_default()) {
            pins.check(st, raise, &out);
        }
        changed |= match repl {
            Some(news) => expand(st, raise, &mut out, &pins, &it, news),
            None => call_replacement(st, raise, tr, &mut out, &pins, subject, &it, m),
        };
    }
    if DIALECT.gsub_tracks_changes() && !changed {
        st.push_value(1); // Lua 5.4+: the subject itself
    } else {
        out.add(st, raise, subject.get(it.rest()..).unwrap_or_default());
        st.push_bytes(raise.create(), out.as_slice());
    }
    st.push_integer(it.count() as i64);
    2
}

/// The strings the loop reads: the arguments, in their stack slots.
struct Args {
    subject: Pinned,
    pattern: Pinned,
    repl: Option<Pinned>,
}

impl Args {
    /// After Lua code may have run: raises an error if it replaced an argument or the
    /// buffer (see the module docs of `strlib`).
    fn check(&self, st: State, raise: CanRaise, out: &Buffer) {
        self.subject.check(st, raise);
        self.pattern.check(st, raise);
        if let Some(repl) = self.repl {
            repl.check(st, raise);
        }
        out.check(st, raise);
    }
}

/// `add_s`: appends the expansion of the replacement string `news` for the current match.
fn expand<I: lua_patterns::Interrupt + ?Sized>(
    st: State,
    raise: CanRaise,
    out: &mut Buffer,
    pins: &Args,
    it: &GsubLoop<'_, '_, I>,
    news: &[u8],
) -> bool {
    loop {
        let spare = out.spare();
        let room = spare.len();
        let written = pure(|| {
            let mut writer = SpareWriter { spare, needed: 0 };
            it.add_string(news, &mut writer).map(|()| writer.needed)
        });
        let needed = or_raise(st, raise, written);
        if needed <= room {
            out.commit(needed);
            return true;
        }
        // It did not fit (nothing was committed): make room, and expand again.
        out.grow(st, raise, needed);
        pins.check(st, raise, out);
    }
}

/// Writes into a buffer's free space while it fits, and counts what it would need.
struct SpareWriter<'a> {
    spare: &'a mut [u8],
    needed: usize,
}

impl GsubHandler for SpareWriter<'_> {
    fn output(&mut self, bytes: &[u8]) -> Result<(), MatchError> {
        let end = self.needed.saturating_add(bytes.len());
        if let Some(room) = self.spare.get_mut(self.needed..end) {
            room.copy_from_slice(bytes);
        }
        self.needed = end;
        Ok(())
    }

    fn replace(&mut self, _: &Match) -> Result<Replaced, MatchError> {
        unreachable!("add_string makes no callback")
    }
}

/// `add_value` for a function or table: calls it (indexes it) and appends the result, or
/// the match itself for nil and false.  Returns whether the text changed.
#[allow(clippy::too_many_arguments)]
fn call_replacement<I: lua_patterns::Interrupt + ?Sized>(
    st: State,
    raise: CanRaise,
    tr: c_int,
    out: &mut Buffer,
    pins: &Args,
    subject: &[u8],
    it: &GsubLoop<'_, '_, I>,
    m: GsubMatch,
) -> bool {
    if tr == ffi::LUA_TFUNCTION {
        st.push_value(3);
        let n = push_values(st, raise, subject, pins.subject, it.value_count(), |i| {
            it.value(i)
        });
        st.call(raise, n, 1);
    } else {
        push_value(st, raise, subject, it.value(0));
        st.get_table(raise, 3);
    }
    pins.check(st, raise, out);
    if !st.to_bool(-1) {
        st.pop(1);
        // Keep the original text.
        if out.add(st, raise, subject.get(m.start..m.end).unwrap_or_default()) {
            pins.check(st, raise, out);
        }
        return false;
    }
    if !st.is_string(-1) {
        let e = PatternError::InvalidReplacementValue(st.type_name(st.type_of(-1)));
        st.error_at_caller(raise, &Message::new(format_args!("{e}")));
    }
    let converted = st.type_of(-1) != ffi::LUA_TSTRING;
    // SAFETY: the string stays on top of the stack until it is popped below; appending
    // allocates only to grow the buffer, which frees nothing that was reachable.
    let value = unsafe { st.to_lstring(raise.create(), -1) }.unwrap_or_default();
    let grew = out.add(st, raise, value);
    st.pop(1);
    if converted || grew {
        pins.check(st, raise, out);
    }
    true
}
