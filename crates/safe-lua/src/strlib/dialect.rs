//! Which of `lua-patterns`' dialects each flavour is.

use lua_patterns::Dialect;

/// The matcher of this build's flavour.
#[cfg(feature = "lua51")]
pub(super) const DIALECT: Dialect = Dialect::Lua51;
#[cfg(feature = "lua52")]
pub(super) const DIALECT: Dialect = Dialect::Lua52;
#[cfg(feature = "lua53")]
pub(super) const DIALECT: Dialect = Dialect::Lua53;
#[cfg(feature = "lua54")]
pub(super) const DIALECT: Dialect = Dialect::Lua54;
#[cfg(feature = "lua55")]
pub(super) const DIALECT: Dialect = Dialect::Lua55;
/// LuaJIT 2.0 and 2.1 have the same matcher, gmatch and gsub (`lib_string.c`); only
/// `str_find_aux` differs (see `SPECIALS_RULE` and `args::find_init`).
#[cfg(feature = "luajit")]
pub(super) const DIALECT: Dialect = Dialect::LuaJit21;

/// Whose rule decides that `string.find` searches for a pattern as plain text (it has none
/// of `^$*+?.([%-`): LuaJIT 2.0's `str_find_aux` is Lua 5.1's, which looks only up to the
/// pattern's first `\0` (`strpbrk`); LuaJIT 2.1 looks at every byte.
pub(super) const SPECIALS_RULE: Dialect = if cfg!(feature = "luajit20") {
    Dialect::Lua51
} else {
    DIALECT
};
