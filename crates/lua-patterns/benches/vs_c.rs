//! Speed of this crate against the C implementation of one flavour, on a 1 MB subject.
//!
//! `cargo bench -p lua-patterns --features lua54,vendored --bench vs_c`
//!
//! The C side runs through a Lua function that calls the library function `reps` times;
//! for a 1 MB subject the Lua call overhead is negligible, except for gmatch, where the C
//! side also runs a Lua loop and creates a Lua string per match (the Rust side only finds
//! the matches): that row is an upper bound of the C cost.  LuaJIT runs with its JIT
//! compiler off (it would hoist the loop-invariant plain `find` out of the loop).

#[cfg(any(
    feature = "lua51",
    feature = "lua52",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55",
    feature = "luajit",
    feature = "luau"
))]
mod bench {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use lua_patterns::{
        Dialect, GmatchState, GsubHandler, Interrupt, Match, MatchError, NoInterrupt, Replaced,
        Replacement,
    };
    use mlua_sys as ffi;

    #[cfg(feature = "lua51")]
    const D: Dialect = Dialect::Lua51;
    #[cfg(feature = "lua52")]
    const D: Dialect = Dialect::Lua52;
    #[cfg(feature = "lua53")]
    const D: Dialect = Dialect::Lua53;
    #[cfg(feature = "lua54")]
    const D: Dialect = Dialect::Lua54;
    #[cfg(feature = "lua55")]
    const D: Dialect = Dialect::Lua55;
    #[cfg(feature = "luajit")]
    const D: Dialect = Dialect::LuaJit21;
    #[cfg(feature = "luau")]
    const D: Dialect = Dialect::Luau;

    const DRIVER: &str = r#"
-- LuaJIT's compiler would hoist the loop-invariant plain find out of the loop.
if jit then jit.off() end
local find, gmatch, gsub = string.find, string.gmatch, string.gsub
function bench(op, s, p, r, reps)
  local x
  for _ = 1, reps do
    if op == 1 then x = find(s, p, 1, true)
    elseif op == 2 then x = find(s, p)
    elseif op == 3 then x = 0 for _ in gmatch(s, p) do x = x + 1 end
    else x = gsub(s, p, r) end
  end
  return x
end
"#;

