//! `string.find` and `string.match` (`str_find_aux`), including the plain search
//! (`lmemfind`/`lj_str_find`) and the per-version handling of `init`.

use crate::captures::{Captures, Match};
use crate::dialect::Dialect;
use crate::error::MatchError;
use crate::interrupt::{Budget, Interrupt};
use crate::matcher::{MatchState, NO_MATCH, effective_pattern};

/// `SPECIALS`: a pattern without any of these is searched for as plain text by `find`.
pub const SPECIALS: &[u8] = b"^$*+?.([%-";

/// Whether `string.find` takes the plain-search path for `pattern` (`nospecials` in Lua
/// 5.2+ and Luau, `strpbrk` in 5.1, `!lj_str_haspattern` in LuaJIT), when not asked to
/// explicitly by a true fourth argument.
pub fn has_no_specials(dialect: Dialect, pattern: &[u8]) -> bool {
    let checked = if dialect.specials_check_stops_at_nul() {
        // strpbrk(p, SPECIALS) looks only at the C string, i.e. up to the first '\0'.
        effective_pattern(Dialect::Lua51, pattern)
    } else {
        pattern
    };
    !checked.iter().any(|b| SPECIALS.contains(b))
}

/// Where find/match start, from the optional `init` argument (1-based, negative counts
/// from the end), as each version computes it; `None` when the search cannot succeed
/// (5.2+ and Luau with `init > #s + 1`).  The result is a 0-based offset `<= len`.
///
/// `init` is the integer the C code got from `luaL_optinteger` (LuaJIT: `lj_lib_optint`,
/// a 32-bit int; Luau: an `int`): the glue converts the Lua argument as that flavour does
/// (including its "number has no integer representation" errors).
pub fn find_start(dialect: Dialect, init: Option<i64>, len: usize) -> Option<usize> {
    let len_i = len as i128;
    let pos = init.unwrap_or(1) as i128;
    if dialect.init_past_end_fails() {
        // posrelat (5.2/5.3/Luau) or posrelatI (5.4+): negative counts from the end,
        // clipped to 1.
        let mut init = if pos >= 0 {
            pos
        } else if -pos > len_i {
            0
        } else {
            len_i + pos + 1
        };
        if init < 1 {
            init = 1;
        }
        if init > len_i + 1 {
            return None; // start after string's end: cannot find anything
        }
        Some((init - 1) as usize)
    } else {
        // 5.1 posrelat, LuaJIT's own arithmetic: clamp into [0, len].
        let mut pos = pos;
        if pos < 0 {
            pos += len_i + 1;
        }
        let init = if pos >= 0 { pos } else { 0 } - 1;
        Some(init.clamp(0, len_i) as usize)
    }
}

/// Plain substring search from offset `from` (`lmemfind`): the offset of the first
/// occurrence of `needle` in `haystack[from..]`.  The empty needle is found at `from`.
pub fn plain_find<I: Interrupt + ?Sized>(
    haystack: &[u8],
    needle: &[u8],
    from: usize,
    interrupt: &mut I,
) -> Result<Option<usize>, MatchError> {
    plain_find_with(haystack, needle, from, interrupt, find_byte)
}

/// [`plain_find`] with the caller's `memchr` (`find_byte(hay, c)` is the offset of the
/// first `c` in `hay`).  This crate's own is portable safe Rust that the compiler
/// vectorises for the baseline target (SSE2 on x86-64): about 1.7 times slower than
/// glibc's AVX2 `memchr` when scanning a long subject for a rare byte.  A glue that may
/// call C can pass `libc::memchr` here to close that gap.
pub fn plain_find_with<I: Interrupt + ?Sized>(
    haystack: &[u8],
    needle: &[u8],
    from: usize,
    interrupt: &mut I,
    find_byte: impl Fn(&[u8], u8) -> Option<usize>,
) -> Result<Option<usize>, MatchError> {
    let mut budget = Budget::new(interrupt);
    let Some((&first, rest)) = needle.split_first() else {
        return Ok(Some(from)); // empty strings are everywhere
    };
    if needle.len() > haystack.len() - from {
        return Ok(None);
    }
    // Candidates for the first byte are positions from..=last.
    let last = haystack.len() - needle.len();
    let mut pos = from;
    while pos <= last {
        // Look for the first byte in blocks, so that the interrupt check runs between them.
        let block_end = (pos + 16384).min(last + 1);
        match find_byte(&haystack[pos..block_end], first) {
            None => {
                budget.tick(1024)?;
                pos = block_end;
            }
            Some(k) => {
                let q = pos + k;
                budget.tick(1 + rest.len() / 16)?;
                // Check the last byte first: a cheap filter before the full comparison.
                if haystack[q + rest.len()] == needle[rest.len()]
                    && &haystack[q + 1..q + 1 + rest.len()] == rest
                {
                    return Ok(Some(q));
                }
                pos = q + 1;
            }
        }
    }
    Ok(None)
}

