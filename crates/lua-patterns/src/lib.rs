//! Lua's pattern matching — `string.find`, `string.match`, `string.gmatch`, `string.gsub` —
//! in safe Rust, with the exact behaviour of each Lua flavour ([`Dialect`]) and an interrupt
//! check, so that a time limit can stop a backtracking pattern that would otherwise run for
//! hours inside one C call (`("a"):rep(40):find(("a?"):rep(40) .. ("a"):rep(40))`).
//!
//! Ported from `lstrlib.c` of Lua 5.1.5-5.5.1 (Copyright (C) 1994-2025 Lua.org, PUC-Rio),
//! `lib_string.c`/`lj_str.c` of LuaJIT 2.1 (Copyright (C) 2005-2025 Mike Pall) and
//! `lstrlib.cpp` of Luau (Copyright (c) 2019-2025 Roblox Corporation), all under the MIT
//! license.
//!
//! # Shape
//!
//! The crate mirrors the C functions; the glue (a Lua C function per library function)
//! converts arguments as the flavour does, calls one of these, and pushes the results:
//!
//! * [`match_at`]: one match attempt at one position (`match()`), no anchor handling;
//! * [`find`] / [`str_match`]: `str_find_aux`, with `init` handling ([`find_start`]) and the
//!   plain-search fast path ([`has_no_specials`], [`plain_find`]);
//! * [`GmatchState`]: gmatch's iteration state (plain data) and its `next` step;
//! * [`gsub`]: the replacement loop; string replacements are expanded here
//!   ([`add_string`]), function/table replacements and the output buffer belong to the
//!   caller's [`GsubHandler`].  [`GsubLoop`] is the same loop one match at a time, for a
//!   glue that calls Lua between the steps.
//!
//! Results are byte offsets ([`Match`]); captures are fetched with the C code's errors
//! through [`Match::value`] / [`Captures::get`].  Errors are values ([`MatchError`]); the
//! message text is [`PatternError`]'s `Display`, the exact C message without the position
//! prefix that `luaL_error` adds for Lua callers.
//!
//! # Guarantees for the glue
//!
//! Matching allocates nothing and creates no value with a destructor: the state is a
//! fixed-size struct (32 captures, as `LUA_MAXCAPTURES`), recursion is bounded
//! ([`Dialect::max_match_depth`]), and the interrupt check runs every
//! [`CHECK_INTERVAL`] steps ([`interrupt`]).  The only calls out are to the caller's
//! [`Interrupt`] and [`GsubHandler`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod captures;
mod class;
mod dialect;
mod error;
mod find;
mod gmatch;
mod gsub;
pub mod interrupt;
mod matcher;

pub use captures::{Capture, Captures, MAX_CAPTURES, Match};
pub use dialect::{Dialect, LUA51_MAX_MATCH_DEPTH, LimitType};
pub use error::{MatchError, PatternError};
pub use find::{
    SPECIALS, find, find_byte, find_start, has_no_specials, plain_find, plain_find_with, str_match,
};
pub use gmatch::GmatchState;
pub use gsub::{
    GsubHandler, GsubLoop, GsubMatch, GsubResult, Replaced, Replacement, add_string, gsub,
    gsub_limit,
};
pub use interrupt::{CHECK_INTERVAL, Interrupt, NoInterrupt};
pub use matcher::match_at;
