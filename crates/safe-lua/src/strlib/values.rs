//! Pushing the values of a match: `push_captures` / `push_onecapture` of the C library.

use std::ffi::c_int;

use lua_patterns::{Capture, Match};

use super::dialect::DIALECT;
use super::{Pinned, raise_match_error};
use crate::{CanRaise, State};

/// Which values of a match are pushed.
#[derive(Clone, Copy)]
pub(super) enum Values {
    /// `string.find`'s, after the two positions: the captures only (`push_captures(ms,
    /// NULL, 0)`).
    Captures,
    /// Those of `string.match`, of gmatch's iterator and the arguments of a gsub function:
    /// the captures, or the whole match when the pattern has none.
    Match,
}

/// Pushes the values of `m`, a match in `subject` (which `pin` holds), raising the C
/// library's error ("invalid capture index", "unfinished capture") at the first value that
/// has one.  Returns how many were pushed.
pub(super) fn push_values(
    st: State,
    raise: CanRaise,
    subject: &[u8],
    pin: Pinned,
    m: &Match,
    which: Values,
) -> c_int {
    let count = match which {
        Values::Captures => m.captures.len(),
        Values::Match => m.value_count(),
    };
    // At most `lua_patterns::MAX_CAPTURES`.
    let count = c_int::try_from(count).unwrap_or(0);
    st.check_stack(raise, count, c"too many captures");
    for i in 0..count {
        let value = match which {
            Values::Captures => m.find_capture(DIALECT, i as usize),
            Values::Match => m.value(DIALECT, i as usize),
        };
        match value {
            Ok(Capture::Str { start, end }) => {
                st.push_bytes(raise.create(), subject.get(start..end).unwrap_or_default());
                // A collection step may have run finalizers: is `subject` still there?
                if i + 1 < count {
                    pin.check(st, raise);
                }
            }
            Ok(Capture::Position(position)) => st.push_integer(position as i64),
            Err(e) => raise_match_error(st, raise, e),
        }
    }
    count
}

/// Pushes `values(0)`, the key of a gsub replacement table.
pub(super) fn push_first(st: State, raise: CanRaise, subject: &[u8], m: &Match) {
    match m.value(DIALECT, 0) {
        Ok(Capture::Str { start, end }) => {
            st.push_bytes(raise.create(), subject.get(start..end).unwrap_or_default())
        }
        Ok(Capture::Position(position)) => st.push_integer(position as i64),
        Err(e) => raise_match_error(st, raise, e),
    }
}
