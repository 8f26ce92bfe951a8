//! Why a match stopped without a result.
//!
//! Errors are plain values that own nothing (no `String`), so that the glue can hold them
//! in frames that a Lua error may later cross, and format them with the exact C text only
//! when it raises them.

use core::fmt;

/// A failed operation: an error the C code would raise, an interrupt, or the caller's own
/// error travelling back out of a gsub callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchError {
    /// The C implementation raises this error (`luaL_error`/`lj_err_caller`).  Its
    /// `Display` is the message without position; the C code raises it with `luaL_error`
    /// (level 1), which prefixes "chunk:line: " when string.find & co. were called from a
    /// Lua function, and nothing when called from C.
    Pattern(PatternError),
    /// The interrupt check returned true: the caller decides what to raise.
    Interrupted,
    /// The caller's [`GsubHandler`](crate::GsubHandler) failed (e.g. the replacement
    /// function raised a Lua error, caught by the glue): passed through unchanged, the
    /// glue keeps the error value itself.
    Callback,
}

/// The errors of the pattern functions, with the dialect-dependent parts resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternError {
    /// "malformed pattern (ends with '%')"
    EndsWithPercent,
    /// "malformed pattern (missing ']')"
    MissingBracket,
    /// `%b` without two characters: "unbalanced pattern" (5.1, LuaJIT) or
    /// "malformed pattern (missing arguments to '%b')".
    MissingBalanceArguments {
        /// The 5.1/LuaJIT wording.
        old: bool,
    },
    /// "missing '[' after '%f' in pattern"
    MissingFrontierBracket,
    /// "invalid capture index" or "invalid capture index %N" (N as in the C code: for a
    /// back-reference `%0` in a pattern, N is 0).
    InvalidCaptureIndex(Option<i32>),
    /// "invalid pattern capture" (a `)` without an open capture)
    InvalidPatternCapture,
    /// "unfinished capture" (a capture still open at the end of a match is fetched)
    UnfinishedCapture,
    /// "too many captures" (more than 32)
    TooManyCaptures,
    /// "pattern too complex" (recursion depth)
    TooComplex,
    /// "invalid use of '%' in replacement string"
    InvalidPercentInReplacement,
    /// "invalid replacement value (a TYPE)": the value returned by a gsub function or
    /// table is neither a string, a number, nil nor false.  Built by the glue, which knows
    /// the type name (`luaL_typename`).
    InvalidReplacementValue(&'static str),
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            PatternError::EndsWithPercent => f.write_str("malformed pattern (ends with '%')"),
            PatternError::MissingBracket => f.write_str("malformed pattern (missing ']')"),
            PatternError::MissingBalanceArguments { old: true } => {
                f.write_str("unbalanced pattern")
            }
            PatternError::MissingBalanceArguments { old: false } => {
                f.write_str("malformed pattern (missing arguments to '%b')")
            }
            PatternError::MissingFrontierBracket => {
                f.write_str("missing '[' after '%f' in pattern")
            }
            PatternError::InvalidCaptureIndex(None) => f.write_str("invalid capture index"),
            PatternError::InvalidCaptureIndex(Some(n)) => {
                write!(f, "invalid capture index %{n}")
            }
            PatternError::InvalidPatternCapture => f.write_str("invalid pattern capture"),
            PatternError::UnfinishedCapture => f.write_str("unfinished capture"),
            PatternError::TooManyCaptures => f.write_str("too many captures"),
            PatternError::TooComplex => f.write_str("pattern too complex"),
            PatternError::InvalidPercentInReplacement => {
                f.write_str("invalid use of '%' in replacement string")
            }
            PatternError::InvalidReplacementValue(t) => {
                write!(f, "invalid replacement value (a {t})")
            }
        }
    }
}

impl fmt::Display for MatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatchError::Pattern(e) => e.fmt(f),
            MatchError::Interrupted => f.write_str("interrupted"),
            MatchError::Callback => f.write_str("error in replacement callback"),
        }
    }
}

impl From<PatternError> for MatchError {
    fn from(e: PatternError) -> Self {
        MatchError::Pattern(e)
    }
}

impl core::error::Error for PatternError {}
impl core::error::Error for MatchError {}
