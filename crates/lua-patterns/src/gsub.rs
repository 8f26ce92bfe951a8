//! `string.gsub`: the replacement loop (`str_gsub`), replacement strings (`add_s`) and the
//! hand-off of function/table replacements to the caller (`add_value`).

use crate::captures::{Capture, Captures, Match};
use crate::dialect::{Dialect, LimitType};
use crate::error::{MatchError, PatternError};
use crate::interrupt::Interrupt;
use crate::matcher::{MatchState, NO_MATCH, effective_pattern};

/// gsub's third argument, as far as this crate is concerned.
#[derive(Clone, Copy, Debug)]
pub enum Replacement<'r> {
    /// A string (or a number, converted to a string by the glue with `lua_tolstring`, as
    /// the C code does): expanded by this crate, `%0`-`%9` and `%%`.
    Str(&'r [u8]),
    /// A function or a table: each match is handed to [`GsubHandler::replace`].
    Callback,
}

/// What the caller's replacement produced for one match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replaced {
    /// The function or table gave nil or false: keep the matched text (gsub outputs it).
    Keep,
    /// The handler has written the replacement to the output itself.
    Written,
}

/// The caller's side of gsub: the output buffer, and function/table replacements.
pub trait GsubHandler {
    /// Append bytes to the result.
    fn output(&mut self, bytes: &[u8]) -> Result<(), MatchError>;

    /// Function/table replacement of match `m` (only called for
    /// [`Replacement::Callback`]).  The C code (`add_value`) does, and the handler should:
    ///
    /// * function: call it with the values `m.value(d, i)` for `i` in
    ///   `0..m.value_count()` (the first error of those is raised before the call);
    /// * table: index it with `m.value(d, 0)` (a position capture is an integer key);
    /// * then, if the result is nil or false, return [`Replaced::Keep`]; if it is a string
    ///   or a number, output it (a number as `lua_tolstring` formats it) and return
    ///   [`Replaced::Written`]; otherwise fail with
    ///   `PatternError::InvalidReplacementValue(luaL_typename)`;
    /// * a Lua error inside the call: keep it and return [`MatchError::Callback`].
    fn replace(&mut self, m: &Match) -> Result<Replaced, MatchError>;
}

/// The outcome of a gsub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GsubResult {
    /// The number of matches replaced (gsub's second result).
    pub count: u64,
    /// Whether any replacement changed the text (5.4+ return the subject itself when not;
    /// in other versions this is informational).  A string replacement always counts as a
    /// change, a function/table result only when not nil/false.
    pub changed: bool,
}

/// The maximum number of replacements from gsub's optional fourth argument, as the C code
/// of `dialect` sees it (`max_s`), or `u64::MAX` for "unlimited".
///
/// `max_n` is the `lua_Integer` the C code got from `luaL_optinteger`; the default is
/// `#s + 1`.
pub fn gsub_limit(dialect: Dialect, max_n: Option<i64>, subject_len: usize) -> u64 {
    let default = subject_len as i64 + 1;
    match dialect.gsub_limit_type() {
        LimitType::Int => {
            // (int)luaL_optinteger(...), default (int)(srcl + 1): truncation to 32 bits.
            let v = max_n.unwrap_or(default) as i32;
            if v <= 0 { 0 } else { v as u64 }
        }
        // (size_t)luaL_optinteger(...): a negative count becomes huge.
        LimitType::SizeT => max_n.unwrap_or(default) as u64,
        LimitType::Integer => max_n.unwrap_or(default).max(0) as u64,
    }
}

/// `string.gsub(s, p, repl, n)`: writes the result to `handler` and returns the count.
///
/// On error nothing is undone: the glue discards the partial output, like the C buffer.
pub fn gsub<I: Interrupt + ?Sized, H: GsubHandler + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    pattern: &[u8],
    repl: Replacement<'_>,
    max_n: Option<i64>,
    handler: &mut H,
    interrupt: &mut I,
) -> Result<GsubResult, MatchError> {
    let mut it = GsubLoop::new(dialect, subject, pattern, max_n, interrupt);
    let mut changed = false;
    while let Some(m) = it.next_match()? {
        handler.output(&subject[m.gap..m.start])?;
        changed |= match repl {
            Replacement::Str(news) => {
                it.add_string(news, handler)?;
                true
            }
            Replacement::Callback => match handler.replace(&it.to_match())? {
                Replaced::Keep => {
                    handler.output(&subject[m.start..m.end])?; // keep original text
                    false
                }
                Replaced::Written => true,
            },
        };
    }
    handler.output(&subject[it.rest()..])?;
    Ok(GsubResult {
        count: it.count(),
        changed,
    })
}

