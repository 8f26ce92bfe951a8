//! Differential test: this crate against the C implementation of one Lua flavour, over many
//! random patterns, subjects, init values, replacements and replacement limits.
//!
//! Run per flavour (mlua-sys builds exactly one):
//!
//! ```sh
//! cargo test -p lua-patterns --features lua54,vendored --test differential
//! ```
//!
//! with `lua51`, `lua52`, `lua53`, `lua54`, `lua55`, `luajit` or `luau`.  Environment:
//! `LUA_PATTERNS_CASES` (default 20000) and `LUA_PATTERNS_SEED` (default fixed).
//!
//! Both sides produce the same serialised text for each case: the values returned (strings
//! hex-encoded, numbers in decimal), or `E:` and the error message without the position
//! prefix.  Lua computes it with a small driver chunk; Rust with the crate's API, used the
//! way the glue will use it (including simulated replacement functions and tables).
#![cfg(any(
    feature = "lua51",
    feature = "lua52",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55",
    feature = "luajit",
    feature = "luau"
))]

use std::ffi::c_int;

use lua_patterns::{
    Capture, Dialect, GmatchState, GsubHandler, Match, MatchError, NoInterrupt, PatternError,
    Replaced, Replacement,
};
use mlua_sys as ffi;

#[cfg(feature = "lua51")]
const DIALECT: Dialect = Dialect::Lua51;
#[cfg(feature = "lua52")]
const DIALECT: Dialect = Dialect::Lua52;
#[cfg(feature = "lua53")]
const DIALECT: Dialect = Dialect::Lua53;
#[cfg(feature = "lua54")]
const DIALECT: Dialect = Dialect::Lua54;
#[cfg(feature = "lua55")]
const DIALECT: Dialect = Dialect::Lua55;
#[cfg(feature = "luajit")]
const DIALECT: Dialect = Dialect::LuaJit21;
#[cfg(feature = "luau")]
const DIALECT: Dialect = Dialect::Luau;

mod cases;

use cases::{Arg, Case, DRIVER, Rng, case, show};

struct Lua(*mut ffi::lua_State);

impl Lua {
    fn new() -> Lua {
        // SAFETY: plain Lua C API use on a state owned by this struct; every call gets a
        // valid state and balanced stack.
        unsafe {
            let l = ffi::luaL_newstate();
            assert!(!l.is_null());
            ffi::luaL_openlibs(l);
            let rc = ffi::luaL_loadbuffer(l, DRIVER.as_ptr().cast(), DRIVER.len(), c"=t".as_ptr());
            assert_eq!(rc, 0, "driver does not compile: {}", Lua::top_string(l));
            let rc = ffi::lua_pcall(l, 0, 0, 0);
            assert_eq!(rc, 0, "driver failed: {}", Lua::top_string(l));
            Lua(l)
        }
    }

    unsafe fn top_string(l: *mut ffi::lua_State) -> String {
        let mut len = 0usize;
        // SAFETY: the caller guarantees a valid state with a value on top.
        let p = unsafe { ffi::lua_tolstring(l, -1, &mut len) };
        if p.is_null() {
            return "(not a string)".into();
        }
        // SAFETY: lua_tolstring returned a pointer to `len` bytes owned by the state.
        String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) })
            .into_owned()
    }

    unsafe fn push(l: *mut ffi::lua_State, a: &Arg) {
        // SAFETY: valid state, one value pushed.
        unsafe {
            match a {
                Arg::Nil => ffi::lua_pushnil(l),
                Arg::Int(i) => ffi::lua_pushinteger(l, *i as _),
                Arg::Bool(b) => ffi::lua_pushboolean(l, *b as c_int),
                Arg::Str(s) => {
                    ffi::lua_pushlstring(l, s.as_ptr().cast(), s.len());
                }
                Arg::Float(n) => ffi::lua_pushnumber(l, *n),
                Arg::Global(name) => {
                    let name = std::ffi::CString::new(*name).unwrap();
                    ffi::lua_getglobal(l, name.as_ptr());
                }
            }
        }
    }

    fn run(&self, c: &Case) -> String {
        let l = self.0;
        // SAFETY: valid state; the stack is reset after the call.
        unsafe {
            ffi::lua_getglobal(l, c"drive".as_ptr());
            Lua::push(l, &Arg::Int(c.op));
            Lua::push(l, &Arg::Str(c.s.clone()));
            Lua::push(l, &Arg::Str(c.p.clone()));
            Lua::push(l, &c.a);
            Lua::push(l, &c.b);
            let rc = ffi::lua_pcall(l, 5, 1, 0);
            let r = Lua::top_string(l);
            ffi::lua_settop(l, 0);
            assert_eq!(rc, 0, "driver raised: {r}");
            r
        }
    }
}