/// `memchr`: the offset of the first `c` in `hay`.  Written so that the compiler vectorises the
/// 64-byte blocks (compare all, then test whether any matched), which brings it close to
/// the C library's `memchr` without `unsafe` code.
#[inline(never)]
pub fn find_byte(hay: &[u8], c: u8) -> Option<usize> {
    const BLOCK: usize = 64;
    let mut chunks = hay.chunks_exact(BLOCK);
    let mut base = 0;
    for chunk in &mut chunks {
        let chunk: &[u8; BLOCK] = chunk.try_into().unwrap();
        if chunk.iter().fold(false, |any, &b| any | (b == c)) {
            return Some(base + first_in_block(chunk, c));
        }
        base += BLOCK;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == c)
        .map(|k| base + k)
}

/// The offset of the first `c` in a block known to contain one: eight bytes at a time
/// ("has a zero byte" bit trick on `word ^ c...c`; the lowest flagged byte is exact).
#[inline(always)]
fn first_in_block(chunk: &[u8; 64], c: u8) -> usize {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pat = LO * c as u64;
    for (w, bytes) in chunk.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(bytes.try_into().unwrap()) ^ pat;
        let t = x.wrapping_sub(LO) & !x & HI;
        if t != 0 {
            return w * 8 + (t.trailing_zeros() / 8) as usize;
        }
    }
    unreachable!("first_in_block: no such byte")
}

/// What `str_find_aux` returns on success: the match (`start..end`, captures).  For
/// `string.find`, push `start + 1`, `end`, then `captures.get(i)` for `i` in
/// `0..captures.len()`; for `string.match`, push `value(i)` for `i` in `0..value_count()`.
pub type FindResult = Option<Match>;

/// `string.find(s, p, init, plain)`.
///
/// `plain` is the truth value of the fourth argument.  Returns `None` for the nil result.
pub fn find<I: Interrupt + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    pattern: &[u8],
    init: Option<i64>,
    plain: bool,
    interrupt: &mut I,
) -> Result<FindResult, MatchError> {
    find_aux(dialect, subject, pattern, init, Some(plain), interrupt)
}

/// `string.match(s, p, init)`: never a plain search.
pub fn str_match<I: Interrupt + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    pattern: &[u8],
    init: Option<i64>,
    interrupt: &mut I,
) -> Result<FindResult, MatchError> {
    find_aux(dialect, subject, pattern, init, None, interrupt)
}

/// `str_find_aux`: `plain` is `None` for match, `Some(explicit request)` for find.
fn find_aux<I: Interrupt + ?Sized>(
    dialect: Dialect,
    subject: &[u8],
    pattern: &[u8],
    init: Option<i64>,
    plain: Option<bool>,
    interrupt: &mut I,
) -> Result<FindResult, MatchError> {
    let Some(init) = find_start(dialect, init, subject.len()) else {
        return Ok(None);
    };
    if let Some(explicit) = plain
        && (explicit || has_no_specials(dialect, pattern))
    {
        // do a plain search (with the whole pattern, even in 5.1)
        return Ok(
            plain_find(subject, pattern, init, interrupt)?.map(|start| Match {
                start,
                end: start + pattern.len(),
                captures: Captures::default(),
            }),
        );
    }
    let mut pat = effective_pattern(dialect, pattern);
    let anchor = pat.first() == Some(&b'^');
    if anchor {
        pat = &pat[1..]; // skip anchor character
    }
    let mut ms = MatchState::new(dialect, subject, pat, interrupt);
    let mut s1 = init;
    loop {
        let end = ms.match_here(s1)?;
        if end != NO_MATCH {
            return Ok(Some(ms.to_match(s1, end)));
        }
        s1 += 1;
        if s1 > subject.len() || anchor {
            return Ok(None);
        }
    }
}
