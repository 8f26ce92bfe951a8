//! The Lua flavours and everything in which their pattern matching differs.
//!
//! Each difference is one method here, so that the matcher reads like the C code and the
//! per-version rules can be reviewed in one place.  The reference for every method is the C
//! source named in its comment (`lstrlib.c` of Lua 5.1.5, 5.2.4, 5.3.6, 5.4.9, 5.5.1;
//! `lib_string.c` and `lj_str.c` of LuaJIT 2.1 as vendored by `luajit-src` 210.7, built
//! without `LUAJIT_ENABLE_LUA52COMPAT`; `lstrlib.cpp` of Luau 0.740 as vendored by
//! `luau0-src` 0.22).

/// A Lua implementation whose `string.find`/`match`/`gmatch`/`gsub` is reproduced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PUC Lua 5.1.5.
    Lua51,
    /// PUC Lua 5.2.4.
    Lua52,
    /// PUC Lua 5.3.6.
    Lua53,
    /// PUC Lua 5.4.9.
    Lua54,
    /// PUC Lua 5.5.1.
    Lua55,
    /// LuaJIT 2.1 (`lib_string.c`), without `LUAJIT_ENABLE_LUA52COMPAT`.
    LuaJit21,
    /// Luau (`VM/src/lstrlib.cpp`, release 0.740).
    Luau,
}

impl Dialect {
    /// All dialects, for tests and tables.
    pub const ALL: [Dialect; 7] = [
        Dialect::Lua51,
        Dialect::Lua52,
        Dialect::Lua53,
        Dialect::Lua54,
        Dialect::Lua55,
        Dialect::LuaJit21,
        Dialect::Luau,
    ];

    /// Lua 5.1 and LuaJIT read the pattern as a C string: it ends at its first `\0`.  Later
    /// versions (and Luau) keep an explicit end pointer, so `\0` is an ordinary character.
    pub fn pattern_ends_at_nul(self) -> bool {
        matches!(self, Dialect::Lua51 | Dialect::LuaJit21)
    }

    /// Lua 5.1's and LuaJIT's `match()` computes "does the item match once" before looking
    /// at the suffix, and recurses (`max_expand`/`min_expand`) even when it did not match;
    /// Lua 5.2+ and Luau jump instead (`goto init`) when an item that accepts empty did not
    /// match.  Results are the same; the recursion depth (and so where "pattern too complex"
    /// is raised) is not.
    pub fn old_item_structure(self) -> bool {
        matches!(self, Dialect::Lua51 | Dialect::LuaJit21)
    }

    /// Maximum nesting of the recursive `match()`: `MAXCCALLS` (200) in Lua 5.2+,
    /// `LJ_MAX_XLEVEL` (200) in LuaJIT, `LUAI_MAXCCALLS` (200) in Luau.
    ///
    /// Lua 5.1.5 has no limit: a pattern with thousands of items overflows the C stack and
    /// crashes the process.  We cannot recurse without bound either, so 5.1 gets a limit
    /// too, large enough for any pattern that 5.1 would handle in practice
    /// ([`LUA51_MAX_MATCH_DEPTH`]), with the 5.2 message "pattern too complex".
    pub fn max_match_depth(self) -> u32 {
        match self {
            Dialect::Lua51 => LUA51_MAX_MATCH_DEPTH,
            _ => 200,
        }
    }

    /// `%g` (printable except space) exists from Lua 5.2 on, in LuaJIT (its own class table
    /// has `LJ_CHAR_GRAPH`) and in Luau; in Lua 5.1, `%g` is the literal letter `g`.
    pub fn has_class_g(self) -> bool {
        !matches!(self, Dialect::Lua51)
    }

    /// `%b` without two characters after it: Lua 5.1 and LuaJIT say "unbalanced pattern",
    /// the others "malformed pattern (missing arguments to '%b')".
    pub fn old_balance_message(self) -> bool {
        matches!(self, Dialect::Lua51 | Dialect::LuaJit21)
    }

    /// A back-reference (`%1` in a pattern) to a missing or open capture (`check_capture`):
    /// "invalid capture index %N" from 5.2 on and in Luau; Lua 5.1 and LuaJIT leave out the
    /// number.
    pub fn numbered_backref_error(self) -> bool {
        !matches!(self, Dialect::Lua51 | Dialect::LuaJit21)
    }