impl Drop for Lua {
    fn drop(&mut self) {
        // SAFETY: the state was created by luaL_newstate and is closed once.
        unsafe { ffi::lua_close(self.0) }
    }
}

// ---- the Rust side -------------------------------------------------------------------

fn hex(s: &[u8]) -> String {
    s.iter().map(|b| format!("{b:02x}")).collect()
}

fn err(e: MatchError) -> String {
    format!("E:{e}")
}

fn ser_capture(s: &[u8], c: Capture) -> String {
    match c {
        Capture::Str { start, end } => format!("s{}", hex(&s[start..end])),
        Capture::Position(n) => format!("n{n}"),
    }
}

/// The values of match/gmatch/function calls, or the first error.
fn values(m: &Match) -> Result<Vec<Capture>, MatchError> {
    (0..m.value_count()).map(|i| m.value(DIALECT, i)).collect()
}

fn tostring(s: &[u8], c: Capture) -> Vec<u8> {
    match c {
        Capture::Str { start, end } => s[start..end].to_vec(),
        Capture::Position(n) => n.to_string().into_bytes(),
    }
}

struct Handler<'a> {
    s: &'a [u8],
    out: Vec<u8>,
    /// 0: string replacement; 1..=6: function F[mode]; 7: table T
    mode: i64,
}

impl GsubHandler for Handler<'_> {
    fn output(&mut self, bytes: &[u8]) -> Result<(), MatchError> {
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn replace(&mut self, m: &Match) -> Result<Replaced, MatchError> {
        let s = self.s;
        if self.mode == 7 {
            let key = m.value(DIALECT, 0)?;
            let v: Option<Result<&[u8], &str>> = match key {
                Capture::Str { start, end } => match &s[start..end] {
                    b"a" => Some(Ok(b"A")),
                    b"ab" => Some(Ok(b"<ab>")),
                    b"b" => None,
                    b"1" => Some(Ok(b"S1")),
                    b"" => Some(Ok(b"empty")),
                    b"x" => Some(Ok(b"X")),
                    b"(" => Some(Err("table")),
                    _ => None,
                },
                Capture::Position(1) => Some(Ok(b"one")),
                Capture::Position(2) => Some(Ok(b"7")),
                Capture::Position(3) => Some(Err("table")),
                Capture::Position(_) => None,
            };
            return match v {
                None => Ok(Replaced::Keep),
                Some(Ok(b)) => {
                    self.out.extend_from_slice(b);
                    Ok(Replaced::Written)
                }
                Some(Err(t)) => Err(PatternError::InvalidReplacementValue(t).into()),
            };
        }
        let vals = values(m)?;
        match self.mode {
            1 => {
                let parts: Vec<Vec<u8>> = vals.iter().map(|&c| tostring(s, c)).collect();
                self.out.push(b'<');
                self.out.extend_from_slice(&parts.join(&b'|'));
                self.out.push(b'>');
                Ok(Replaced::Written)
            }
            2 | 3 => Ok(Replaced::Keep),
            4 => Err(PatternError::InvalidReplacementValue("table").into()),
            5 => {
                self.out.extend_from_slice(b"42");
                Ok(Replaced::Written)
            }
            6 => {
                let a = tostring(s, vals[0]);
                if a.len().is_multiple_of(2) {
                    self.out.push(b'[');
                    self.out.extend_from_slice(&a);
                    self.out.push(b']');
                    Ok(Replaced::Written)
                } else {
                    Ok(Replaced::Keep)
                }
            }
            _ => unreachable!(),
        }
    }
}

