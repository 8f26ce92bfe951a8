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

/// `match_class(c, cl)`: does byte `c` belong to the class `%cl`?
///
/// A lower-case class letter means the class, the upper-case letter its complement; any
/// other `cl` (like `%.` or `%%`) stands for itself.  `%z` (the zero byte) is kept by every
/// dialect (deprecated since 5.2 but still compiled in); `%g` exists in all but Lua 5.1.
#[inline]
pub(crate) fn match_class(d: Dialect, c: u8, cl: u8) -> bool {
    let lower = cl.to_ascii_lowercase();
    let res = match lower {
        b'a' => CTYPE[c as usize] & ALPHA != 0,
        b'c' => CTYPE[c as usize] & CNTRL != 0,
        b'd' => CTYPE[c as usize] & DIGIT != 0,
        b'g' if d.has_class_g() => CTYPE[c as usize] & GRAPH != 0,
        b'l' => CTYPE[c as usize] & LOWER != 0,
        b'p' => CTYPE[c as usize] & PUNCT != 0,
        b's' => CTYPE[c as usize] & SPACE != 0,
        b'u' => CTYPE[c as usize] & UPPER != 0,
        b'w' => CTYPE[c as usize] & ALNUM != 0,
        b'x' => CTYPE[c as usize] & XDIGIT != 0,
        b'z' => c == 0,
        _ => return cl == c,
    };
    if cl.is_ascii_lowercase() { res } else { !res }
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
        assert_eq!(CTYPE[0], CNTRL);
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
