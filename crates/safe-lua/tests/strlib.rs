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

// Luau keeps its own string functions (its matcher calls the interrupt callback at every
// step, so the limits reach inside a match without `strlib`): nothing to compare there.
#![cfg(not(feature = "luau"))]

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

/// Runs `f` on a thread with a large stack: debug builds use much more stack per level of
/// nested C calls than the release builds that users run, and C Lua's limit on nested C
/// calls must be what stops the deep cases, as in a release build.
fn with_big_stack(f: impl FnOnce() + Send) {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .stack_size(256 << 20)
            .spawn_scoped(scope, f)
            .unwrap()
            .join()
            .unwrap()
    })
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_installed_functions_give_the_c_library_s_results() {
    with_big_stack(differential);
}

fn differential() {
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

/// Chunks whose results (or error) must be the same with both implementations: corners that
/// the random cases do not reach.
const SNIPPETS: &[&str] = &[
    // yield across the C call, inside a coroutine
    "return coroutine.wrap(function() return pcall(string.gsub, 'abc', '%w', coroutine.yield) end)()",
    // errors of any type from a replacement function, and levels
    "return pcall(string.gsub, 'abc', '%w', function() error({}) end)",
    "return pcall(string.gsub, 'abc', '%w', function() error('lvl2', 2) end)",
    "local ok, e = pcall(function() return ('abc'):gsub('%w', function() error('x') end) end) return e",
    // numbers as replacement values, formatted as lua_tolstring does
    "return ('abc'):gsub('%w', function(c) return c == 'a' and 1.5 or c == 'b' and 2^53 or -0.0 end)",
    "return ('abc'):gsub('%w', {a = 1e100, b = 7, c = 0/0 ~= 0/0 and 3 or 4})",
    "return ('a b'):gsub('%w', 10)",
    "return ('a b'):gsub('()', 1.25)",
    // a replacement table with __index, and one that raises
    "return ('abc'):gsub('%w', setmetatable({}, {__index = function(t, k) return k:upper() end}))",
    "return pcall(string.gsub, 'abc', '%w', setmetatable({}, {__index = function() error('idx') end}))",
    // replacement functions that run string functions themselves, deeply
    "local function f(s) return #s < 2 and s or (s:gsub('^.', function(c) return f(s:sub(2)) .. c end)) end return f('abcdef')",
    // (endless recursion through gsub: Lua's limit of nested C calls; LuaJIT has none, and
    // crashes: see `endless_recursion_through_gsub_is_an_error`)
    #[cfg(not(feature = "luajit"))]
    "local function f(s) return (s:gsub('^.', f)) end return pcall(f, ('x'):rep(400))",
    #[cfg(not(feature = "luajit"))]
    "local n = 0 local function f() n = n + 1 return ('x'):gsub('x', f) end return pcall(f), n > 100",
    // n as a float, a numeric string, out of range
    "return pcall(string.gsub, 'aaa', 'a', 'b', 2.0)",
    "return pcall(string.gsub, 'aaa', 'a', 'b', '2')",
    "return pcall(string.gsub, 'aaa', 'a', 'b', 2.5)",
    "return pcall(string.gsub, 'aaa', 'a', 'b', 2^63)",
    // tail calls (no name for the function on some flavours)
    "return pcall(function() return ('x'):find('[') end)",
    "return pcall(function() return string.gsub('x', 'x', true) end)",
    // gmatch iterators: kept after the loop, called again; several at once
    "local it = ('a1b2'):gmatch('%a(%d)') return it(), it(), it(), it()",
    "local a, b = ('xy'):gmatch('.'), ('xy'):gmatch('.') return a(), b(), a(), b(), a()",
    "local t = {} for k, v in ('a=1, b=2'):gmatch('(%w+)=(%w+)') do t[#t + 1] = k .. v end return table.concat(t, ' ')",
    // long results (the buffer grows), empty matches, anchors, frontier
    "local s = ('abc'):rep(5000) local r, n = s:gsub('b', ('%0'):rep(10)) return #r, n, r:sub(1, 30)",
    "return ('hello world'):gsub('', '.')",
    "return ('hello'):gsub('^h', 'H'), ('hello'):gsub('^l', 'L')",
    "return ('THE (quick) fox'):gsub('%f[%a]%a+', '<%0>')",
    // the subject as a number, converted in place
    "return string.gsub(12345, 3, 'x'), string.find(1e15, '0+'), string.match(-0.5, '%d')",
];

#[test]
fn corner_cases_give_the_c_library_s_results() {
    with_big_stack(corner_cases);
}

fn corner_cases() {
    let c_side = Plain::new();
    let ours = Lua::new();
    let wrap = |code: &str| {
        format!(
            "local function ser(...) local t = {{}} for i = 1, select('#', ...) do \
             local v = select(i, ...) t[i] = type(v) == 'table' and 'table' or tostring(v) end \
             return table.concat(t, ', ') end \
             RESULT = ser(pcall(function() {code} end))"
        )
    };
    let mut mismatches = 0;
    for code in SNIPPETS {
        let results: Vec<String> = [c_side.0, ours.0.as_ptr()]
            .into_iter()
            .map(|l| {
                exec(l, &wrap(code));
                call(l, c"tostring", &[Arg::Global("RESULT")])
            })
            .collect();
        if results[0] != results[1] {
            mismatches += 1;
            eprintln!("{code}\n   C:    {}\n   ours: {}", results[0], results[1]);
        }
    }
    assert_eq!(mismatches, 0);
}

#[test]
fn endless_recursion_through_gsub_is_an_error() {
    let lua = Lua::new();
    let code = "local function f(s) return (s:gsub('^.', f)) end \
                local ok, e = pcall(f, 'x') return tostring(ok) .. ' ' .. e";
    assert_eq!(lua.run(code), safe_lua::sys::LUA_OK);
    let result = lua.text(-1);
    assert!(
        result.starts_with("false ") && result.ends_with("C stack overflow"),
        "{result}"
    );
}

/// Scripts that replace what a pattern function is reading (the C library would read freed
/// memory): an error, or a result, never a crash.
#[test]
fn tampering_with_the_debug_library_is_an_error() {
    let lua = Lua::new();
    let setup = "local function tamper(value) \
                   for i = 1, 8 do debug.setlocal(3, i, value) end \
                   collectgarbage() collectgarbage() \
                 end ";
    for (code, changed) in [
        // gsub's subject, pattern, replacement and buffer, from a replacement function
        (
            "return pcall(string.gsub, ('x'):rep(3000) .. 'y', 'x', function() tamper(nil) return 'ab' end)",
            true,
        ),
        (
            "return pcall(string.gsub, ('x'):rep(3000) .. 'y', 'x', function() tamper(('z'):rep(9)) return 'ab' end)",
            true,
        ),
        (
            "return pcall(string.gsub, ('x'):rep(3000) .. 'y', 'x', setmetatable({}, {__index = function() tamper({}) end}))",
            true,
        ),
        // gmatch's state (Lua 5.1's debug.setupvalue does not touch C functions)
        (
            "local it = ('abc'):gmatch('.') debug.setupvalue(it, 1, {}) return pcall(it)",
            !cfg!(feature = "lua51"),
        ),
        (
            "local it = ('abc'):gmatch('.') debug.setupvalue(it, 3, 2^60) return pcall(it)",
            false,
        ),
        (
            "local it = ('abc'):gmatch('.') debug.setupvalue(it, 3, io.stdout) return pcall(it)",
            false,
        ),
        (
            "local it, other = ('abc'):gmatch('.'), (('x'):rep(100)):gmatch('x') for _ = 1, 50 do other() end \
          debug.setupvalue(it, 3, (select(2, debug.getupvalue(other, 3)))) return pcall(it)",
            false,
        ),
    ] {
        let status = lua.run(&format!(
            "{setup} return tostring((select(2, (function() {code} end)())))"
        ));
        assert_eq!(status, safe_lua::sys::LUA_OK, "{code}: {}", lua.text(-1));
        // (`debug.setlocal` cannot reach C functions' slots on LuaJIT.)
        if changed && !cfg!(feature = "luajit") {
            let message = lua.text(-1);
            assert!(
                message.contains("changed while it ran"),
                "{code}: {message}"
            );
        }
        lua.0.set_top(0);
    }
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
