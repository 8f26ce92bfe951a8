//! `string.find`, `match`, `gmatch` and `gsub` as `open_state` installs them (`src/strlib`,
//! with `lua-patterns`' matcher) against the C functions of the same Lua library, in a plain
//! state (`luaL_newstate` + `luaL_openlibs`): the same random cases through both, the same
//! serialised results and error messages (with their positions), and limits that stop a
//! match that backtracks for hours.
//!
//! `cargo test -p safe-lua --features lua54,vendored --test strlib` (any flavour); the
//! environment variables `LUA_PATTERNS_CASES` (default 20000) and `LUA_PATTERNS_SEED` set the
//! number of cases and the seed, `LUA_PATTERNS_SHOW` how many calls with odd arguments to show.  The cases are those of `lua-patterns`' differential test
//! (`crates/lua-patterns/tests/cases`), plus calls with arguments of every type, as methods,
//! through `pcall` and under `xpcall` with `debug.traceback`.

mod common;

#[path = "../../lua-patterns/tests/cases/mod.rs"]
mod cases;

use std::ffi::{CString, c_int};
use std::time::{Duration, Instant};

use cases::{Arg, Case, DRIVER, ODD_DRIVER, OddCase, Rng, case, odd_case, show};
use common::Lua;
use lua_patterns::Dialect;
use mlua_sys as ffi;
use safe_lua::{Budget, Trip};

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

/// A plain state: the flavour's own C functions.
struct Plain(*mut ffi::lua_State);

impl Plain {
    fn new() -> Plain {
        // SAFETY: a fresh state owned by this struct.
        let l = unsafe { ffi::luaL_newstate() };
        assert!(!l.is_null());
        // SAFETY: as above; nothing else uses it.
        unsafe { ffi::luaL_openlibs(l) };
        Plain(l)
    }
}

impl Drop for Plain {
    fn drop(&mut self) {
        // SAFETY: created by luaL_newstate, closed once.
        unsafe { ffi::lua_close(self.0) }
    }
}

/// Runs `code` (a chunk named `t`, for the error positions) on `l`; panics on an error.
fn exec(l: *mut ffi::lua_State, code: &str) {
    // SAFETY: a valid state; the stack is reset.
    unsafe {
        let status = ffi::luaL_loadbuffer(l, code.as_ptr().cast(), code.len(), c"=t".as_ptr());
        let status = if status == 0 {
            ffi::lua_pcall(l, 0, 0, 0)
        } else {
            status
        };
        assert_eq!(status, 0, "{}", top_string(l));
        ffi::lua_settop(l, 0);
    }
}

fn prepare(l: *mut ffi::lua_State) {
    exec(l, DRIVER);
    exec(l, ODD_DRIVER);
    exec(l, "KEEP_POSITIONS = true");
}

fn top_string(l: *mut ffi::lua_State) -> String {
    let mut len = 0usize;
    // SAFETY: a valid state with a value on top.
    let p = unsafe { ffi::lua_tolstring(l, -1, &mut len) };
    if p.is_null() {
        return "(not a string)".into();
    }
    // SAFETY: lua_tolstring returned `len` bytes owned by the state.
    String::from_utf8_lossy(unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) }).into_owned()
}

fn push(l: *mut ffi::lua_State, a: &Arg) {
    // SAFETY: a valid state with room (the drivers take few arguments).
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
                let name = CString::new(*name).unwrap();
                ffi::lua_getglobal(l, name.as_ptr());
            }
        }
    }
}

/// Calls global `function` with `args`; returns its string result.
fn call(l: *mut ffi::lua_State, function: &std::ffi::CStr, args: &[Arg]) -> String {
    // SAFETY: a valid state; the stack is reset afterwards.
    unsafe {
        assert!(ffi::lua_checkstack(l, args.len() as c_int + 2) != 0);
        ffi::lua_getglobal(l, function.as_ptr());
        for a in args {
            push(l, a);
        }
        let status = ffi::lua_pcall(l, args.len() as c_int, 1, 0);
        let result = top_string(l);
        ffi::lua_settop(l, 0);
        assert_eq!(status, 0, "the driver raised: {result}");
        result
    }
}

fn run_case(l: *mut ffi::lua_State, c: &Case) -> String {
    let args = [
        Arg::Int(c.op),
        Arg::Str(c.s.clone()),
        Arg::Str(c.p.clone()),
        c.a.clone(),
        c.b.clone(),
    ];
    call(l, c"drive", &args)
}

