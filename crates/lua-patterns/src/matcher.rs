//! The recursive backtracking matcher: a port of `match()` and its helpers from Lua's
//! `lstrlib.c` (5.1.5-5.5.1), LuaJIT's `lib_string.c` and Luau's `lstrlib.cpp`.
//!
//! Copyright (C) 1994-2025 Lua.org, PUC-Rio; LuaJIT: Copyright (C) 2005-2025 Mike Pall;
//! Luau: Copyright (c) 2019-2025 Roblox Corporation.  All MIT licensed.
//!
//! The structure follows the C code function by function (`classend`, `singlematch`,
//! `matchbalance`, `max_expand`, `min_expand`, `start_capture`, `end_capture`,
//! `match_capture`, `match`), so that errors are raised under exactly the same conditions
//! and in the same order.  Pointers become offsets; reading one byte past the end of the
//! pattern or the subject yields `\0`, the terminator the C code reads there.  The
//! differences:
//!
//! * every pattern item visited and every subject byte examined counts towards the
//!   interrupt check ([`crate::interrupt`]), including long sets and long back-reference
//!   comparisons;
//! * errors are returned, not thrown (as a compact [`Step`] in the recursion);
//! * repetitions scan runs of one class with a loop specialised for that class (same
//!   result as calling `singlematch` per byte);
//! * Lua 5.1 gets a recursion limit ([`Dialect::max_match_depth`]).

use crate::captures::{CAP_POSITION, CAP_UNFINISHED, Captures, MAX_CAPTURES, Match, RawCapture};
use crate::class::{class_test, class_tests, match_bracket_class, match_class};
use crate::dialect::Dialect;
use crate::error::{MatchError, PatternError};
use crate::interrupt::{Budget, Interrupt};

/// The internal result of a match step: the end offset of the match, or [`NO_MATCH`]; or
/// why matching stopped.  Kept to 16 bytes (two registers) instead of
/// `Result<Option<usize>, MatchError>`, which is returned through memory: this is the
/// return value of every recursive call.
type Step = Result<usize, Fail>;

/// "No match" in a [`Step`].
pub(crate) const NO_MATCH: usize = usize::MAX;

/// A compact [`MatchError`] for the matcher's hot paths (converted at the API boundary).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    Interrupted,
    Pattern(FailCode),
}

/// The pattern errors the matcher itself raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailCode {
    EndsWithPercent,
    MissingBracket,
    MissingBalanceArguments {
        old: bool,
    },
    MissingFrontierBracket,
    /// -1: without number
    InvalidCaptureIndex(i8),
    InvalidPatternCapture,
    TooManyCaptures,
    TooComplex,
}

impl From<Fail> for MatchError {
    #[cold]
    fn from(f: Fail) -> MatchError {
        let e = match f {
            Fail::Interrupted => return MatchError::Interrupted,
            Fail::Pattern(c) => c,
        };
        MatchError::Pattern(match e {
            FailCode::EndsWithPercent => PatternError::EndsWithPercent,
            FailCode::MissingBracket => PatternError::MissingBracket,
            FailCode::MissingBalanceArguments { old } => {
                PatternError::MissingBalanceArguments { old }
            }
            FailCode::MissingFrontierBracket => PatternError::MissingFrontierBracket,
            FailCode::InvalidCaptureIndex(n) => {
                PatternError::InvalidCaptureIndex(if n < 0 { None } else { Some(n as i32) })
            }
            FailCode::InvalidPatternCapture => PatternError::InvalidPatternCapture,
            FailCode::TooManyCaptures => PatternError::TooManyCaptures,
            FailCode::TooComplex => PatternError::TooComplex,
        })
    }
}

/// Shorthand for a pattern error in a [`Step`].
#[inline(always)]
fn fail<T>(code: FailCode) -> Result<T, Fail> {
    Err(Fail::Pattern(code))
}

