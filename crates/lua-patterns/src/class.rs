//! Character classes: `%a`, `%d`, ... (`match_class`) and sets `[...]`
//! (`matchbracketclass`).
//!
//! The C code uses `<ctype.h>` (PUC Lua, Luau) or LuaJIT's own table (`lj_char.c`).  Both
//! agree on the "C" locale, which is what this module implements: only ASCII letters,
//! digits, punctuation and so on are classified, bytes 128-255 belong to no class.  (PUC
//! Lua under another `LC_CTYPE` locale could classify bytes >= 128 differently; a host
//! process like CPython sets LC_CTYPE from the environment, but the UTF-8 locales in use
//! today classify no single byte >= 128 either.)

use crate::dialect::Dialect;

const ALPHA: u16 = 1 << 0;
const CNTRL: u16 = 1 << 1;
const DIGIT: u16 = 1 << 2;
const GRAPH: u16 = 1 << 3;
const LOWER: u16 = 1 << 4;
const PUNCT: u16 = 1 << 5;
const SPACE: u16 = 1 << 6;
const UPPER: u16 = 1 << 7;
const XDIGIT: u16 = 1 << 8;
const ALNUM: u16 = ALPHA | DIGIT;

/// The "C" locale's `<ctype.h>` classification of every byte.
static CTYPE: [u16; 256] = build_ctype();

const fn build_ctype() -> [u16; 256] {
    let mut t = [0u16; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        let mut bits = 0u16;
        if b.is_ascii_uppercase() {
            bits |= UPPER | ALPHA;
        }
        if b.is_ascii_lowercase() {
            bits |= LOWER | ALPHA;
        }
        if b.is_ascii_digit() {
            bits |= DIGIT;
        }
        if b.is_ascii_hexdigit() {
            bits |= XDIGIT;
        }
        if b == 0 {
            bits |= ZERO;
        }
        if b < 32 || b == 127 {
            bits |= CNTRL;
        }
        if b == b' ' || (b >= 9 && b <= 13) {
            bits |= SPACE;
        }
        if b >= 33 && b <= 126 {
            bits |= GRAPH;
            if !b.is_ascii_alphanumeric() {
                bits |= PUNCT;
            }
        }
        t[c] = bits;
        c += 1;
    }
    t
}

const ZERO: u16 = 1 << 9;
/// Bit 16 of a class test: the class is complemented (upper-case letter).
const NEGATE: u32 = 1 << 16;

/// For every byte `cl`, how `%cl` tests a subject byte: the `CTYPE` bits (low 16 bits; 0
/// means "the literal byte `cl`") and whether the result is complemented ([`NEGATE`]).
/// One table with `%g` (Lua 5.2+, LuaJIT, Luau), one without (Lua 5.1).
static CLASS_TESTS: [u32; 256] = build_class_tests(true);
static CLASS_TESTS_51: [u32; 256] = build_class_tests(false);

const fn build_class_tests(with_g: bool) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut cl = 0usize;
    while cl < 256 {
        let b = cl as u8;
        let mask = match b.to_ascii_lowercase() {
            b'a' => ALPHA,
            b'c' => CNTRL,
            b'd' => DIGIT,
            b'g' if with_g => GRAPH,
            b'l' => LOWER,
            b'p' => PUNCT,
            b's' => SPACE,
            b'u' => UPPER,
            b'w' => ALNUM,
            b'x' => XDIGIT,
            b'z' => ZERO,
            _ => 0,
        };
        let negate = if mask != 0 && !b.is_ascii_lowercase() {
            NEGATE
        } else {
            0
        };
        t[cl] = mask as u32 | negate;
        cl += 1;
    }
    t
}

/// The class tests of `d` (see [`class_test`]).
#[inline(always)]
pub(crate) fn class_tests(d: Dialect) -> &'static [u32; 256] {
    if d.has_class_g() {
        &CLASS_TESTS
    } else {
        &CLASS_TESTS_51
    }
}

/// `match_class(c, cl)` with the test of `cl` looked up: does `c` belong to `%cl`?
#[inline(always)]
pub(crate) fn class_test(test: u32, c: u8, cl: u8) -> bool {
    let mask = test as u16;
    if mask == 0 {
        return cl == c;
    }
    ((CTYPE[c as usize] & mask) != 0) != (test & NEGATE != 0)
}

