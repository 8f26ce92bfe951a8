//! The constants and types of the Lua C API that users of [`State`](crate::State) need:
//! type tags, status codes, pseudo-indices.  The API's functions are not exported: every call
//! goes through `State`, which documents its stack effect and whether it can raise.

pub use mlua_sys::{
    LUA_ERRERR, LUA_ERRMEM, LUA_ERRRUN, LUA_ERRSYNTAX, LUA_MULTRET, LUA_NOREF, LUA_OK, LUA_REFNIL,
    LUA_REGISTRYINDEX, LUA_TBOOLEAN, LUA_TFUNCTION, LUA_TLIGHTUSERDATA, LUA_TNIL, LUA_TNONE,
    LUA_TNUMBER, LUA_TSTRING, LUA_TTABLE, LUA_TTHREAD, LUA_TUSERDATA, LUA_YIELD, lua_CFunction,
    lua_State, lua_upvalueindex,
};

/// Luau's value types beyond Lua 5.1's: 3-float vectors, fixed-size byte buffers, and 64-bit
/// integers (only made by the `integer` library, which the vendored Luau does not enable).
#[cfg(feature = "luau")]
pub use mlua_sys::{LUA_TBUFFER, LUA_TINTEGER, LUA_TVECTOR};
