//! Unit tests of each pattern construct and of each difference between the dialects, with
//! results taken from the C implementations (and checked by tests/differential.rs).

use Dialect::*;
use lua_patterns::{
    Capture, Dialect, GmatchState, GsubHandler, Match, MatchError, NoInterrupt, PatternError,
    Replaced, Replacement,
};

/// A capture value as Lua shows it: the string, or the position as a number.
#[derive(Debug, PartialEq, Eq)]
enum V {
    S(Vec<u8>),
    N(usize),
}

fn s(x: &str) -> V {
    V::S(x.as_bytes().to_vec())
}

fn vals(d: Dialect, subj: &[u8], m: &Match) -> Result<Vec<V>, MatchError> {
    (0..m.value_count())
        .map(|i| {
            m.value(d, i).map(|c| match c {
                Capture::Str { start, end } => V::S(subj[start..end].to_vec()),
                Capture::Position(n) => V::N(n),
            })
        })
        .collect()
}

/// string.match(subj, pat, init)
fn mat(d: Dialect, subj: &str, pat: &str, init: Option<i64>) -> Result<Option<Vec<V>>, MatchError> {
    let sb = subj.as_bytes();
    match lua_patterns::str_match(d, sb, pat.as_bytes(), init, &mut NoInterrupt)? {
        None => Ok(None),
        Some(m) => vals(d, sb, &m).map(Some),
    }
}

fn m1(subj: &str, pat: &str) -> Option<Vec<V>> {
    mat(Lua54, subj, pat, None).unwrap()
}

/// string.find(subj, pat, init, plain) -> (start, end) 1-based
fn fnd(
    d: Dialect,
    subj: &[u8],
    pat: &[u8],
    init: Option<i64>,
    plain: bool,
) -> Option<(usize, usize)> {
    lua_patterns::find(d, subj, pat, init, plain, &mut NoInterrupt)
        .unwrap()
        .map(|m| (m.start + 1, m.end))
}

fn perr(d: Dialect, subj: &str, pat: &str) -> String {
    match mat(d, subj, pat, None) {
        Err(e) => e.to_string(),
        Ok(r) => panic!("no error: {r:?}"),
    }
}

struct Out(Vec<u8>);

impl GsubHandler for Out {
    fn output(&mut self, bytes: &[u8]) -> Result<(), MatchError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
    fn replace(&mut self, _m: &Match) -> Result<Replaced, MatchError> {
        // a replacement function returning "<>" for every match
        self.0.extend_from_slice(b"<>");
        Ok(Replaced::Written)
    }
}

fn gsub(
    d: Dialect,
    subj: &str,
    pat: &str,
    repl: &str,
    n: Option<i64>,
) -> Result<(String, u64), MatchError> {
    let mut out = Out(vec![]);
    let r = lua_patterns::gsub(
        d,
        subj.as_bytes(),
        pat.as_bytes(),
        Replacement::Str(repl.as_bytes()),
        n,
        &mut out,
        &mut NoInterrupt,
    )?;
    Ok((String::from_utf8_lossy(&out.0).into_owned(), r.count))
}

fn gs(d: Dialect, subj: &str, pat: &str, repl: &str) -> (String, u64) {
    gsub(d, subj, pat, repl, None).unwrap()
}

fn gmatch_all(d: Dialect, subj: &str, pat: &str, init: Option<i64>) -> Vec<Vec<V>> {
    let mut st = GmatchState::new(d, subj.len(), init);
    let mut all = vec![];
    while let Some(m) = st
        .next(d, subj.as_bytes(), pat.as_bytes(), &mut NoInterrupt)
        .unwrap()
    {
        all.push(vals(d, subj.as_bytes(), &m).unwrap());
        assert!(all.len() < 100);
    }
    all
}