/// The state of one match (`MatchState`): subject, pattern, captures, depth, budget.
pub(crate) struct MatchState<'a, 'i, I: Interrupt + ?Sized> {
    pub(crate) dialect: Dialect,
    old_items: bool,
    pub(crate) src: &'a [u8],
    pub(crate) pat: &'a [u8],
    /// Remaining recursion levels (`matchdepth`).
    depth: u32,
    pub(crate) caps: Captures,
    pub(crate) budget: Budget<'i, I>,
}

/// The pattern as the matcher of `dialect` sees it: Lua 5.1 and LuaJIT stop at the first
/// `\0` (they use C strings).
#[inline]
pub(crate) fn effective_pattern(dialect: Dialect, pattern: &[u8]) -> &[u8] {
    if dialect.pattern_ends_at_nul() {
        match pattern.iter().position(|&b| b == 0) {
            Some(n) => &pattern[..n],
            None => pattern,
        }
    } else {
        pattern
    }
}

impl<'a, 'i, I: Interrupt + ?Sized> MatchState<'a, 'i, I> {
    /// `prepstate`: `pat` must already be the effective pattern (see
    /// [`effective_pattern`]), without an anchor the caller handles.
    pub(crate) fn new(dialect: Dialect, src: &'a [u8], pat: &'a [u8], check: &'i mut I) -> Self {
        MatchState {
            dialect,
            old_items: dialect.old_item_structure(),
            src,
            pat,
            depth: dialect.max_match_depth(),
            caps: Captures::default(),
            budget: Budget::new(check),
        }
    }

    /// `reprepstate` + `match(ms, s, p)`: try to match the whole pattern at offset `s`.
    /// Returns the end of the match.
    #[inline]
    pub(crate) fn match_here(&mut self, s: usize) -> Step {
        self.caps.level = 0;
        self.depth = self.dialect.max_match_depth();
        self.do_match(s, 0)
    }

    /// The captures of the last successful [`match_here`](Self::match_here).
    pub(crate) fn to_match(&self, start: usize, end: usize) -> Match {
        Match {
            start,
            end,
            captures: self.caps,
        }
    }

    #[inline(always)]
    fn p_at(&self, i: usize) -> u8 {
        if i < self.pat.len() { self.pat[i] } else { 0 }
    }

    #[inline(always)]
    fn s_at(&self, i: usize) -> u8 {
        if i < self.src.len() { self.src[i] } else { 0 }
    }

    /// `classend`: the end of the single-character class starting at `p`.
    #[inline]
    fn class_end(&mut self, p: usize) -> Result<usize, Fail> {
        let pat = self.pat;
        let start = p;
        let mut p = p;
        let c = pat[p];
        p += 1;
        match c {
            b'%' => {
                if p >= pat.len() {
                    return fail(FailCode::EndsWithPercent);
                }
                Ok(p + 1)
            }
            b'[' => {
                if self.p_at(p) == b'^' {
                    p += 1;
                }
                loop {
                    // look for a ']'
                    if p >= pat.len() {
                        return fail(FailCode::MissingBracket);
                    }
                    let cc = pat[p];
                    p += 1;
                    if cc == b'%' && p < pat.len() {
                        p += 1; // skip escapes (e.g. '%]')
                    }
                    if self.p_at(p) == b']' {
                        break;
                    }
                }
                // Scanning a long set (here and in every use) is work too.
                self.budget.tick(set_cost(start, p))?;
                Ok(p + 1)
            }
            _ => Ok(p),
        }
    }

    /// `singlematch`: does the subject byte at `s` (if any) match the class at `p..ep`?
    #[inline(always)]
    fn single_match(&self, s: usize, p: usize, ep: usize) -> bool {
        if s >= self.src.len() {
            return false;
        }
        let c = self.src[s];
        match self.pat[p] {
            b'.' => true,
            b'%' => match_class(self.dialect, c, self.p_at(p + 1)),
            b'[' => match_bracket_class(self.dialect, c, self.pat, p, ep - 1),
            pc => pc == c,
        }
    }