/// A match that [`GsubLoop::next_match`] hands out: the caller outputs `subject[gap..start]`
/// (text that stays), then the replacement of `subject[start..end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GsubMatch {
    /// Where the unchanged text before the match begins.
    pub gap: usize,
    /// The match's first byte.
    pub start: usize,
    /// Just past the match.
    pub end: usize,
}

/// `str_gsub`'s loop one match at a time, for a caller that makes the replacements itself
/// between the steps (a glue that calls Lua functions, which must not run inside this
/// crate's frames).  [`gsub`] is this loop with a [`GsubHandler`].
///
/// The matcher's state (and its interrupt budget) lives on across the steps, as the C
/// `MatchState` does.  After `next_match` returns `None`, the caller outputs
/// `subject[rest()..]`.
pub struct GsubLoop<'a, 'i, I: Interrupt + ?Sized> {
    ms: MatchState<'a, 'i, I>,
    anchor: bool,
    lastmatch_rule: bool,
    max_s: u64,
    n: u64,
    /// Where the next attempt is made.
    src: usize,
    lastmatch: Option<usize>,
    /// The subject before this offset has been handed out (as gaps or matches).
    pending: usize,
    /// The match handed out by the last `next_match`, not yet stepped over.
    current: Option<(usize, usize)>,
    done: bool,
}

impl<'a, 'i, I: Interrupt + ?Sized> GsubLoop<'a, 'i, I> {
    /// The loop of `string.gsub(subject, pattern, repl, max_n)` (`max_n`: the
    /// `luaL_optinteger` value of argument 4, see [`gsub_limit`]).
    pub fn new(
        dialect: Dialect,
        subject: &'a [u8],
        pattern: &'a [u8],
        max_n: Option<i64>,
        interrupt: &'i mut I,
    ) -> Self {
        let mut pat = effective_pattern(dialect, pattern);
        let anchor = pat.first() == Some(&b'^');
        if anchor {
            pat = &pat[1..]; // skip anchor character
        }
        GsubLoop {
            ms: MatchState::new(dialect, subject, pat, interrupt),
            anchor,
            lastmatch_rule: dialect.uses_lastmatch(),
            max_s: gsub_limit(dialect, max_n, subject.len()),
            n: 0,
            src: 0,
            lastmatch: None,
            pending: 0,
            current: None,
            done: false,
        }
    }

    /// The next match to replace, or `None` when the loop ends.
    pub fn next_match(&mut self) -> Result<Option<GsubMatch>, MatchError> {
        if let Some((s, e)) = self.current.take() {
            self.step_over(s, e);
        }
        let len = self.ms.src.len();
        while !self.done && self.n < self.max_s {
            let e = self.ms.match_here(self.src)?;
            let e = (e != NO_MATCH).then_some(e);
            let src = self.src;
            match e {
                Some(e) if !self.lastmatch_rule || Some(e) != self.lastmatch => {
                    self.n += 1;
                    self.current = Some((src, e));
                    return Ok(Some(GsubMatch {
                        gap: self.pending,
                        start: src,
                        end: e,
                    }));
                }
                _ if src < len => self.src += 1, // otherwise, skip one character
                _ => self.done = true,           // end of subject
            }
            if self.anchor {
                self.done = true;
            }
        }
        Ok(None)
    }

    /// After the replacement of `s..e`: where the loop goes on.
    fn step_over(&mut self, s: usize, e: usize) {
        if self.lastmatch_rule {
            self.src = e;
            self.lastmatch = Some(e);
            self.pending = e;
        } else if e > s {
            // non-empty match: skip it
            self.src = e;
            self.pending = e;
        } else {
            // empty match: its position's byte stays, and the search goes on after it
            self.pending = s;
            if s < self.ms.src.len() {
                self.src = s + 1;
            } else {
                self.done = true;
            }
        }
        if self.anchor {
            self.done = true;
        }
    }

