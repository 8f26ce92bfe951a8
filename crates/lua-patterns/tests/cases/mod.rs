//! Random cases for the differential tests of Lua's pattern functions: this crate's
//! `tests/differential.rs` (the crate against the C functions) and `safe-lua`'s
//! `tests/strlib.rs` (the C functions that `safe-lua` installs against the flavour's own),
//! which includes this file with `#[path]`.  The including test defines `DIALECT`.
#![allow(dead_code)] // (each test uses a part)

use super::DIALECT;
use lua_patterns::Dialect;

/// Runs one case on the Lua side: `drive(op, s, p, a, b)` returns the serialised values of
/// the call, or `E:` and the error message.  Positions ("t:12: ") are removed from messages
/// unless the global `KEEP_POSITIONS` is true.
pub const DRIVER: &str = r##"
local find, match, gmatch, gsub = string.find, string.match, string.gmatch, string.gsub
local byte, format, concat, select, tostring, type, pcall = string.byte, string.format, table.concat, select, tostring, type, pcall
local function hex(s) local t = {} for i = 1, #s do t[i] = format("%02x", byte(s, i)) end return concat(t) end
local function ser1(v)
  if type(v) == "string" then return "s" .. hex(v)
  elseif type(v) == "number" then return "n" .. tostring(v)
  elseif v == nil then return "nil" else return type(v) end