    /// How many bytes from `s` on match the class at `p..ep` (the first loop of
    /// `max_expand`), counting them as steps.
    #[inline]
    fn count_run(&mut self, s: usize, p: usize, ep: usize) -> Result<usize, Fail> {
        const BLOCK: usize = 256;
        let src = self.src;
        let d = self.dialect;
        let mut i = s;
        let n = match self.pat[p] {
            b'.' => src.len().saturating_sub(s),
            b'%' => {
                let cl = self.p_at(p + 1);
                let test = class_tests(d)[cl as usize];
                while i < src.len() {
                    let stop = (i + BLOCK).min(src.len());
                    while i < stop && class_test(test, src[i], cl) {
                        i += 1;
                    }
                    if i < stop {
                        break;
                    }
                    self.budget.tick(BLOCK)?;
                }
                i - s
            }
            b'[' => {
                let pat = self.pat;
                // Each byte is tested against the whole set.
                let weight = 1 + set_cost(p, ep);
                let block = (BLOCK / weight).max(1);
                while i < src.len() {
                    let stop = (i + block).min(src.len());
                    while i < stop && match_bracket_class(d, src[i], pat, p, ep - 1) {
                        i += 1;
                    }
                    if i < stop {
                        break;
                    }
                    self.budget.tick(block * weight)?;
                }
                self.budget.tick((i - s) % block * weight)?;
                return Ok(i - s);
            }
            pc => {
                while i < src.len() {
                    let stop = (i + BLOCK).min(src.len());
                    while i < stop && src[i] == pc {
                        i += 1;
                    }
                    if i < stop {
                        break;
                    }
                    self.budget.tick(BLOCK)?;
                }
                i - s
            }
        };
        self.budget.tick(n % BLOCK)?;
        Ok(n)
    }

    /// `matchbalance`: `%bxy` at subject offset `s`, `p` pointing at `x`.
    fn match_balance(&mut self, s: usize, p: usize) -> Step {
        if p + 1 >= self.pat.len() {
            let old = self.dialect.old_balance_message();
            return fail(FailCode::MissingBalanceArguments { old });
        }
        // At the end of the subject the C code reads the terminating '\0'.
        if self.s_at(s) != self.pat[p] {
            return Ok(NO_MATCH);
        }
        let b = self.pat[p];
        let e = self.pat[p + 1];
        let mut cont = 1u32;
        let src = self.src;
        let mut i = s + 1;
        while i < src.len() {
            let c = src[i];
            if c == e {
                cont -= 1;
                if cont == 0 {
                    self.budget.tick(i - s)?;
                    return Ok(i + 1);
                }
            } else if c == b {
                cont += 1;
            }
            i += 1;
            if (i - s).is_multiple_of(1024) {
                self.budget.tick(1024)?;
            }
        }
        Ok(NO_MATCH) // string ends out of balance
    }

    /// `max_expand`: greedy repetition of the class at `p..ep` from `s`.
    fn max_expand(&mut self, s: usize, p: usize, ep: usize) -> Step {
        let mut i = self.count_run(s, p, ep)?;
        // keeps trying to match with the maximum repetitions
        loop {
            let res = self.do_match(s + i, ep + 1)?;
            if res != NO_MATCH {
                return Ok(res);
            }
            if i == 0 {
                return Ok(NO_MATCH);
            }
            i -= 1; // else didn't match; reduce 1 repetition to try again
        }
    }

    /// `min_expand`: lazy repetition (`-`).
    fn min_expand(&mut self, s: usize, p: usize, ep: usize) -> Step {
        let mut s = s;
        let cost = if self.pat[p] == b'[' {
            set_cost(p, ep)
        } else {
            0
        };
        loop {
            self.budget.tick(cost)?;
            let res = self.do_match(s, ep + 1)?;
            if res != NO_MATCH {
                return Ok(res);
            } else if self.single_match(s, p, ep) {
                s += 1; // try with one more repetition
            } else {
                return Ok(NO_MATCH);
            }
        }
    }

    /// `start_capture`: open capture number `level` at `s` (or record a position).
    fn start_capture(&mut self, s: usize, p: usize, what: isize) -> Step {
        let level = self.caps.level;
        if level >= MAX_CAPTURES {
            return fail(FailCode::TooManyCaptures);
        }
        self.caps.list[level] = RawCapture { init: s, len: what };
        self.caps.level = level + 1;
        let res = self.do_match(s, p)?;
        if res == NO_MATCH {
            self.caps.level -= 1; // undo capture
        }
        Ok(res)
    }