    /// Where the unchanged rest of the subject begins (once `next_match` returned `None`).
    pub fn rest(&self) -> usize {
        match self.current {
            Some((s, e)) if self.lastmatch_rule || e > s => e,
            Some((s, _)) => s,
            None => self.pending,
        }
    }

    /// The number of matches handed out.
    pub fn count(&self) -> u64 {
        self.n
    }

    /// The current match (the one the last `next_match` returned) as a [`Match`].
    pub fn to_match(&self) -> Match {
        let (s, e) = self.current.unwrap_or((self.pending, self.pending));
        self.ms.to_match(s, e)
    }

    /// The number of values of the current match (see [`Match::value_count`]).
    pub fn value_count(&self) -> usize {
        self.ms.caps.level.max(1)
    }

    /// Value `i` of the current match (see [`Match::value`]).
    pub fn value(&self, i: usize) -> Result<Capture, MatchError> {
        let whole = self.current.unwrap_or((self.pending, self.pending));
        self.ms.caps.get(self.ms.dialect, i, whole)
    }

    /// [`add_string`] for the current match.
    pub fn add_string<H: GsubHandler + ?Sized>(
        &self,
        news: &[u8],
        handler: &mut H,
    ) -> Result<(), MatchError> {
        let whole = self.current.unwrap_or((self.pending, self.pending));
        expand(
            self.ms.dialect,
            self.ms.src,
            &self.ms.caps,
            whole,
            news,
            handler,
        )
    }
}

/// `add_s`: expand the replacement string `news` for match `m` of `subject`.
///
/// `%0` is the whole match, `%1`-`%9` the captures (`%1` is the whole match when the
/// pattern has no captures), `%%` a `%`.  Any other `%x`: Lua 5.1 and LuaJIT output `x`
/// (a final lone `%` outputs `\0`), the others raise "invalid use of '%' in replacement
/// string".  Position captures are written as decimal integers.
pub fn add_string<H: GsubHandler + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    m: &Match,
    news: &[u8],
    handler: &mut H,
) -> Result<(), MatchError> {
    expand(
        dialect,
        subject,
        &m.captures,
        (m.start, m.end),
        news,
        handler,
    )
}

/// [`add_string`] on the matcher's captures (no copy of the capture array per match).
fn expand<H: GsubHandler + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    caps: &Captures,
    whole: (usize, usize),
    news: &[u8],
    handler: &mut H,
) -> Result<(), MatchError> {
    let lax = dialect.lax_replacement_escapes();
    let mut rest = news;
    while let Some(k) = rest.iter().position(|&b| b == b'%') {
        handler.output(&rest[..k])?;
        // The byte after the '%'; past the end, C reads the terminating '\0'.
        let c = rest.get(k + 1).copied().unwrap_or(0);
        if c == b'0' {
            handler.output(&subject[whole.0..whole.1])?;
        } else if c.is_ascii_digit() {
            match caps.get(dialect, (c - b'1') as usize, whole)? {
                Capture::Str { start, end } => handler.output(&subject[start..end])?,
                Capture::Position(pos) => {
                    let mut buf = [0u8; 20];
                    handler.output(format_decimal(pos as u64, &mut buf))?;
                }
            }
        } else if c == b'%' || lax {
            handler.output(&[c])?;
        } else {
            return Err(PatternError::InvalidPercentInReplacement.into());
        }
        rest = rest.get(k + 2..).unwrap_or(&[]);
    }
    handler.output(rest)
}

/// Decimal digits of `v`, written at the end of `buf` (no heap).
fn format_decimal(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_decimal;

    #[test]
    fn decimal() {
        let mut b = [0u8; 20];
        assert_eq!(format_decimal(0, &mut b), b"0");
        assert_eq!(format_decimal(1234567, &mut b), b"1234567");
        assert_eq!(format_decimal(u64::MAX, &mut b), b"18446744073709551615");
    }
}