    /// Fetching capture N that does not exist (`push_onecapture`/`get_onecapture`, as in
    /// a replacement string `%2` with one capture): "invalid capture index %N" in 5.3+,
    /// plain "invalid capture index" in 5.1, 5.2, LuaJIT and Luau.
    pub fn numbered_capture_error(self) -> bool {
        matches!(self, Dialect::Lua53 | Dialect::Lua54 | Dialect::Lua55)
    }

    /// `%x` in a gsub replacement string, where `x` is neither a digit nor `%`: Lua 5.1 and
    /// LuaJIT insert `x` (and a `%` at the very end inserts a `\0` byte, the string's
    /// terminator); the others raise "invalid use of '%' in replacement string".
    pub fn lax_replacement_escapes(self) -> bool {
        matches!(self, Dialect::Lua51 | Dialect::LuaJit21)
    }

    /// gmatch and gsub skip an empty match that ends where the previous match ended
    /// (`lastmatch`, Lua 5.3.6+).  Before (5.1, 5.2, LuaJIT, Luau), gsub accepts the empty
    /// match right after a non-empty one (`("abc"):gsub("%w*", "-")` is `"--"`, 2) and
    /// gmatch yields it (`"abc"`, then `""`).
    pub fn uses_lastmatch(self) -> bool {
        matches!(self, Dialect::Lua53 | Dialect::Lua54 | Dialect::Lua55)
    }

    /// `string.gmatch(s, p, init)` takes an initial position from Lua 5.4 on; before, a
    /// third argument is ignored.
    pub fn gmatch_has_init(self) -> bool {
        matches!(self, Dialect::Lua54 | Dialect::Lua55)
    }

    /// find/match with `init` past the end of the subject (`init > #s + 1`): Lua 5.2+ and
    /// Luau return nil at once; Lua 5.1 and LuaJIT (without 5.2 compatibility) clamp
    /// `init` to `#s + 1` and still try to match there (`("abc"):find("", 10)` is 4, 3).
    pub fn init_past_end_fails(self) -> bool {
        !matches!(self, Dialect::Lua51 | Dialect::LuaJit21)
    }

    /// The plain-search fast path of `find` is taken when the pattern has none of
    /// `^$*+?.([%-`.  Lua 5.1 checks with `strpbrk`, i.e. only up to the pattern's first
    /// `\0` (but then searches for the whole pattern); all others check every byte.
    pub fn specials_check_stops_at_nul(self) -> bool {
        matches!(self, Dialect::Lua51)
    }

    /// The C type of gsub's `max_s` (and of its replacement count), which decides what a
    /// negative or huge fourth argument means.
    pub fn gsub_limit_type(self) -> LimitType {
        match self {
            Dialect::Lua51 | Dialect::LuaJit21 | Dialect::Luau => LimitType::Int,
            Dialect::Lua52 => LimitType::SizeT,
            Dialect::Lua53 | Dialect::Lua54 | Dialect::Lua55 => LimitType::Integer,
        }
    }

    /// Lua 5.4+ gsub returns the subject itself when no replacement changed anything
    /// (`add_value` reports whether it did); observable only through [`GsubResult::changed`],
    /// which the glue may use to skip creating a new string.
    ///
    /// [`GsubResult::changed`]: crate::GsubResult::changed
    pub fn gsub_tracks_changes(self) -> bool {
        matches!(self, Dialect::Lua54 | Dialect::Lua55)
    }
}

/// The match depth limit used for Lua 5.1, which has none in C (see
/// [`Dialect::max_match_depth`]).  One level of the Rust matcher takes about 180 bytes of
/// stack in a release build (measured: 5000 levels need 0.75-1 MB), so 1000 levels stay
/// under 200 KB; a debug build needs about ten times as much.  C Lua 5.1 handles deeper
/// patterns (one level is ~100 bytes of an 8 MB stack), but a pattern with more than 1000
/// nested items is unusual.
pub const LUA51_MAX_MATCH_DEPTH: u32 = 1000;

/// The integer type the C code uses for gsub's maximum number of replacements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitType {
    /// `int` (`luaL_optint` in 5.1/LuaJIT, Luau's `int luaL_optinteger`): the
    /// `lua_Integer` argument is truncated to 32 bits; zero or negative means none.
    Int,
    /// `size_t` (5.2): a negative argument becomes huge, i.e. no limit.
    SizeT,
    /// `lua_Integer` (5.3+): zero or negative means no replacement.
    Integer,
}