/// `match_class(c, cl)`: does byte `c` belong to the class `%cl`?
///
/// A lower-case class letter means the class, the upper-case letter its complement; any
/// other `cl` (like `%.` or `%%`) stands for itself.  `%z` (the zero byte) is kept by every
/// dialect (deprecated since 5.2 but still compiled in); `%g` exists in all but Lua 5.1.
/// (The C code switches on `tolower(cl)`; the tables hold the result of that switch.)
#[inline(always)]
pub(crate) fn match_class(d: Dialect, c: u8, cl: u8) -> bool {
    class_test(class_tests(d)[cl as usize], c, cl)
}

/// `matchbracketclass(c, p, ec)`: does `c` belong to the set that starts with `[` at
/// `pat[p]` and whose closing `]` is at `pat[ec]`?
///
/// Ranges `x-y` compare bytes as unsigned; a `-` first or last is literal; `%x` inside a set
/// is a class (or the escaped character).  Bytes past the pattern's end read as `\0`, like
/// the C string terminator.
#[inline]
pub(crate) fn match_bracket_class(d: Dialect, c: u8, pat: &[u8], p: usize, ec: usize) -> bool {
    let at = |i: usize| -> u8 { if i < pat.len() { pat[i] } else { 0 } };
    let mut p = p;
    let mut sig = true;
    if at(p + 1) == b'^' {
        sig = false;
        p += 1; // skip the '^'
    }
    loop {
        p += 1;
        if p >= ec {
            break;
        }
        let pc = pat[p];
        if pc == b'%' {
            p += 1;
            if match_class(d, c, at(p)) {
                return sig;
            }
        } else if at(p + 1) == b'-' && p + 2 < ec {
            p += 2;
            if pc <= c && c <= pat[p] {
                return sig;
            }
        } else if pc == c {
            return sig;
        }
    }
    !sig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctype_matches_the_c_locale() {
        // Spot checks against <ctype.h> in the "C" locale.
        assert_eq!(CTYPE[b'a' as usize], ALPHA | LOWER | XDIGIT | GRAPH);
        assert_eq!(CTYPE[b'Z' as usize], ALPHA | UPPER | GRAPH);
        assert_eq!(CTYPE[b'5' as usize], DIGIT | XDIGIT | GRAPH);
        assert_eq!(CTYPE[b' ' as usize], SPACE);
        assert_eq!(CTYPE[b'\t' as usize], SPACE | CNTRL);
        assert_eq!(CTYPE[0x0b], SPACE | CNTRL);
        assert_eq!(CTYPE[b'_' as usize], PUNCT | GRAPH);
        assert_eq!(CTYPE[b'~' as usize], PUNCT | GRAPH);
        assert_eq!(CTYPE[127], CNTRL);
        assert_eq!(CTYPE[0], CNTRL | ZERO);
        assert!(CTYPE[128..].iter().all(|&b| b == 0));
        assert_eq!(CTYPE.iter().filter(|&&b| b & PUNCT != 0).count(), 32);
    }

    #[test]
    fn class_letters_and_complements() {
        let d = Dialect::Lua54;
        assert!(match_class(d, b'x', b'a'));
        assert!(!match_class(d, b'x', b'A'));
        assert!(match_class(d, b'1', b'A'));
        assert!(match_class(d, 0, b'z'));
        assert!(!match_class(d, 0, b'Z'));
        assert!(match_class(d, b'.', b'.'));
        assert!(!match_class(d, b'x', b'.'));
        assert!(match_class(d, b'!', b'g'));
        assert!(!match_class(d, b' ', b'g'));
    }

    #[test]
    fn class_g_is_literal_in_lua51() {
        assert!(match_class(Dialect::Lua51, b'g', b'g'));
        assert!(!match_class(Dialect::Lua51, b'!', b'g'));
        assert!(match_class(Dialect::Lua51, b'G', b'G'));
        assert!(match_class(Dialect::LuaJit21, b'!', b'g'));
        assert!(!match_class(Dialect::LuaJit21, b'!', b'G'));
    }

    #[test]
    fn bracket_sets() {
        let d = Dialect::Lua54;
        let set = |c: u8, s: &[u8]| match_bracket_class(d, c, s, 0, s.len() - 1);
        assert!(set(b'b', b"[a-c]"));
        assert!(!set(b'd', b"[a-c]"));
        assert!(set(b'd', b"[^a-c]"));
        assert!(set(b'-', b"[a-]"));
        assert!(set(b'-', b"[-a]"));
        assert!(set(b'7', b"[%d]"));
        assert!(set(b']', b"[%]]"));
        assert!(!set(b'^', b"[^^]"));
        assert!(set(b'^', b"[a^]"));
    }
}