fn rust_run(c: &Case) -> String {
    let d = DIALECT;
    let (s, p) = (&c.s[..], &c.p[..]);
    let ni = &mut NoInterrupt;
    match c.op {
        1 => match lua_patterns::find(d, s, p, c.a.int(), c.b.truthy(), ni) {
            Err(e) => err(e),
            Ok(None) => "nil".into(),
            Ok(Some(m)) => {
                let mut parts = vec![format!("n{}", m.start + 1), format!("n{}", m.end)];
                for i in 0..m.captures.len() {
                    match m.find_capture(d, i) {
                        Ok(v) => parts.push(ser_capture(s, v)),
                        Err(e) => return err(e),
                    }
                }
                parts.join(",")
            }
        },
        2 => match lua_patterns::str_match(d, s, p, c.a.int(), ni) {
            Err(e) => err(e),
            Ok(None) => "nil".into(),
            Ok(Some(m)) => match values(&m) {
                Ok(v) => v
                    .iter()
                    .map(|&c| ser_capture(s, c))
                    .collect::<Vec<_>>()
                    .join(","),
                Err(e) => err(e),
            },
        },
        3 => {
            let mut st = GmatchState::new(d, s.len(), c.a.int());
            let mut res = vec![];
            for _ in 0..40 {
                match st.next(d, s, p, ni) {
                    Err(e) => {
                        res.push(err(e));
                        break;
                    }
                    Ok(None) => break,
                    Ok(Some(m)) => match values(&m) {
                        Ok(v) => res.push(
                            v.iter()
                                .map(|&c| ser_capture(s, c))
                                .collect::<Vec<_>>()
                                .join(","),
                        ),
                        Err(e) => {
                            res.push(err(e));
                            break;
                        }
                    },
                }
            }
            res.join(";")
        }
        _ => {
            let (repl, mode) = match (&c.op, &c.a) {
                (4, Arg::Str(r)) => (Replacement::Str(r), 0),
                (5, Arg::Int(m)) => (Replacement::Callback, *m),
                (6, _) => (Replacement::Callback, 7),
                _ => unreachable!(),
            };
            let mut h = Handler {
                s,
                out: vec![],
                mode,
            };
            match lua_patterns::gsub(d, s, p, repl, c.b.int(), &mut h, ni) {
                Err(e) => err(e),
                Ok(r) => format!("s{},n{}", hex(&h.out), r.count),
            }
        }
    }
}

#[test]
fn matches_the_c_implementation() {
    let cases: usize = std::env::var("LUA_PATTERNS_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("LUA_PATTERNS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let lua = Lua::new();
    let mut rng = Rng(seed | 1);
    let mut failures = vec![];
    let mut errors = 0;
    let mut found = 0;
    let show_cases: usize = std::env::var("LUA_PATTERNS_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    for n in 0..cases {
        let c = case(&mut rng);
        let want = lua.run(&c);
        let got = rust_run(&c);
        if n < show_cases {
            eprintln!(
                "op {} s \"{}\" p \"{}\" a {:?} b {:?} -> {want}",
                c.op,
                show(&c.s),
                show(&c.p),
                c.a,
                c.b
            );
        }
        if want.starts_with("E:") {
            errors += 1;
        } else if want != "nil" && !want.is_empty() {
            found += 1;
        }
        if want != got {
            failures.push((n, c, want, got));
        }
    }
    for (n, c, want, got) in failures.iter().take(25) {
        eprintln!(
            "case {n}: op {} s \"{}\" p \"{}\" a {:?} b {:?}\n   C: {want}\n   Rust: {got}",
            c.op,
            show(&c.s),
            show(&c.p),
            c.a,
            c.b
        );
    }
    eprintln!(
        "{DIALECT:?}: {cases} cases (seed {seed}), {found} with results, {errors} raising an error \
         in C, {} mismatches",
        failures.len()
    );
    assert!(failures.is_empty());
}
