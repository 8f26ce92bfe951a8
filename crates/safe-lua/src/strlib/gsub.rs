//! `string.gsub` (`str_gsub`, `add_value`, `add_s`).
//!
//! The C function's loop tries the pattern at each position and replaces each match; here
//! the loop steps from match to match with `GmatchState::next` (anchored: one `match_at`),
//! which visits the same positions in the same order, under the same rule for empty matches
//! (Lua 5.3+ skip one that ends where the previous match ended), and copies the text between
//! matches in one piece.  Replacement functions and tables are called from this C function's
//! frame, unprotected, as in C; replacement strings are expanded by `lua_patterns::add_string`
//! into the buffer's free space (measured first when it might not fit).

use std::ffi::c_int;

use lua_patterns::{
    GmatchState, GsubHandler, Interrupt, Match, MatchError, PatternError, Replaced, gsub_limit,
    match_at,
};
use mlua_sys as ffi;

use super::buffer::Buffer;
use super::dialect::DIALECT;
use super::values::{Values, push_first, push_values};
use super::{Pinned, Poll, args, or_raise, pure, raise_match_error};
use crate::{CanRaise, Message, State};

/// Matches replaced between two polls of the limits by the loop itself (the matcher polls
/// every `CHECK_INTERVAL` steps of one search; many short searches need this too).
const POLL_MATCHES: u64 = 64;

/// `string.gsub(s, pattern, repl [, n])`.
pub(super) unsafe extern "C-unwind" fn gsub(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls C functions with a valid state.
    let st = unsafe { State::new(l) };
    // SAFETY: a C function called by Lua.  Its frame (and the helpers it calls with `raise`)
    // holds only plain data, and nothing between here and Lua catches unwinding: the matcher
    // runs inside `pure`, which calls no Lua.
    let raise = unsafe { CanRaise::assume() };
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

    let max_s = gsub_limit(DIALECT, Some(max_n), subject.len());
    let anchor = pattern.first() == Some(&b'^');
    let pat = if anchor { &pattern[1..] } else { pattern };
    let mut poll = Poll::new(st);
    let mut state = GmatchState {
        src: 0,
        lastmatch: None,
    };
    let mut n: u64 = 0;
    let mut copied = 0; // the subject up to here is in `out`
    let mut changed = false;
    while n < max_s {
        let found = pure(|| {
            if anchor {
                match_at(DIALECT, subject, pat, 0, &mut poll)
            } else {
                state.next(DIALECT, subject, pat, &mut poll)
            }
        });
        let Some(m) = or_raise(st, raise, found) else {
            break;
        };
        let gap = subject.get(copied..m.start).unwrap_or_default();
        if out.add(st, raise, gap) {
            pins.check(st, raise, &out);
        }
        n += 1;
        changed |= match repl {
            Some(news) => expand(st, raise, &mut out, &pins, subject, &m, news),
            None => call_replacement(st, raise, tr, &mut out, &pins, subject, &m),
        };
        copied = m.end;
        if anchor {
            break;
        }
        if n.is_multiple_of(POLL_MATCHES)
            && or_raise(st, raise, pure(|| Ok::<_, MatchError>(poll.interrupted())))
        {
            raise_match_error(st, raise, MatchError::Interrupted);
        }
    }
    if DIALECT.gsub_tracks_changes() && !changed {
        st.push_value(1); // Lua 5.4+: the subject itself
    } else {
        out.add(st, raise, subject.get(copied..).unwrap_or_default());
        st.push_bytes(raise.create(), out.as_slice());
    }
    st.push_integer(n as i64);
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

/// `add_s`: appends the expansion of the replacement string `news` for `m`.
fn expand(
    st: State,
    raise: CanRaise,
    out: &mut Buffer,
    pins: &Args,
    subject: &[u8],
    m: &Match,
    news: &[u8],
) -> bool {
    loop {
        let spare = out.spare();
        let room = spare.len();
        let written = pure(|| {
            let mut writer = SpareWriter { spare, needed: 0 };
            lua_patterns::add_string(DIALECT, subject, m, news, &mut writer).map(|()| writer.needed)
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
fn call_replacement(
    st: State,
    raise: CanRaise,
    tr: c_int,
    out: &mut Buffer,
    pins: &Args,
    subject: &[u8],
    m: &Match,
) -> bool {
    if tr == ffi::LUA_TFUNCTION {
        st.push_value(3);
        let n = push_values(st, raise, subject, pins.subject, m, Values::Match);
        st.call(raise, n, 1);
    } else {
        push_first(st, raise, subject, m);
        st.get_table(raise, 3);
    }
    pins.check(st, raise, out);
    let whole = subject.get(m.start..m.end).unwrap_or_default();
    if !st.to_bool(-1) {
        st.pop(1);
        if out.add(st, raise, whole) {
            pins.check(st, raise, out);
        }
        return false; // keep the original text
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