fn run_odd(l: *mut ffi::lua_State, c: &OddCase) -> String {
    let mut args = vec![
        Arg::Int(c.how),
        Arg::Str(c.fname.as_bytes().to_vec()),
        Arg::Int(c.args.len() as i64),
    ];
    args.extend(c.args.iter().cloned());
    call(l, c"drive_odd", &args)
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_installed_functions_give_the_c_library_s_results() {
    let cases = env("LUA_PATTERNS_CASES", 20_000);
    let seed = env("LUA_PATTERNS_SEED", 0x5eed_5afe_1a55_0001);
    let c_side = Plain::new();
    let ours = Lua::new();
    prepare(c_side.0);
    prepare(ours.0.as_ptr());
    let show_cases = env("LUA_PATTERNS_SHOW", 0);
    let mut rng = Rng(seed | 1);
    let (mut failures, mut errors, mut odd_failures) = (vec![], 0, vec![]);
    for n in 0..cases {
        let c = case(&mut rng);
        let want = run_case(c_side.0, &c);
        let got = run_case(ours.0.as_ptr(), &c);
        errors += want.starts_with("E:") as usize;
        if want != got {
            failures.push((n, c, want, got));
        }
        if n % 4 == 0 {
            let c = odd_case(&mut rng);
            let want = run_odd(c_side.0, &c);
            let got = run_odd(ours.0.as_ptr(), &c);
            if n / 4 < show_cases {
                eprintln!("odd case {n}: {c:?}\n   -> {want}");
            }
            if want != got {
                odd_failures.push((n, c, want, got));
            }
        }
    }
    for (n, c, want, got) in failures.iter().take(20) {
        eprintln!(
            "case {n}: op {} s \"{}\" p \"{}\" a {:?} b {:?}\n   C:    {want}\n   ours: {got}",
            c.op,
            show(&c.s),
            show(&c.p),
            c.a,
            c.b
        );
    }
    for (n, c, want, got) in odd_failures.iter().take(20) {
        eprintln!("odd case {n}: {c:?}\n   C:    {want}\n   ours: {got}");
    }
    eprintln!(
        "{DIALECT:?}: {cases} cases + {} with odd arguments (seed {seed}), {errors} raising an \
         error in C; {} + {} mismatches",
        cases.div_ceil(4),
        failures.len(),
        odd_failures.len()
    );
    assert!(failures.is_empty() && odd_failures.is_empty());
}

/// The catastrophic pattern of the module docs: 2^40 steps of backtracking.
const CATASTROPHIC: &str = "local s, p = ('a'):rep(40), ('a?'):rep(40) .. ('a'):rep(40)";

/// Runs `code` as one entry with `budget`; returns which limit tripped and how long it took.
fn run_limited(lua: &Lua, code: &str, budget: Budget) -> (Option<Trip>, Duration) {
    let limits = &lua.data().limits;
    safe_lua::jit::forbid(lua.0, lua.data(), true);
    let started = Instant::now();
    limits.begin(lua.0, budget);
    let status = lua.run(code);
    let tripped = limits.tripped();
    limits.end();
    let elapsed = started.elapsed();
    lua.0.set_top(0);
    if tripped.is_none() {
        assert_eq!(status, safe_lua::sys::LUA_OK, "{code}");
    }
    (tripped, elapsed)
}

const CATASTROPHIC_CALLS: [&str; 5] = [
    "return s:find(p)",
    "return string.match(s, p)",
    "for m in s:gmatch(p) do end",
    "return s:gsub(p, '')",
    "return s:gsub(p, function() end)",
];

#[test]
fn a_timeout_stops_a_match_that_backtracks_for_hours() {
    let lua = Lua::new();
    let budget = Budget {
        timeout: Some(Duration::from_millis(200)),
        ..Budget::default()
    };
    for call in CATASTROPHIC_CALLS {
        // pcall cannot catch it either.
        let code =
            format!("{CATASTROPHIC} local ok = pcall(function() {call} end) while not ok do end");
        let (tripped, elapsed) = run_limited(&lua, &code, budget);
        assert_eq!(tripped, Some(Trip::Timeout), "{call}");
        assert!(elapsed < Duration::from_secs(3), "{call}: {elapsed:?}");
    }
    // Afterwards, matching works.
    assert_eq!(
        run_limited(&lua, "return ('abc'):find('b')", budget).0,
        None
    );
}

#[test]
fn an_instruction_budget_is_charged_for_matching() {
    let lua = Lua::new();
    let budget = Budget {
        max_instructions: Some(1_000_000),
        ..Budget::default()
    };
    for call in CATASTROPHIC_CALLS {
        let code = format!("{CATASTROPHIC} {call}");
        let (tripped, elapsed) = run_limited(&lua, &code, budget);
        assert_eq!(tripped, Some(Trip::Instructions), "{call}");
        assert!(elapsed < Duration::from_secs(3), "{call}: {elapsed:?}");
    }
    // A match that needs less than the budget is not stopped.
    let code = "return (('ab'):rep(10000)):gsub('%w', '%0')";
    assert_eq!(run_limited(&lua, code, budget).0, None);
}

#[test]
fn interrupt_stops_a_match_from_another_thread() {
    let lua = Lua::new();
    let limits = &lua.data().limits;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // (Interrupting before the entry runs has no effect: retry until it trips.)
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(20));
                limits.interrupt();
                if limits.tripped().is_some() {
                    break;
                }
            }
        });
        let code = format!("{CATASTROPHIC} return s:find(p)");
        let (tripped, elapsed) = run_limited(&lua, &code, Budget::default());
        assert_eq!(tripped, Some(Trip::Interrupted));
        assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    });
}