#[test]
fn single_characters_and_classes() {
    assert_eq!(m1("hello", "l"), Some(vec![s("l")]));
    assert_eq!(m1("hello", "."), Some(vec![s("h")]));
    assert_eq!(m1("ab12cd", "%d"), Some(vec![s("1")]));
    assert_eq!(m1("ab12cd", "%D"), Some(vec![s("a")]));
    assert_eq!(m1("  x", "%S"), Some(vec![s("x")]));
    assert_eq!(m1("a.b", "%."), Some(vec![s(".")]));
    assert_eq!(m1("50%", "%%"), Some(vec![s("%")]));
    assert_eq!(m1("Hello", "%u%l"), Some(vec![s("He")]));
    assert_eq!(m1("x_y", "%p"), Some(vec![s("_")]));
    assert_eq!(m1("ff0g", "%x+"), Some(vec![s("ff0")]));
    assert_eq!(m1("a\tb", "%c"), Some(vec![s("\t")]));
    assert_eq!(m1("a\0b", "%z"), Some(vec![s("\0")]));
    assert_eq!(
        m1("\u{e9}a", "%a"),
        Some(vec![s("a")]),
        "bytes >= 128 are in no class"
    );
}

#[test]
fn sets() {
    assert_eq!(m1("xyz-b", "[a-c-]+"), Some(vec![s("-b")]));
    assert_eq!(m1("abc]", "[]]"), Some(vec![s("]")]));
    assert_eq!(m1("abc", "[^a]+"), Some(vec![s("bc")]));
    assert_eq!(m1("a^b", "[b^]+"), Some(vec![s("^b")]));
    assert_eq!(m1("x9]", "[%d%]]+"), Some(vec![s("9]")]));
    assert_eq!(m1("a-", "[%a-]+"), Some(vec![s("a-")]));
    assert_eq!(m1("b", "[z-a]"), None, "an empty range matches nothing");
}

#[test]
fn repetitions() {
    assert_eq!(m1("aaab", "a*"), Some(vec![s("aaa")]));
    assert_eq!(m1("aaab", "a-b"), Some(vec![s("aaab")]));
    assert_eq!(m1("aaab", "a-"), Some(vec![s("")]));
    assert_eq!(m1("b", "a+"), None);
    assert_eq!(m1("ab", "a?b"), Some(vec![s("ab")]));
    assert_eq!(m1("b", "a?b"), Some(vec![s("b")]));
    assert_eq!(m1("<a><b>", "<.->"), Some(vec![s("<a>")]));
    assert_eq!(m1("<a><b>", "<.*>"), Some(vec![s("<a><b>")]));
    assert_eq!(m1("a*", "a*%*"), Some(vec![s("a*")]));
}

#[test]
fn anchors() {
    assert_eq!(m1("xab", "^ab"), None);
    assert_eq!(m1("abx", "^ab"), Some(vec![s("ab")]));
    assert_eq!(m1("xab", "ab$"), Some(vec![s("ab")]));
    assert_eq!(
        m1("a$b", "a$b"),
        Some(vec![s("a$b")]),
        "'$' not at the end is literal"
    );
    assert_eq!(
        m1("a^b", "a^b"),
        Some(vec![s("a^b")]),
        "'^' not at the start is literal"
    );
    assert_eq!(m1("", "^$"), Some(vec![s("")]));
}

#[test]
fn captures_and_positions() {
    assert_eq!(
        m1("key = value", "(%w+) = (%w+)"),
        Some(vec![s("key"), s("value")])
    );
    assert_eq!(m1("hello", "()ll()"), Some(vec![V::N(3), V::N(5)]));
    assert_eq!(m1("abc", "a(b(c))"), Some(vec![s("bc"), s("c")]));
    assert_eq!(m1("abc", "()"), Some(vec![V::N(1)]));
    let m = lua_patterns::find(Lua54, b"hello", b"(l)(l)", None, false, &mut NoInterrupt)
        .unwrap()
        .unwrap();
    assert_eq!((m.start + 1, m.end, m.captures.len()), (3, 4, 2));
}

#[test]
fn back_references_balance_and_frontier() {
    assert_eq!(
        m1("say 'hi' ok", "(['\"])(.-)%1"),
        Some(vec![s("'"), s("hi")])
    );
    assert_eq!(m1("x(a(b)c)d", "%b()"), Some(vec![s("(a(b)c)")]));
    assert_eq!(m1("x(a(b", "%b()"), None);
    assert_eq!(m1("THE (quick) fox", "%f[%a]%a+"), Some(vec![s("THE")]));
    assert_eq!(m1("the quick", "%f[%a]%a+%f[%A]$"), Some(vec![s("quick")]));
    // The frontier sees '\0' before the start and after the end of the subject.
    assert_eq!(m1("ab", "%f[%z]"), Some(vec![s("")]));
    assert_eq!(
        mat(Lua54, "ab", "()%f[%z]", None).unwrap(),
        Some(vec![V::N(3)])
    );
    // A back-reference to a position capture never matches.
    assert_eq!(m1("aa", "()a%1"), None);
}