    /// A 1 MB text: words, numbers, `key=value` pairs, spaces and newlines.
    fn subject() -> Vec<u8> {
        let words = [
            "lorem",
            "ipsum",
            "dolor",
            "sit",
            "amet",
            "key=value",
            "x=42",
            "consectetur",
        ];
        let mut s = Vec::with_capacity(1 << 20);
        let mut seed = 12345u64;
        while s.len() < (1 << 20) - 64 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as usize;
            if r.is_multiple_of(5) {
                s.extend_from_slice((r % 100000).to_string().as_bytes());
            } else {
                s.extend_from_slice(words[r % words.len()].as_bytes());
            }
            s.extend_from_slice(if r.is_multiple_of(13) {
                b"\n"
            } else if r.is_multiple_of(7) {
                b"  "
            } else {
                b" "
            });
        }
        s.extend_from_slice(b"zebra quartz");
        s
    }

    struct Lua(*mut ffi::lua_State);

    impl Lua {
        fn new() -> Lua {
            // SAFETY: a fresh state, a driver chunk that compiles; balanced stack.
            unsafe {
                let l = ffi::luaL_newstate();
                ffi::luaL_openlibs(l);
                assert_eq!(
                    ffi::luaL_loadbuffer(l, DRIVER.as_ptr().cast(), DRIVER.len(), c"=b".as_ptr()),
                    0
                );
                assert_eq!(ffi::lua_pcall(l, 0, 0, 0), 0);
                Lua(l)
            }
        }

        fn run(&self, op: i64, s: &[u8], p: &[u8], r: &[u8], reps: i64) -> Duration {
            let l = self.0;
            // SAFETY: valid state; pushes balanced by lua_pcall and lua_settop.
            unsafe {
                ffi::lua_getglobal(l, c"bench".as_ptr());
                ffi::lua_pushinteger(l, op as _);
                ffi::lua_pushlstring(l, s.as_ptr().cast(), s.len());
                ffi::lua_pushlstring(l, p.as_ptr().cast(), p.len());
                ffi::lua_pushlstring(l, r.as_ptr().cast(), r.len());
                ffi::lua_pushinteger(l, reps as _);
                let t = Instant::now();
                let rc = ffi::lua_pcall(l, 5, 1, 0);
                let el = t.elapsed();
                assert_eq!(rc, 0);
                ffi::lua_settop(l, 0);
                el
            }
        }
    }

    struct Buf(Vec<u8>);
    impl GsubHandler for Buf {
        fn output(&mut self, b: &[u8]) -> Result<(), MatchError> {
            self.0.extend_from_slice(b);
            Ok(())
        }
        fn replace(&mut self, _: &Match) -> Result<Replaced, MatchError> {
            unreachable!()
        }
    }

    fn rust(op: i64, s: &[u8], p: &[u8], r: &[u8], reps: i64, check: bool) -> Duration {
        if check {
            // An interrupt check as the glue will have it: one atomic load.
            static FLAG: AtomicBool = AtomicBool::new(false);
            let mut f = || FLAG.load(Ordering::Relaxed);
            rust_with(op, s, p, r, reps, &mut f)
        } else {
            rust_with(op, s, p, r, reps, &mut NoInterrupt)
        }
    }

    fn rust_with<I: Interrupt>(
        op: i64,
        s: &[u8],
        p: &[u8],
        r: &[u8],
        reps: i64,
        ni: &mut I,
    ) -> Duration {
        let t = Instant::now();
        for _ in 0..reps {
            match op {
                1 => {
                    black_box(lua_patterns::find(D, s, p, None, true, ni).unwrap());
                }
                2 => {
                    black_box(lua_patterns::find(D, s, p, None, false, ni).unwrap());
                }
                3 => {
                    let mut st = GmatchState::new(D, s.len(), None);
                    let mut n = 0;
                    while let Some(m) = st.next(D, s, p, ni).unwrap() {
                        black_box(&m);
                        n += 1;
                    }
                    black_box(n);
                }
                _ => {
                    let mut b = Buf(Vec::with_capacity(s.len()));
                    let res = lua_patterns::gsub(
                        D,
                        s,
                        p,
                        Replacement::Str(r),
                        None,
                        &mut b,
                        &mut NoInterrupt,
                    );
                    black_box((res.unwrap(), b.0));
                }
            }
        }
        t.elapsed()
    }

    pub fn main() {
        let s = subject();
        let lua = Lua::new();
        // (name, op, pattern, replacement, repetitions)
        type Case<'a> = (&'a str, i64, &'a [u8], &'a [u8], i64);
        let cases: [Case; 9] = [
            (
                "find plain (frequent 1st byte, none)",
                1,
                b"ipsum q",
                b"",
                20,
            ),
            (
                "find plain (needle near the start)",
                1,
                b"consectetur",
                b"",
                100000,
            ),
            (
                "find plain (needle at the end)",
                1,
                b"zebra quartz",
                b"",
                200,
            ),
            (
                "find, no specials (plain path)",
                2,
                b"zebra quartz",
                b"",
                200,
            ),
            ("find %d+x (scans all, no match)", 2, b"%d+x", b"", 20),
            (
                "find %f[%w]%w+=(%d+)$ (no match)",
                2,
                b"%f[%w]%w+=(%d+)$",
                b"",
                10,
            ),
            ("gmatch %d+ (all matches)", 3, b"%d+", b"", 10),
            ("gsub %s+ -> ' '", 4, b"%s+", b" ", 10),
            ("gsub (%w+)=(%w+) -> %2=%1", 4, b"(%w+)=(%w+)", b"%2=%1", 10),
        ];
        println!(
            "{D:?}, subject {} bytes; time per call (best of 5)",
            s.len()
        );
        println!(
            "{:<36} {:>10} {:>10} {:>7} {:>10}",
            "case", "C", "Rust", "Rust/C", "w/ check"
        );
        for (name, op, p, r, reps) in cases {
            let best = |f: &dyn Fn() -> Duration| (0..5).map(|_| f()).min().unwrap() / reps as u32;
            let c = best(&|| lua.run(op, &s, p, r, reps));
            let rs = best(&|| rust(op, &s, p, r, reps, false));
            let rc = best(&|| rust(op, &s, p, r, reps, true));
            println!(
                "{name:<36} {:>8.2}us {:>8.2}us {:>7.2} {:>8.2}us",
                c.as_secs_f64() * 1e6,
                rs.as_secs_f64() * 1e6,
                rs.as_secs_f64() / c.as_secs_f64(),
                rc.as_secs_f64() * 1e6
            );
        }
    }
}

fn main() {
    #[cfg(any(
        feature = "lua51",
        feature = "lua52",
        feature = "lua53",
        feature = "lua54",
        feature = "lua55",
        feature = "luajit",
        feature = "luau"
    ))]
    bench::main();
}
