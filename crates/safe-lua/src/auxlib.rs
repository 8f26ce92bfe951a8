//! The auxiliary library's argument checks and errors, for C functions of this crate that
//! behave exactly like the standard library's (`strlib`).
//!
//! Each method is one `lauxlib` call (or `lua_call`), so that arguments are converted and
//! errors worded exactly as the flavour's own library does.  All of them can raise, so they
//! take `CanRaise`: only raw C functions (which own nothing that needs dropping) call them.

use std::ffi::{CStr, c_int};

use mlua_sys as ffi;

use crate::token::{CanCreate, CanRaise};
use crate::{Message, State};

#[cfg(any(feature = "lua54", feature = "lua55"))]
unsafe extern "C-unwind" {
    /// lauxlib.h of Lua 5.4+ (not bound by mlua-sys).
    fn luaL_typeerror(l: *mut ffi::lua_State, arg: c_int, tname: *const std::ffi::c_char) -> c_int;
}

impl State {
    /// `luaL_checklstring`: the string at argument `arg`, converting a number in place;
    /// raises "bad argument" for other types.  `[-0, +0, v]`
    ///
    /// # Safety
    /// As `to_bytes`: the slice points into the Lua string, valid while that string stays in
    /// slot `arg` (no Lua code that could replace it may run while the slice is used).
    #[inline(always)]
    pub unsafe fn check_bytes<'a>(self, _: CanRaise, arg: c_int) -> &'a [u8] {
        let mut len: usize = 0;
        // SAFETY: valid state; errors are harmless (token).
        let data = unsafe { ffi::luaL_checklstring(self.as_ptr(), arg, &mut len) };
        // SAFETY: luaL_checklstring returns `len` readable bytes (it raises rather than
        // returning NULL), kept alive by the string in slot `arg` (caller).
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    }

    /// `lua_tolstring`: the bytes of the string or number at `idx` (a number is converted in
    /// place, which allocates); `None` for other types.  `[-0, +0, m]`
    ///
    /// # Safety
    /// As `check_bytes`.
    #[inline(always)]
    pub unsafe fn to_lstring<'a>(self, _: CanCreate, idx: c_int) -> Option<&'a [u8]> {
        let mut len: usize = 0;
        // SAFETY: valid state; allocation failures are harmless (token).
        let data = unsafe { ffi::lua_tolstring(self.as_ptr(), idx, &mut len) };
        if data.is_null() {
            return None;
        }
        // SAFETY: Lua guarantees `len` readable bytes while the value stays at `idx`.
        Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) })
    }

    /// `lua_isstring`: a string or a number.  `[-0, +0, -]`
    #[inline(always)]
    pub fn is_string(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_isstring(self.as_ptr(), idx) != 0 }
    }

    /// `luaL_optinteger`: `def` for none or nil, otherwise the argument as the flavour's
    /// `luaL_checkinteger` converts it (raising "bad argument" as it does).  `[-0, +0, v]`
    #[inline(always)]
    pub fn opt_integer(self, _: CanRaise, arg: c_int, def: i64) -> i64 {
        // SAFETY: valid state; errors are harmless (token).
        unsafe { ffi::luaL_optinteger(self.as_ptr(), arg, def as ffi::lua_Integer) as i64 }
    }

    /// `luaL_checknumber`.  `[-0, +0, v]`
    #[inline(always)]
    pub fn check_number(self, _: CanRaise, arg: c_int) -> f64 {
        // SAFETY: valid state; errors are harmless (token).
        unsafe { ffi::luaL_checknumber(self.as_ptr(), arg) }
    }

    /// `luaL_checkstack`: room for `n` more values, or "stack overflow (`msg`)".
    /// `[-0, +0, v]`
    #[inline(always)]
    pub fn check_stack(self, _: CanRaise, n: c_int, msg: &CStr) {
        #[cfg(any(feature = "lua51", feature = "luajit"))]
        // SAFETY: valid state; errors are harmless (token).  (mlua-sys's `luaL_checkstack`
        // is a compatibility wrapper on these flavours; this is the library's own.)
        unsafe {
            ffi::luaL_checkstack_(self.as_ptr(), n, msg.as_ptr())
        };
        #[cfg(not(any(feature = "lua51", feature = "luajit")))]
        // SAFETY: as above.
        unsafe {
            ffi::luaL_checkstack(self.as_ptr(), n, msg.as_ptr())
        };
    }

    /// `luaL_argerror`: "bad argument #`arg` to 'f' (`msg`)".
    #[inline(never)]
    pub fn arg_error(self, _: CanRaise, arg: c_int, msg: &CStr) -> ! {
        // SAFETY: valid state; raising is harmless (token).
        unsafe { ffi::luaL_argerror(self.as_ptr(), arg, msg.as_ptr()) };
        unreachable!("luaL_argerror returned")
    }

    /// `luaL_typeerror` (Lua 5.4+): "bad argument #`arg` to 'f' (`tname` expected, got T)".
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    #[inline(never)]
    pub fn type_error(self, _: CanRaise, arg: c_int, tname: &CStr) -> ! {
        // SAFETY: valid state; raising is harmless (token).
        unsafe { luaL_typeerror(self.as_ptr(), arg, tname.as_ptr()) };
        unreachable!("luaL_typeerror returned")
    }

    /// `luaL_error(L, "%s", message)`: raises `message` prefixed with the position of the
    /// calling Lua function, if any ("chunk:line: "), as the library's own errors are.
    #[inline(never)]
    pub fn error_at_caller(self, _: CanRaise, message: &Message) -> ! {
        // SAFETY: valid state; a NUL-terminated message; raising is harmless (token).
        unsafe { ffi::luaL_error(self.as_ptr(), c"%s".as_ptr(), message.as_c_str().as_ptr()) };
        unreachable!("luaL_error returned")
    }

    /// `lua_call`: calls the function below the `nargs` arguments on top.
    /// `[-(nargs+1), +nresults, e]`
    #[inline(always)]
    pub fn call(self, _: CanRaise, nargs: c_int, nresults: c_int) {
        // SAFETY: valid state with the function and arguments on top (caller); errors are
        // harmless (token).
        unsafe { ffi::lua_call(self.as_ptr(), nargs, nresults) }
    }
}