#[test]
fn error_messages() {
    assert_eq!(perr(Lua54, "a", "%"), "malformed pattern (ends with '%')");
    assert_eq!(perr(Lua54, "a", "[a"), "malformed pattern (missing ']')");
    assert_eq!(perr(Lua54, "a", "[]"), "malformed pattern (missing ']')");
    assert_eq!(
        perr(Lua54, "a", "%b"),
        "malformed pattern (missing arguments to '%b')"
    );
    assert_eq!(perr(Lua51, "a", "%b("), "unbalanced pattern");
    assert_eq!(perr(LuaJit21, "a", "%b"), "unbalanced pattern");
    assert_eq!(perr(Lua54, "a", "%fa"), "missing '[' after '%f' in pattern");
    assert_eq!(perr(Lua54, "a", "a)"), "invalid pattern capture");
    assert_eq!(perr(Lua54, "a", "(a)%2"), "invalid capture index %2");
    assert_eq!(perr(Lua54, "a", "%0"), "invalid capture index %0");
    assert_eq!(perr(Lua52, "a", "(a%1)"), "invalid capture index %1");
    assert_eq!(perr(Lua51, "a", "(a)%2"), "invalid capture index");
    assert_eq!(perr(LuaJit21, "a", "(a)%2"), "invalid capture index");
    assert_eq!(perr(Lua54, "a", "(a"), "unfinished capture");
    assert_eq!(perr(Lua54, "a", &"(".repeat(33)), "too many captures");
    assert_eq!(
        perr(Lua54, &"a".repeat(201), &"a?".repeat(201)),
        "pattern too complex"
    );
    // The errors of later items are raised only when matching gets there.
    assert_eq!(m1("b", "a%"), None);
}

#[test]
fn recursion_depth_per_dialect() {
    // 5.2+ jump over an unmatched 'a*' (goto), LuaJIT recurses: 250 of them fail only there.
    let p = "a*".repeat(250);
    assert_eq!(mat(Lua54, "b", &p, None).unwrap(), Some(vec![s("")]));
    assert_eq!(mat(Luau, "b", &p, None).unwrap(), Some(vec![s("")]));
    assert_eq!(perr(LuaJit21, "b", &p), "pattern too complex");
    // 5.1 has no limit in C; ours is far above 200.
    assert_eq!(mat(Lua51, "b", &p, None).unwrap(), Some(vec![s("")]));
    let n = lua_patterns::LUA51_MAX_MATCH_DEPTH as usize;
    assert!(
        mat(Lua51, &"a".repeat(n - 1), &"a?".repeat(n - 1), None)
            .unwrap()
            .is_some()
    );
    assert_eq!(
        perr(Lua51, &"a".repeat(n), &"a?".repeat(n)),
        "pattern too complex"
    );
    assert_eq!(
        perr(Lua54, &"a".repeat(300), &"a?".repeat(300)),
        "pattern too complex"
    );
    // 200 nested levels are fine everywhere (199 items + end of pattern), 201 are not
    // (except in 5.1, see LUA51_MAX_MATCH_DEPTH).
    for d in [Lua52, Lua53, Lua54, Lua55, LuaJit21, Luau] {
        assert!(
            mat(d, &"a".repeat(199), &"a?".repeat(199), None)
                .unwrap()
                .is_some(),
            "{d:?}"
        );
        assert_eq!(
            perr(d, &"a".repeat(200), &"a?".repeat(200)),
            "pattern too complex",
            "{d:?}"
        );
    }
}