    /// `end_capture`: close the innermost open capture at `s`.
    fn end_capture(&mut self, s: usize, p: usize) -> Step {
        let l = self.capture_to_close()?;
        self.caps.list[l].len = (s - self.caps.list[l].init) as isize; // close capture
        let res = self.do_match(s, p)?;
        if res == NO_MATCH {
            self.caps.list[l].len = CAP_UNFINISHED; // undo capture
        }
        Ok(res)
    }

    /// `capture_to_close`
    fn capture_to_close(&self) -> Result<usize, Fail> {
        let mut level = self.caps.level;
        while level > 0 {
            level -= 1;
            if self.caps.list[level].len == CAP_UNFINISHED {
                return Ok(level);
            }
        }
        fail(FailCode::InvalidPatternCapture)
    }

    /// `check_capture`: the capture a back-reference `%l` refers to (`l` is the digit byte).
    fn check_capture(&self, l: u8) -> Result<usize, Fail> {
        let l = l as i32 - b'1' as i32;
        if l < 0
            || l as usize >= self.caps.level
            || self.caps.list[l as usize].len == CAP_UNFINISHED
        {
            let n = if self.dialect.numbered_backref_error() {
                (l + 1) as i8
            } else {
                -1
            };
            return fail(FailCode::InvalidCaptureIndex(n));
        }
        Ok(l as usize)
    }

    /// `match_capture`: back-reference `%1`-`%9` at `s`.
    fn match_capture(&mut self, s: usize, l: u8) -> Step {
        let l = self.check_capture(l)?;
        let cap = self.caps.list[l];
        // A position capture has length CAP_POSITION, which as size_t never fits: no match.
        if cap.len < 0 {
            return Ok(NO_MATCH);
        }
        let len = cap.len as usize;
        if self.src.len() - s < len {
            return Ok(NO_MATCH);
        }
        // memcmp, in pieces so that the interrupt check runs during a long comparison.
        let (a, b) = (&self.src[cap.init..cap.init + len], &self.src[s..s + len]);
        for (x, y) in a.chunks(1 << 14).zip(b.chunks(1 << 14)) {
            self.budget.tick(1 + x.len() / 16)?;
            if x != y {
                return Ok(NO_MATCH);
            }
        }
        Ok(s + len)
    }

    /// `match(ms, s, p)`: match the pattern from `p` on against the subject from `s` on;
    /// the end of the match, or [`NO_MATCH`].
    fn do_match(&mut self, s: usize, p: usize) -> Step {
        // 5.2+: `if (ms->matchdepth-- == 0)`; LuaJIT: `if (++ms->depth > LJ_MAX_XLEVEL)`.
        if self.depth == 0 {
            return fail(FailCode::TooComplex);
        }
        self.depth -= 1;
        let res = self.match_body(s, p);
        self.depth += 1;
        res
    }

