//! Captures of one match, and fetching them with the C code's rules
//! (`push_onecapture`/`get_onecapture`, `push_captures`).

use crate::dialect::Dialect;
use crate::error::{MatchError, PatternError};

/// `LUA_MAXCAPTURES`, the same in every flavour.
pub const MAX_CAPTURES: usize = 32;

/// `CAP_UNFINISHED`: a capture opened but not yet closed.
pub(crate) const CAP_UNFINISHED: isize = -1;
/// `CAP_POSITION`: a position capture `()`.
pub(crate) const CAP_POSITION: isize = -2;

/// One capture slot as the C `MatchState` keeps it: start offset and length, or one of
/// the markers `CAP_UNFINISHED`/`CAP_POSITION`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RawCapture {
    pub(crate) init: usize,
    pub(crate) len: isize,
}

/// A capture's value, as the C code would push it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capture {
    /// A string capture (or the whole match): the byte range `start..end` of the subject.
    Str {
        /// Offset of its first byte (0-based).
        start: usize,
        /// Offset just past its last byte.
        end: usize,
    },
    /// A position capture `()`: the 1-based position, as the Lua integer pushed.
    Position(usize),
}

/// The captures of a successful match: fixed-size, no heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Captures {
    pub(crate) level: usize,
    pub(crate) list: [RawCapture; MAX_CAPTURES],
}

impl Default for Captures {
    fn default() -> Self {
        Captures {
            level: 0,
            list: [RawCapture::default(); MAX_CAPTURES],
        }
    }
}

impl Captures {
    /// The number of captures in the pattern that were opened (`ms->level`): what
    /// `string.find` returns after the two positions.
    pub fn len(&self) -> usize {
        self.level
    }

    /// Whether the pattern opened no capture.
    pub fn is_empty(&self) -> bool {
        self.level == 0
    }

    /// `push_onecapture(ms, i, s, e)` / `get_onecapture`: capture `i` (0-based) of a match
    /// of `whole` (`start..end`).  With no captures at all, index 0 is the whole match.
    ///
    /// Errors, as raised by the C code at the moment the value is pushed:
    /// "invalid capture index[ %N]" when `i` is out of range, "unfinished capture" when the
    /// capture was never closed (`("a"):match("(a")`).
    pub fn get(
        &self,
        dialect: Dialect,
        i: usize,
        whole: (usize, usize),
    ) -> Result<Capture, MatchError> {
        if i >= self.level {
            if i == 0 {
                return Ok(Capture::Str {
                    start: whole.0,
                    end: whole.1,
                });
            }
            let n = if dialect.numbered_capture_error() {
                Some(i as i32 + 1)
            } else {
                None
            };
            return Err(PatternError::InvalidCaptureIndex(n).into());
        }
        let c = self.list[i];
        match c.len {
            CAP_UNFINISHED => Err(PatternError::UnfinishedCapture.into()),
            CAP_POSITION => Ok(Capture::Position(c.init + 1)),
            len => Ok(Capture::Str {
                start: c.init,
                end: c.init + len as usize,
            }),
        }
    }
}

/// The result of one successful match: the matched range and the captures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// Offset of the first matched byte (0-based; `string.find` returns `start + 1`).
    pub start: usize,
    /// Offset just past the match (`string.find` returns `end`).
    pub end: usize,
    /// The captures.
    pub captures: Captures,
}

impl Match {
    /// Number of values `string.match`, `gmatch`'s iterator and a gsub replacement function
    /// receive (`push_captures(ms, s, e)`): the captures, or the whole match when the
    /// pattern has none.
    pub fn value_count(&self) -> usize {
        if self.captures.level == 0 {
            1
        } else {
            self.captures.level
        }
    }

    /// Value `i` of those [`value_count`](Self::value_count) values (`push_onecapture`),
    /// with its errors; the glue pushes `0..value_count()` in order and raises the first
    /// error.  Also the key of a gsub table replacement (`i == 0`).
    pub fn value(&self, dialect: Dialect, i: usize) -> Result<Capture, MatchError> {
        self.captures.get(dialect, i, (self.start, self.end))
    }

    /// Capture `i` of the values `string.find` returns after the two positions
    /// (`push_captures(ms, NULL, 0)`): `0..captures.len()`, never the whole match.
    pub fn find_capture(&self, dialect: Dialect, i: usize) -> Result<Capture, MatchError> {
        debug_assert!(i < self.captures.level);
        self.captures.get(dialect, i, (self.start, self.end))
    }

    /// The whole match as a capture value.
    pub fn whole(&self) -> Capture {
        Capture::Str {
            start: self.start,
            end: self.end,
        }
    }
}