#[test]
fn class_g_and_nul_in_patterns() {
    assert_eq!(
        mat(Lua54, "  x!", "%g+", None).unwrap(),
        Some(vec![s("x!")])
    );
    assert_eq!(
        mat(LuaJit21, "  x!", "%g+", None).unwrap(),
        Some(vec![s("x!")])
    );
    assert_eq!(
        mat(Lua51, "  x!", "%g+", None).unwrap(),
        None,
        "%g is a literal 'g' in 5.1"
    );
    assert_eq!(mat(Lua51, "ag", "%g", None).unwrap(), Some(vec![s("g")]));
    // 5.1 and LuaJIT end the pattern at '\0'; 5.2+ match it.
    assert_eq!(mat(Lua51, "ab", "a\0x", None).unwrap(), Some(vec![s("a")]));
    assert_eq!(
        mat(LuaJit21, "ab", "a\0x", None).unwrap(),
        Some(vec![s("a")])
    );
    assert_eq!(mat(Lua53, "ab", "a\0x", None).unwrap(), None);
    assert_eq!(
        mat(Lua53, "a\0x", "a%z", None).unwrap(),
        Some(vec![s("a\0")])
    );
}

#[test]
fn find_init_and_plain_search() {
    let d = Lua54;
    assert_eq!(fnd(d, b"hello", b"l", None, false), Some((3, 3)));
    assert_eq!(fnd(d, b"hello", b"l", Some(4), false), Some((4, 4)));
    assert_eq!(fnd(d, b"hello", b"l", Some(-1), false), None);
    assert_eq!(fnd(d, b"hello", b"l", Some(-2), false), Some((4, 4)));
    assert_eq!(fnd(d, b"hello", b"h", Some(-100), false), Some((1, 1)));
    assert_eq!(fnd(d, b"hello", b"", Some(6), false), Some((6, 5)));
    assert_eq!(fnd(d, b"a.b", b".", None, true), Some((2, 2)));
    assert_eq!(fnd(d, b"a.b", b".", None, false), Some((1, 1)));
    assert_eq!(fnd(d, b"a+b", b"a+b", None, true), Some((1, 3)));
    // init past the end: nil in 5.2+, clamped to #s + 1 in 5.1 and LuaJIT.
    for d in [Lua52, Lua53, Lua54, Lua55, Luau] {
        assert_eq!(fnd(d, b"abc", b"", Some(10), false), None, "{d:?}");
        assert_eq!(fnd(d, b"abc", b"", Some(4), false), Some((4, 3)), "{d:?}");
    }
    for d in [Lua51, LuaJit21] {
        assert_eq!(fnd(d, b"abc", b"", Some(10), false), Some((4, 3)), "{d:?}");
        assert_eq!(fnd(d, b"abc", b"c", Some(10), false), None, "{d:?}");
    }
    assert_eq!(fnd(Lua54, b"abc", b"", Some(i64::MIN), false), Some((1, 0)));
    assert_eq!(fnd(Lua51, b"abc", b"", Some(i64::MIN), false), Some((1, 0)));
}

#[test]
fn find_plain_path_with_nul() {
    // 5.1 checks for specials only up to the '\0' but searches for the whole pattern.
    assert!(lua_patterns::has_no_specials(Lua51, b"a\0("));
    assert!(!lua_patterns::has_no_specials(Lua52, b"a\0("));
    assert!(!lua_patterns::has_no_specials(LuaJit21, b"a\0("));
    assert_eq!(fnd(Lua51, b"xa\0(", b"a\0(", None, false), Some((2, 4)));
    // LuaJIT sees a special, so matches the pattern, which ends at the '\0'.
    assert_eq!(fnd(LuaJit21, b"xa\0(", b"a\0(", None, false), Some((2, 2)));
    // 5.2+ match "a", "\0" and an open capture; fetching it fails.
    let m = lua_patterns::find(Lua52, b"xa\0(", b"a\0(", None, false, &mut NoInterrupt)
        .unwrap()
        .unwrap();
    assert_eq!((m.start, m.end, m.captures.len()), (1, 3, 1));
    assert_eq!(
        m.find_capture(Lua52, 0).unwrap_err().to_string(),
        "unfinished capture"
    );
}