end
local function ser(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = ser1((select(i, ...))) end
  return concat(t, ",")
end
local function err(m)
  m = tostring(m)
  if KEEP_POSITIONS then return "E:" .. m end
  local r = m:match("^t:%d+: (.*)$")
  return "E:" .. (r or m)
end
local T = { a = "A", ab = "<ab>", b = false, ["1"] = "S1", [1] = "one", [2] = 7, [3] = {},
            ["("] = {}, [""] = "empty", x = "X" }
local F = {
  function(...)
    local t = {}
    for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
    return "<" .. concat(t, "|") .. ">"
  end,
  function() return nil end,
  function() return false end,
  function() return {} end,
  function() return 42 end,
  function(a) if #tostring(a) % 2 == 0 then return "[" .. tostring(a) .. "]" end end,
}
DRIVER_F, DRIVER_T = F, T
function drive(op, s, p, a, b)
  local ok, r = pcall(function()
    if op == 1 then return ser(find(s, p, a, b))
    elseif op == 2 then return ser(match(s, p, a))
    elseif op == 3 then
      local it = gmatch(s, p, a)
      local res = {}
      for i = 1, 40 do
        local ok2, r2 = pcall(function() return ser(it()) end)
        if not ok2 then res[#res + 1] = err(r2) break end
        if r2 == "" then break end
        res[#res + 1] = r2
      end
      return concat(res, ";")
    elseif op == 4 then return ser(gsub(s, p, a, b))
    elseif op == 5 then return ser(gsub(s, p, F[a], b))
    else return ser(gsub(s, p, T, b))
    end
  end)
  if ok then return r else return err(r) end
end
"##;

#[derive(Clone, Debug)]
pub enum Arg {
    Nil,
    Int(i64),
    Bool(bool),
    Str(Vec<u8>),
    /// A float (only in `odd_case`).
    Float(f64),
    /// The value of a global of the drivers (only in `odd_case`): `F1`..`F9`, `T`, `EMPTY`.
    Global(&'static str),
}

impl Arg {
    pub fn truthy(&self) -> bool {
        !matches!(self, Arg::Nil | Arg::Bool(false))
    }
    pub fn int(&self) -> Option<i64> {
        match self {
            Arg::Int(i) => Some(*i),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Case {
    pub op: i64,
    pub s: Vec<u8>,
    pub p: Vec<u8>,
    pub a: Arg,
    pub b: Arg,
}

// ---- random cases ----------------------------------------------------------------------

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const SUBJECT_CHARS: &[u8] = b"aaabbbAB1 2()[]%.-^$\0xyz\x80\xff\t_ab";
const LITERALS: &[u8] = b"aaabAB1 x-_\x80yz";
const CLASSES: &[u8] = b"adwslpuxcgzADWSLPUXCGZ.%()[]-^$q";

fn subject(r: &mut Rng) -> Vec<u8> {
    let len = if r.chance(10) {
        r.below(3)
    } else {
        r.below(24)
    };
    (0..len).map(|_| r.pick(SUBJECT_CHARS)).collect()
}

fn set_body(r: &mut Rng, p: &mut Vec<u8>) {
    if r.chance(25) {
        p.push(b'^');
    }
    if r.chance(10) {
        p.push(b']');
    }
    for _ in 0..=r.below(4) {
        match r.below(7) {
            0 => p.extend_from_slice(r.pick(&[&b"a-c"[..], b"0-9", b"A-b", b"z-a", b"%a-z"])),
            1 => {
                p.push(b'%');
                p.push(r.pick(CLASSES));
            }
            2 => p.push(b'-'),
            3 => p.push(b'^'),
            4 => p.push(b'%'),
            _ => p.push(r.pick(LITERALS)),
        }
    }
}

fn pattern(r: &mut Rng) -> Vec<u8> {
    let mut p = vec![];
    if r.chance(20) {
        p.push(b'^');
    }
    let mut quantified = 0;
    for _ in 0..r.below(7) {
        let mut single = true;
        match r.below(20) {
            0..=4 => p.push(r.pick(LITERALS)),
            5 => p.push(b'.'),
            6 | 7 => {
                p.push(b'%');
                p.push(r.pick(CLASSES));
            }
            8 | 9 => {
                p.push(b'[');
                set_body(r, &mut p);
                if !r.chance(5) {
                    p.push(b']');
                }
            }
            10 => {
                p.push(b'(');
                single = false;
            }
            11 => {
                p.push(b')');
                single = false;
            }
            12 => {
                p.extend_from_slice(b"()");
                single = false;
            }
            13 => {
                p.extend_from_slice(b"%b");
                let n = if r.chance(90) { 2 } else { r.below(2) };
                for _ in 0..n {
                    p.push(r.pick(b"()ab[]"));
                }
                single = false;
            }
            14 => {
                p.extend_from_slice(b"%f");
                if r.chance(95) {
                    p.push(b'[');
                    set_body(r, &mut p);
                    p.push(b']');
                } else {
                    p.push(b'a');
                }
                single = false;
            }
            15 => {
                p.push(b'%');
                p.push(b'0' + r.below(4) as u8);
                single = false;
            }
            16 => p.push(b'$'),
            17 => p.push(b'^'),
            18 => p.push(0),
            _ => {
                p.push(b'%');
                break; // malformed: ends with '%'
            }
        }
        if single && quantified < 3 && r.chance(40) {
            p.push(r.pick(b"*+-?"));
            quantified += 1;
        }
    }
    if r.chance(20) {
        p.push(b'$');
    }
    p
}

/// A pattern made from a piece of the subject, so that it often matches: each byte becomes
/// itself (escaped if special), `.`, a class or a set that contains it, maybe repeated;
/// some runs become captures, some are followed by back-references.
fn derived_pattern(r: &mut Rng, s: &[u8]) -> Vec<u8> {
    let mut p = vec![];
    if s.is_empty() {
        return p;
    }
    if r.chance(20) {
        p.push(b'^');
    }
    let a = r.below(s.len() as u64) as usize;
    let b = a + r.below((s.len() - a).min(8) as u64 + 1) as usize;
    let mut open = 0;
    let mut closed = 0;
    let mut quantified = 0;
    for &c in &s[a..b] {
        if r.chance(15) {
            p.push(b'(');
            open += 1;
            if r.chance(20) {
                p.push(b')'); // position capture
                open -= 1;
                closed += 1;
            }
        }
        match r.below(8) {
            0 => p.push(b'.'),
            1 => {
                p.push(b'%');
                p.push(match c {
                    b'a'..=b'z' => r.pick(b"alwx"),
                    b'A'..=b'Z' => r.pick(b"auwx"),
                    b'0'..=b'9' => r.pick(b"dwx"),
                    b' ' | b'\t' => r.pick(b"sc"),
                    0 => b'z',
                    128.. => r.pick(b"ADSW"),
                    _ => r.pick(b"pg"),
                });
            }
            2 => {
                p.push(b'[');
                if c == b']' || c == b'%' || c == b'^' || c == b'-' {
                    p.push(b'%');
                }
                p.push(c);
                p.push(r.pick(LITERALS));
                p.push(b']');
            }
            _ => {
                if b"^$*+?.([%-])".contains(&c) {
                    p.push(b'%');
                }
                p.push(c);
            }
        }
        if quantified < 3 && r.chance(25) {
            p.push(r.pick(b"*+-?"));
            quantified += 1;
        }
        if open > 0 && r.chance(25) {
            p.push(b')');
            open -= 1;
            closed += 1;
        }
        if closed > 0 && r.chance(10) {
            p.push(b'%');
            p.push(b'1' + r.below(closed) as u8);
        }
    }
    for _ in 0..open {
        if r.chance(90) {
            p.push(b')');
        }
    }
    if r.chance(15) {
        p.push(b'$');
    }
    p
}

/// Long subjects (past the 256-byte scan blocks, sometimes past the 16 KB plain-search
/// blocks) with patterns that scan far.
fn long_case(r: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let unit: &[u8] = r.pick(&[
        &b"a"[..],
        b"ab",
        b"aab",
        b"(a(b)c)",
        b"a b",
        b"xyz",
        b"aaaaaaaaab",
    ]);
    let len = if r.chance(10) {
        16000 + r.below(5000)
    } else {
        200 + r.below(1000)
    } as usize;
    let mut s: Vec<u8> = unit.iter().cycle().take(len).copied().collect();
    if r.chance(50) {
        let k = r.below(s.len() as u64) as usize;
        s[k] = r.pick(b"xqz)(");
    }
    if len > 16000 {
        // Only patterns that stay linear on 16 KB: plain searches, anchored scans.
        let p: &[u8] = r.pick(&[
            &b"q"[..],
            b"aq",
            b"ab a",
            b"z",
            b"^a*b",
            b"^[ab ]*$",
            b"^.-q",
        ]);
        return (s, p.to_vec());
    }
    let p: &[u8] = r.pick(&[
        &b"a*b"[..],
        b"%a+$",
        b"[ab]+c",
        b".-x",
        b"(a+)%1",
        b"%b()",
        b"^(.-)%1$",
        b"a-q",
        b"[^x]*x",
        b"%f[%w]%w+",
        b"(.)%1*",
        b"q",
        b"aq",
        b"ab a",
    ]);
    (s, p.to_vec())
}

/// Patterns near the recursion and capture limits.
fn deep_case(r: &mut Rng) -> (Vec<u8>, Vec<u8>) {
    let item: &[u8] = r.pick(&[
        &b"a?"[..],
        b"a*",
        b"a-",
        b"(a)",
        b"()",
        b"%f[a]",
        b"(",
        b"a",
    ]);
    let k = if r.chance(50) {
        190 + r.below(21)
    } else {
        28 + r.below(8)
    } as usize;
    let p = item.repeat(k);
    let s = match r.below(3) {
        0 => vec![],
        1 => vec![b'a'; k],
        _ => b"b".to_vec(),
    };
    (s, p)
}

/// Lua 5.1, 5.2, LuaJIT and Luau keep numbers as doubles: `lua_pushinteger(i64::MAX)`
/// arrives as 2^63, which converts back to i64::MIN.  What the matcher gets is the
/// integer after the flavour's conversion (the glue's business), so only exactly
/// representable values are used there.
const DOUBLE_NUMBERS: bool = matches!(
    DIALECT,
    Dialect::Lua51 | Dialect::Lua52 | Dialect::LuaJit21 | Dialect::Luau
);

fn init_arg(r: &mut Rng) -> Arg {
    let wide = !matches!(DIALECT, Dialect::LuaJit21 | Dialect::Luau);
    match r.below(10) {
        0..=3 => Arg::Nil,
        4 if wide && DOUBLE_NUMBERS => {
            Arg::Int(r.pick(&[-(1 << 53), 1 << 53, -(1 << 40), 1 << 40]))
        }
        4 if wide => Arg::Int(r.pick(&[i64::MIN, i64::MAX, -(1 << 40), 1 << 40])),
        4 => Arg::Int(r.pick(&[i32::MIN as i64, i32::MAX as i64])),
        _ => Arg::Int(r.below(61) as i64 - 30),
    }
}

fn limit_arg(r: &mut Rng) -> Arg {
    let wide = !matches!(DIALECT, Dialect::Luau);
    match r.below(10) {
        0..=5 => Arg::Nil,
        6 if wide && DOUBLE_NUMBERS => {
            Arg::Int(r.pick(&[(1 << 32) + 1, -(1 << 32) + 2, 1 << 53, -(1 << 53)]))
        }
        6 if wide => Arg::Int(r.pick(&[(1 << 32) + 1, -(1 << 32) + 2, i64::MAX, i64::MIN])),
        _ => Arg::Int(r.below(9) as i64 - 3),
    }
}

fn replacement(r: &mut Rng) -> Vec<u8> {
    let mut v = vec![];
    for _ in 0..r.below(5) {
        v.extend_from_slice(r.pick(&[
            &b"x"[..],
            b"%0",
            b"%1",
            b"%2",
            b"%3",
            b"%%",
            b"%a",
            b"-",
            b"\0",
            b"%\0",
        ]));
    }
    if r.chance(5) {
        v.push(b'%');
    }
    v
}

pub fn case(r: &mut Rng) -> Case {
    let mut s = subject(r);
    let mut p = if r.chance(40) {
        derived_pattern(r, &s)
    } else {
        pattern(r)
    };
    if r.chance(2) {
        (s, p) = deep_case(r);
    } else if r.chance(3) {
        (s, p) = long_case(r);
    }
    let op = r.pick(&[1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 6, 6]);
    if op == 1 && r.chance(15) && !s.is_empty() {
        // a plain substring of the subject, maybe with specials
        let a = r.below(s.len() as u64) as usize;
        let b = a + r.below((s.len() - a) as u64 + 1) as usize;
        p = s[a..b].to_vec();
    }
    let (a, b) = match op {
        1 => {
            let plain = [
                Arg::Nil,
                Arg::Nil,
                Arg::Bool(true),
                Arg::Bool(false),
                Arg::Str(b"x".to_vec()),
            ];
            (init_arg(r), plain[r.below(5) as usize].clone())
        }
        2 | 3 => (init_arg(r), Arg::Nil),
        4 => (Arg::Str(replacement(r)), limit_arg(r)),
        5 => (Arg::Int(1 + r.below(6) as i64), limit_arg(r)),
        _ => (Arg::Nil, limit_arg(r)),
    };
    Case { op, s, p, a, b }
}

pub fn show(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

// ---- odd arguments (safe-lua's tests/strlib.rs) ----------------------------------------

/// Defines `drive_odd(how, fname, n, ...)`, after `DRIVER`: calls `string[fname]` with the
/// `n` arguments given, `how`: 1 from a Lua function, 2 through `pcall` directly (errors
/// without a position), 3 as a method (`s:find(...)`), 4 under `xpcall` with
/// `debug.traceback`.  An iterator from gmatch is called up to ten times.
pub const ODD_DRIVER: &str = r##"
local unpack, load = table.unpack or unpack, loadstring or load
local F, T, select, tostring, pcall, xpcall = DRIVER_F, DRIVER_T, select, tostring, pcall, xpcall
local byte, format, concat = string.byte, string.format, table.concat
local traceback = debug.traceback
F[7] = function() error("boom") end
F[8] = function() error(setmetatable({}, {__tostring = function() return "object" end})) end
F[9] = function(...) return select("#", ...) end
for i = 1, 9 do _G["F" .. i] = F[i] end
_G.T, _G.EMPTY = T, {}
local methods = {}
for _, name in ipairs({"find", "match", "gmatch", "gsub"}) do
  methods[name] = load("return function(s, ...) return s:" .. name .. "(...) end", "=m")()
end
local function ser1(v)
  if type(v) == "string" then
    local t = {}
    for i = 1, #v do t[i] = format("%02x", byte(v, i)) end
    return "s" .. concat(t)
  elseif type(v) == "number" then return "n" .. tostring(v)
  elseif v == nil then return "nil" else return type(v) end
end
local function ser(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = ser1((select(i, ...))) end
  return table.concat(t, ",")
end
function drive_odd(how, fname, n, ...)
  local args = {...}
  local f = string[fname]
  local function call()
    if how == 3 then return methods[fname](unpack(args, 1, n)) end
    return f(unpack(args, 1, n))
  end
  local function run()
    if fname == "gmatch" then
      local it, res = call(), {}
      for i = 1, 10 do
        local r = ser(it())
        if r == "" then break end
        res[#res + 1] = r
      end
      return table.concat(res, ";")
    end
    return ser(call())
  end
  if how == 2 then return ser(pcall(f, unpack(args, 1, n))) end
  if how == 4 then
    local ok, r = xpcall(run, traceback)
    return (ok and "" or "E:") .. tostring(r)
  end
  local ok, r = pcall(run)
  return (ok and "" or "E:") .. tostring(r)
end
"##;

/// A call with arguments of any type.
#[derive(Clone, Debug)]
pub struct OddCase {
    /// See `ODD_DRIVER`.
    pub how: i64,
    pub fname: &'static str,
    pub args: Vec<Arg>,
}

/// An argument of any type: strings and numbers that convert (or not), floats that are not
/// integers, huge numbers, NaN, booleans, nil, tables and functions.
fn odd_arg(r: &mut Rng, strings: &[Vec<u8>]) -> Arg {
    match r.below(12) {
        0..=3 => Arg::Str(strings[r.below(strings.len() as u64) as usize].clone()),
        4 => Arg::Int(r.below(11) as i64 - 5),
        5 => Arg::Float(r.pick(&[
            2.5,
            -1.5,
            -0.0,
            1e300,
            -1e300,
            f64::NAN,
            f64::INFINITY,
            2147483648.0,
            4294967298.0,
            -2147483649.0,
            9007199254740993.0,
            9.3e18,
            -9.3e18,
        ])),
        6 => Arg::Str(
            r.pick(&[
                &b"3"[..],
                b" 0x10 ",
                b"1e1",
                b"2.5",
                b"-2",
                b"abc",
                b"",
                b"9e99",
            ])
            .to_vec(),
        ),
        7 => Arg::Bool(r.chance(50)),
        8 => Arg::Nil,
        9 => Arg::Global(r.pick(&["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9"])),
        10 => Arg::Global(r.pick(&["T", "EMPTY"])),
        _ => Arg::Int(r.pick(&[i64::MAX, i64::MIN, 1 << 31, -(1 << 31), 1 << 40])),
    }
}

pub fn odd_case(r: &mut Rng) -> OddCase {
    let fname = r.pick(&["find", "match", "gmatch", "gsub"]);
    let s = subject(r);
    let p = if r.chance(50) {
        derived_pattern(r, &s)
    } else {
        pattern(r)
    };
    let strings = [
        s.clone(),
        p.clone(),
        replacement(r),
        b"%1".to_vec(),
        b"a".to_vec(),
    ];
    let n = r.pick(&[0, 1, 2, 3, 3, 3, 4, 4, 4, 5]);
    let mut args: Vec<Arg> = (0..n).map(|_| odd_arg(r, &strings)).collect();
    // Mostly valid arguments, so that the later ones matter too.
    if n > 0 && r.chance(70) {
        args[0] = Arg::Str(s);
    }
    if n > 1 && r.chance(70) {
        args[1] = Arg::Str(p);
    }
    for (i, arg) in args.iter_mut().enumerate().skip(2) {
        if !r.chance(60) {
            continue;
        }
        let replacement = fname == "gsub" && i == 2;
        *arg = match r.below(4) {
            _ if replacement && r.chance(50) => Arg::Str(strings[2].clone()),
            _ if replacement => {
                Arg::Global(r.pick(&["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "T"]))
            }
            0 => Arg::Float(r.pick(&[1.0, 2.0, -1.0, 3.5, -2.5])),
            1 => Arg::Str(r.pick(&[&b"2"[..], b"-1", b"0x2", b" 3 "]).to_vec()),
            _ => Arg::Int(r.below(13) as i64 - 6),
        };
    }
    OddCase {
        how: r.pick(&[1, 1, 1, 2, 3, 4]),
        fname,
        args,
    }
}