    fn match_body(&mut self, mut s: usize, mut p: usize) -> Step {
        let plen = self.pat.len();
        loop {
            // init: (the C code's `goto init` for tail calls; each item is a step, so that
            // a long pattern of plain items is interruptible too)
            self.budget.tick(1)?;
            if p >= plen {
                return Ok(s); // end of pattern: match succeeded
            }
            match self.pat[p] {
                b'(' => {
                    // start capture
                    return if self.p_at(p + 1) == b')' {
                        self.start_capture(s, p + 2, CAP_POSITION) // position capture
                    } else {
                        self.start_capture(s, p + 1, CAP_UNFINISHED)
                    };
                }
                b')' => return self.end_capture(s, p + 1), // end capture
                b'$' if p + 1 == plen => {
                    // '$' as the last char of the pattern: end of subject?
                    return Ok(if s == self.src.len() { s } else { NO_MATCH });
                }
                b'%' => match self.p_at(p + 1) {
                    b'b' => {
                        // balanced string
                        let e = self.match_balance(s, p + 2)?;
                        if e == NO_MATCH {
                            return Ok(NO_MATCH);
                        }
                        s = e;
                        p += 4;
                        continue;
                    }
                    b'f' => {
                        // frontier
                        p += 2;
                        if self.p_at(p) != b'[' {
                            return fail(FailCode::MissingFrontierBracket);
                        }
                        let ep = self.class_end(p)?;
                        let previous = if s == 0 { 0 } else { self.src[s - 1] };
                        let current = self.s_at(s);
                        let d = self.dialect;
                        if !match_bracket_class(d, previous, self.pat, p, ep - 1)
                            && match_bracket_class(d, current, self.pat, p, ep - 1)
                        {
                            p = ep;
                            continue;
                        }
                        return Ok(NO_MATCH);
                    }
                    c @ b'0'..=b'9' => {
                        // back-reference %0-%9
                        let e = self.match_capture(s, c)?;
                        if e == NO_MATCH {
                            return Ok(NO_MATCH);
                        }
                        s = e;
                        p += 2;
                        continue;
                    }
                    _ => {}
                },
                _ => {}
            }
            // default: a single-character class plus optional suffix
            let ep = self.class_end(p)?;
            let suffix = self.p_at(ep);
            if self.old_items {
                // Lua 5.1 / LuaJIT
                let m = self.single_match(s, p, ep);
                match suffix {
                    b'?' => {
                        if m {
                            let res = self.do_match(s + 1, ep + 1)?;
                            if res != NO_MATCH {
                                return Ok(res);
                            }
                        }
                        p = ep + 1;
                    }
                    b'*' => return self.max_expand(s, p, ep),
                    b'+' => {
                        return if m {
                            self.max_expand(s + 1, p, ep)
                        } else {
                            Ok(NO_MATCH)
                        };
                    }
                    b'-' => return self.min_expand(s, p, ep),
                    _ => {
                        if !m {
                            return Ok(NO_MATCH);
                        }
                        s += 1;
                        p = ep;
                    }
                }
            } else if !self.single_match(s, p, ep) {
                // Lua 5.2+ / Luau: does not match at least once
                if suffix == b'*' || suffix == b'?' || suffix == b'-' {
                    p = ep + 1; // accept empty
                } else {
                    return Ok(NO_MATCH); // '+' or no suffix
                }
            } else {
                // matched once
                match suffix {
                    b'?' => {
                        let res = self.do_match(s + 1, ep + 1)?;
                        if res != NO_MATCH {
                            return Ok(res);
                        }
                        p = ep + 1;
                    }
                    b'+' => return self.max_expand(s + 1, p, ep),
                    b'*' => return self.max_expand(s, p, ep),
                    b'-' => return self.min_expand(s, p, ep),
                    _ => {
                        s += 1;
                        p = ep;
                    }
                }
            }
        }
    }
}

/// The extra interrupt steps for testing one byte against the set `pat[p..ep]` (scanning a
/// set costs a few nanoseconds per byte of it): one per 4 bytes of the set.
#[inline(always)]
fn set_cost(p: usize, ep: usize) -> usize {
    (ep - p) / 4
}

/// The single-match primitive (`match(ms, s, p)` after `reprepstate`): match `pattern`
/// exactly at byte offset `start` of `subject`, with no anchor handling (a leading `^` is a
/// literal character here, as in gmatch).
///
/// `pattern` is the pattern as the Lua function received it; for Lua 5.1 and LuaJIT it
/// ends at its first `\0`, as there.  Returns the match (range and captures), `None`, or
/// the error the C code raises.
pub fn match_at<I: Interrupt + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    pattern: &[u8],
    start: usize,
    interrupt: &mut I,
) -> Result<Option<Match>, MatchError> {
    assert!(
        start <= subject.len(),
        "match_at: start past the end of the subject"
    );
    let pat = effective_pattern(dialect, pattern);
    let mut ms = MatchState::new(dialect, subject, pat, interrupt);
    let end = ms.match_here(start)?;
    Ok((end != NO_MATCH).then(|| ms.to_match(start, end)))
}