#[test]
fn gmatch_iteration() {
    let words = gmatch_all(Lua54, "one two  three", "%a+", None);
    assert_eq!(
        words,
        vec![vec![s("one")], vec![s("two")], vec![s("three")]]
    );
    let pairs = gmatch_all(Lua54, "a=1, b=2", "(%w+)=(%w+)", None);
    assert_eq!(pairs, vec![vec![s("a"), s("1")], vec![s("b"), s("2")]]);
    // '^' is a literal in gmatch, in every version.
    for d in Dialect::ALL {
        assert_eq!(
            gmatch_all(d, "^a^a", "^a", None),
            vec![vec![s("^a")], vec![s("^a")]]
        );
    }
}

#[test]
fn gmatch_empty_matches_per_version() {
    // Before 5.3.6 the empty match after "abc" is produced too.
    for d in [Lua51, Lua52, LuaJit21, Luau] {
        assert_eq!(
            gmatch_all(d, "abc", "%w*", None),
            vec![vec![s("abc")], vec![s("")]],
            "{d:?}"
        );
        assert_eq!(gmatch_all(d, "a,b", "%a*", None).len(), 4, "{d:?}");
    }
    for d in [Lua53, Lua54, Lua55] {
        assert_eq!(
            gmatch_all(d, "abc", "%w*", None),
            vec![vec![s("abc")]],
            "{d:?}"
        );
        assert_eq!(gmatch_all(d, "a,b", "%a*", None).len(), 2, "{d:?}");
    }
}

#[test]
fn gmatch_init_only_in_54() {
    assert_eq!(
        gmatch_all(Lua54, "abc", ".", Some(2)),
        vec![vec![s("b")], vec![s("c")]]
    );
    assert_eq!(gmatch_all(Lua55, "abc", ".", Some(-1)), vec![vec![s("c")]]);
    assert_eq!(
        gmatch_all(Lua54, "abc", "()", Some(10)),
        Vec::<Vec<V>>::new()
    );
    assert_eq!(gmatch_all(Lua54, "abc", "()", Some(4)), vec![vec![V::N(4)]]);
    assert_eq!(
        gmatch_all(Lua53, "abc", ".", Some(2)).len(),
        3,
        "ignored before 5.4"
    );
}

#[test]
fn gsub_basics() {
    assert_eq!(
        gs(Lua54, "hello world", "o", "0"),
        ("hell0 w0rld".into(), 2)
    );
    assert_eq!(
        gs(Lua54, "hello world", "(%w+)", "<%1>"),
        ("<hello> <world>".into(), 2)
    );
    assert_eq!(gs(Lua54, "abc", "%w", "%0%0"), ("aabbcc".into(), 3));
    assert_eq!(gs(Lua54, "abc", "", "-"), ("-a-b-c-".into(), 4));
    assert_eq!(gs(Lua54, "abc", "b", "%%"), ("a%c".into(), 1));
    assert_eq!(gs(Lua54, "hello", "()l", "%1"), ("he34o".into(), 2));
    assert_eq!(gs(Lua54, "abc", "^.", "x"), ("xbc".into(), 1));
    assert_eq!(gs(Lua54, "abc", "x*$", "!"), ("abc!".into(), 1));
    assert_eq!(
        gs(Lua54, "abc", "(a", "x"),
        ("xbc".into(), 1),
        "unused unfinished capture"
    );
    assert_eq!(
        gsub(Lua54, "abc", "(a", "%1", None)
            .unwrap_err()
            .to_string(),
        "unfinished capture"
    );
}

#[test]
fn gsub_limit_per_version() {
    assert_eq!(
        gsub(Lua54, "aaa", "a", "b", Some(2)).unwrap(),
        ("bba".into(), 2)
    );
    assert_eq!(
        gsub(Lua54, "aaa", "a", "b", Some(-1)).unwrap(),
        ("aaa".into(), 0)
    );
    assert_eq!(
        gsub(Lua51, "aaa", "a", "b", Some(-1)).unwrap(),
        ("aaa".into(), 0)
    );
    // 5.2 reads the limit as size_t: negative means no limit.
    assert_eq!(
        gsub(Lua52, "aaa", "a", "b", Some(-1)).unwrap(),
        ("bbb".into(), 3)
    );
    // 5.1 and LuaJIT read an int: 2^32 + 1 is 1.
    assert_eq!(
        gsub(Lua51, "aaa", "a", "b", Some((1 << 32) + 1)).unwrap(),
        ("baa".into(), 1)
    );
    assert_eq!(
        gsub(LuaJit21, "aaa", "a", "b", Some((1 << 32) + 1)).unwrap(),
        ("baa".into(), 1)
    );
    assert_eq!(
        gsub(Lua53, "aaa", "a", "b", Some((1 << 32) + 1)).unwrap(),
        ("bbb".into(), 3)
    );
}

