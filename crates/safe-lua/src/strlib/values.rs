//! Pushing the values of a match: `push_captures` / `push_onecapture` of the C library.

use std::ffi::c_int;

use lua_patterns::{Capture, MatchError};

use super::{Pinned, raise_match_error};
use crate::{CanRaise, State};

/// Pushes `count` values of a match in `subject` (which `pin` holds), fetched with `value`,
/// raising the C library's error ("invalid capture index", "unfinished capture") at the
/// first value that has one.  Returns `count`.
pub(super) fn push_values(
    st: State,
    raise: CanRaise,
    subject: &[u8],
    pin: Pinned,
    count: usize,
    value: impl Fn(usize) -> Result<Capture, MatchError>,
) -> c_int {
    // At most `lua_patterns::MAX_CAPTURES`.
    let count = c_int::try_from(count).unwrap_or(0);
    st.check_stack(raise, count, c"too many captures");
    for i in 0..count {
        push_value(st, raise, subject, value(i as usize));
        // A collection step may have run finalizers: is `subject` still there?
        if i + 1 < count {
            pin.check(st, raise);
        }
    }
    count
}

/// Pushes one value (a string from `subject`, or a position), or raises its error.
pub(super) fn push_value(
    st: State,
    raise: CanRaise,
    subject: &[u8],
    value: Result<Capture, MatchError>,
) {
    match value {
        Ok(Capture::Str { start, end }) => {
            st.push_bytes(raise.create(), subject.get(start..end).unwrap_or_default())
        }
        Ok(Capture::Position(position)) => st.push_integer(position as i64),
        Err(e) => raise_match_error(st, raise, e),
    }
}
