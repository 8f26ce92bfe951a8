//! The pattern functions that `open_state` installs (`src/strlib`, `lua-patterns`' matcher)
//! against the flavour's own C functions, in the same build: the same Lua snippets timed in a
//! state made by `open_state` and in a plain one (`luaL_newstate` + `luaL_openlibs`).
//!
//! `cargo bench -p safe-lua --features lua54,vendored --bench patterns` (any flavour; on
//! LuaJIT also with the trace compiler off: `PATTERNS_JIT_OFF=1`; `PATTERNS_FILTER=text` runs
//! the cases whose name contains the text).  Prints the time per call
//! on each side and the ratio (ours / C), the best of several runs.

use std::time::Instant;

use mlua_sys as ffi;
use safe_lua::{StateConfig, StateData, close_state, open_state};

const SETUP: &str = r#"
text = ("the quick brown fox jumps over the lazy dog "):rep(250)
rare = ("a"):rep(1000000) .. "b"
frequent = ("ab"):rep(50000) .. "ac"
lookup = {the = "THE", fox = false}
upper = string.upper
"#;

/// (name, statement run `n` times in a loop, n)
const CASES: &[(&str, &str, u32)] = &[
    (
        "find plain, rare byte in 1 MB",
        "rare:find('b', 1, true)",
        200,
    ),
    (
        "find plain, frequent first byte, 100 KB",
        "frequent:find('ac', 1, true)",
        200,
    ),
    (
        "find pattern, short subject",
        "('hello world from lua'):find('(%w+) (%w+)$')",
        200_000,
    ),
    (
        "match with captures",
        "('key = value'):match('(%w+)%s*=%s*(%w+)')",
        200_000,
    ),
    ("match anchored, no match", "text:match('^%d+')", 200_000),
    (
        "gmatch words, 11 KB",
        "for w in text:gmatch('%a+') do end",
        500,
    ),
    (
        "gsub words with '<%0>', 11 KB",
        "text:gsub('%w+', '<%0>')",
        500,
    ),
    ("gsub words with a function", "text:gsub('%w+', upper)", 300),
    ("gsub words with a table", "text:gsub('%w+', lookup)", 300),
    ("gsub every byte with '%0'", "text:gsub('.', '%0')", 300),
    ("gsub without a match, 11 KB", "text:gsub('xyz', '')", 2000),
    ("gsub frontier", "text:gsub('%f[%w]%w', '#')", 500),
    (
        "backtracking find",
        "(('a'):rep(24)):find(('a?'):rep(12) .. ('a'):rep(12))",
        200,
    ),
];

struct Runner(*mut ffi::lua_State);

impl Runner {
    fn exec(&self, code: &str) {
        let l = self.0;
        // SAFETY: a valid state; the stack is reset.
        unsafe {
            let status =
                ffi::luaL_loadbuffer(l, code.as_ptr().cast(), code.len(), c"=bench".as_ptr());
            let status = if status == 0 {
                ffi::lua_pcall(l, 0, 0, 0)
            } else {
                status
            };
            if status != 0 {
                let mut len = 0;
                let p = ffi::lua_tolstring(l, -1, &mut len);
                let message = std::slice::from_raw_parts(p.cast::<u8>(), len);
                panic!("{}", String::from_utf8_lossy(message));
            }
            ffi::lua_settop(l, 0);
        }
    }

    /// Seconds per call of `statement`, one run of `n` calls.
    fn time(&self, statement: &str, n: u32) -> f64 {
        let code = format!("for _ = 1, {n} do {statement} end");
        let started = Instant::now();
        self.exec(&code);
        started.elapsed().as_secs_f64() / f64::from(n)
    }
}

/// Runs per side and case, alternating between the sides (the best run counts: the machine
/// may be shared).
const ROUNDS: usize = 15;

fn main() {
    let data = Box::new(StateData::default());
    let ours = open_state(&StateConfig {
        data: &data,
        count_memory: false,
        hash_seed: None,
        registered: &[],
    })
    .expect("a state");
    ours.gc_restart();
    // SAFETY: a fresh state, closed below.
    let plain = unsafe { ffi::luaL_newstate() };
    // SAFETY: as above.
    unsafe { ffi::luaL_openlibs(plain) };
    let (ours_r, c_r) = (Runner(ours.as_ptr()), Runner(plain));
    let jit_off = std::env::var_os("PATTERNS_JIT_OFF").is_some();
    for r in [&ours_r, &c_r] {
        r.exec(SETUP);
        if jit_off {
            r.exec("if jit then jit.off() end");
        }
    }
    println!("{:<44} {:>12} {:>12} {:>7}", "case", "ours", "C", "ratio");
    let filter = std::env::var("PATTERNS_FILTER").unwrap_or_default();
    let cases: Vec<_> = CASES.iter().filter(|c| c.0.contains(&filter)).collect();
    let mut log_sum = 0.0;
    for (name, statement, n) in &cases {
        let (mut a, mut b) = (f64::MAX, f64::MAX);
        for _ in 0..ROUNDS {
            a = a.min(ours_r.time(statement, *n));
            b = b.min(c_r.time(statement, *n));
        }
        log_sum += (a / b).ln();
        println!(
            "{name:<44} {:>10.0}ns {:>10.0}ns {:>7.2}",
            a * 1e9,
            b * 1e9,
            a / b
        );
    }
    let geomean = (log_sum / cases.len() as f64).exp();
    println!("geometric mean of the ratios: {geomean:.2}");
    // SAFETY: not used afterwards.
    unsafe {
        close_state(ours);
        ffi::lua_close(plain);
    }
}