#[test]
fn gsub_empty_matches_per_version() {
    for d in [Lua51, Lua52, LuaJit21, Luau] {
        assert_eq!(gs(d, "abc", "%w*", "-"), ("--".into(), 2), "{d:?}");
        assert_eq!(gs(d, "a b", "%a*", "-"), ("-- --".into(), 4), "{d:?}");
    }
    for d in [Lua53, Lua54, Lua55] {
        assert_eq!(gs(d, "abc", "%w*", "-"), ("-".into(), 1), "{d:?}");
        assert_eq!(gs(d, "a b", "%a*", "-"), ("- -".into(), 2), "{d:?}");
    }
}

#[test]
fn gsub_replacement_escapes_per_version() {
    // '%' + non-digit: inserted by 5.1/LuaJIT, an error elsewhere.
    assert_eq!(gs(Lua51, "abc", "b", "%x"), ("axc".into(), 1));
    assert_eq!(gs(LuaJit21, "abc", "b", "%x"), ("axc".into(), 1));
    // A lone '%' at the end inserts the string's terminating '\0' in 5.1/LuaJIT.
    assert_eq!(gs(Lua51, "abc", "b", "x%"), ("ax\0c".into(), 1));
    for d in [Lua52, Lua53, Lua54, Lua55, Luau] {
        for r in ["%x", "x%"] {
            let e = gsub(d, "abc", "b", r, None).unwrap_err();
            assert_eq!(
                e.to_string(),
                "invalid use of '%' in replacement string",
                "{d:?}"
            );
        }
    }
    // A capture index out of range: numbered in 5.3+ only.
    assert_eq!(
        gsub(Lua54, "abc", "(b)", "%2", None)
            .unwrap_err()
            .to_string(),
        "invalid capture index %2"
    );
    assert_eq!(
        gsub(Lua53, "abc", "b", "%2", None).unwrap_err().to_string(),
        "invalid capture index %2"
    );
    for d in [Lua51, Lua52, LuaJit21, Luau] {
        let e = gsub(d, "abc", "(b)", "%2", None).unwrap_err();
        assert_eq!(e.to_string(), "invalid capture index", "{d:?}");
    }
    // %1 without captures is the whole match.
    assert_eq!(gs(Lua54, "abc", "b", "[%1]"), ("a[b]c".into(), 1));
}

#[test]
fn gsub_callbacks() {
    let mut out = Out(vec![]);
    let r = lua_patterns::gsub(
        Lua54,
        b"a,b",
        b"%a",
        Replacement::Callback,
        None,
        &mut out,
        &mut NoInterrupt,
    )
    .unwrap();
    assert_eq!((out.0, r.count, r.changed), (b"<>,<>".to_vec(), 2, true));

    struct Keep(Vec<u8>);
    impl GsubHandler for Keep {
        fn output(&mut self, b: &[u8]) -> Result<(), MatchError> {
            self.0.extend_from_slice(b);
            Ok(())
        }
        fn replace(&mut self, _m: &Match) -> Result<Replaced, MatchError> {
            Ok(Replaced::Keep)
        }
    }
    let mut keep = Keep(vec![]);
    let r = lua_patterns::gsub(
        Lua54,
        b"a,b",
        b"%a",
        Replacement::Callback,
        None,
        &mut keep,
        &mut NoInterrupt,
    )
    .unwrap();
    assert_eq!((keep.0, r.count, r.changed), (b"a,b".to_vec(), 2, false));
}

#[test]
fn interrupt_stops_catastrophic_backtracking() {
    let subject = "a".repeat(40);
    let pattern = "a?".repeat(40) + &"a".repeat(40);
    let mut calls = 0u32;
    let mut check = || {
        calls += 1;
        calls > 10
    };
    let started = std::time::Instant::now();
    let r = lua_patterns::find(
        Lua54,
        subject.as_bytes(),
        pattern.as_bytes(),
        None,
        false,
        &mut check,
    );
    assert_eq!(r, Err(MatchError::Interrupted));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    assert_eq!(calls, 11);
}

#[test]
fn interrupt_stops_long_scans() {
    // One pass over a big subject is also checked (here: a plain search, a '.-' scan, %b).
    let big = vec![b'a'; 10_000_000];
    for (p, plain) in [
        (&b"ab"[..], true),
        (b".-b", false),
        (b"%bab", false),
        (b"a*b", false),
    ] {
        let mut calls = 0u32;
        let mut check = || {
            calls += 1;
            true
        };
        let r = lua_patterns::find(Lua54, &big, p, None, plain, &mut check);
        assert_eq!(r, Err(MatchError::Interrupted), "{}", p.escape_ascii());
        assert_eq!(calls, 1);
    }
}

#[test]
fn interrupt_reaches_every_kind_of_long_work() {
    // Each case would run for seconds or more; the first check (after ~1024 steps of
    // work) must stop it.
    let a = vec![b'a'; 200_000];
    let mut long_literal = vec![b'a'; 100_000];
    long_literal.push(b'b');
    let mut long_set = b"[".to_vec();
    long_set.extend(std::iter::repeat_n(b'x', 100_000));
    long_set.extend_from_slice(b"a]*b");
    let mut long_set_lazy = long_set.clone();
    long_set_lazy.truncate(long_set.len() - 2);
    long_set_lazy.extend_from_slice(b"-b");
    let backref = b"(a*)%1b".to_vec();
    for p in [long_literal, long_set, long_set_lazy, backref] {
        let mut calls = 0u32;
        let mut check = || {
            calls += 1;
            true
        };
        let started = std::time::Instant::now();
        let r = lua_patterns::find(Lua54, &a, &p, None, false, &mut check);
        assert_eq!(
            r,
            Err(MatchError::Interrupted),
            "{}",
            p[..20].escape_ascii()
        );
        assert_eq!(calls, 1);
        assert!(started.elapsed() < std::time::Duration::from_millis(200));
    }
}

#[test]
fn errors_are_small_plain_values() {
    assert!(std::mem::size_of::<MatchError>() <= 24);
    assert_eq!(
        MatchError::from(PatternError::InvalidReplacementValue("table")).to_string(),
        "invalid replacement value (a table)"
    );
}

#[test]
fn no_panics_on_random_bytes() {
    // Arbitrary bytes as subject, pattern and replacement, in every dialect and function:
    // results or errors, never a panic or an endless loop.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    const BYTES: &[u8] = b"%[]^$()*+-?.abfz019\0\xff";
    for _ in 0..20_000 {
        let mut gen_bytes = |max: u64| -> Vec<u8> {
            let n = next() % max;
            (0..n)
                .map(|_| BYTES[(next() % BYTES.len() as u64) as usize])
                .collect()
        };
        let (s, p, r) = (gen_bytes(12), gen_bytes(10), gen_bytes(6));
        let init = Some((next() % 30) as i64 - 15);
        for d in Dialect::ALL {
            let ni = &mut NoInterrupt;
            if let Ok(Some(m)) = lua_patterns::find(d, &s, &p, init, next() % 4 == 0, ni) {
                for i in 0..m.captures.len() {
                    let _ = m.find_capture(d, i);
                }
            }
            if let Ok(Some(m)) = lua_patterns::str_match(d, &s, &p, init, ni) {
                for i in 0..m.value_count() {
                    let _ = m.value(d, i);
                }
            }
            let mut st = GmatchState::new(d, s.len(), init);
            for _ in 0..(s.len() + 2) {
                if !matches!(st.next(d, &s, &p, ni), Ok(Some(_))) {
                    break;
                }
            }
            let mut out = Out(vec![]);
            let _ = lua_patterns::gsub(d, &s, &p, Replacement::Str(&r), init, &mut out, ni);
            let _ = lua_patterns::match_at(d, &s, &p, s.len() / 2, ni);
        }
    }
}
