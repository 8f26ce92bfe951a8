//! The arguments whose reading differs between the flavours' C functions.
//!
//! Strings are read with `luaL_checklstring` everywhere (LuaJIT's `lj_lib_checkstr` does the
//! same: numbers are converted in place, other types are "bad argument").  Integers are read
//! by the library's own `luaL_optinteger` wherever the C function uses it, so that each
//! flavour's conversions and errors (doubles truncated by 5.1/5.2, "number has no integer
//! representation" from 5.3 on) are its own.  LuaJIT 2.1's `str_find_aux` uses its internal
//! `lj_lib_optint` instead, reproduced here.

use std::ffi::c_int;

use mlua_sys as ffi;

use super::dialect::DIALECT;
use crate::{CanRaise, State};

/// `init` of `string.find`/`string.match` (argument 3), as the flavour's `str_find_aux` reads
/// it: a `luaL_optinteger` value; `None` stands for the default 1.
#[inline(always)]
pub(super) fn find_init(st: State, raise: CanRaise) -> Option<i64> {
    if cfg!(all(feature = "luajit", not(feature = "luajit20"))) {
        lj_lib_optint(st, raise, 3)
    } else {
        Some(st.opt_integer(raise, 3, 1))
    }
}

/// LuaJIT 2.1's `lj_lib_optint(L, arg, def)`: nil or none is the default; otherwise a number
/// (or a string that converts to one, "number expected" otherwise), converted to `int32_t`
/// by a C cast (`lj_num2int`), which x86-64 makes `INT32_MIN` when the value does not fit.
fn lj_lib_optint(st: State, raise: CanRaise, arg: c_int) -> Option<i64> {
    if st.type_of(arg) <= ffi::LUA_TNIL {
        return None;
    }
    Some(i64::from(num2int(st.check_number(raise, arg))))
}

/// `(int32_t)n` as the C compiler makes it on x86-64 (`cvttsd2si`): truncation toward zero,
/// and `INT32_MIN` for NaN and values out of range.  (Elsewhere the cast is undefined
/// behaviour in C; the values in range agree everywhere.)
fn num2int(n: f64) -> i32 {
    let t = n.trunc();
    if (-2147483648.0..=2147483647.0).contains(&t) {
        t as i32
    } else {
        i32::MIN
    }
}

/// `init` of `string.gmatch` (argument 3, Lua 5.4+ only; ignored before).
#[inline(always)]
pub(super) fn gmatch_init(st: State, raise: CanRaise) -> Option<i64> {
    DIALECT
        .gmatch_has_init()
        .then(|| st.opt_integer(raise, 3, 1))
}

/// `n` of `string.gsub` (argument 4): `luaL_optinteger(L, 4, #s + 1)` in every flavour
/// (`luaL_optint`, its `int` cast, in 5.1 and LuaJIT: `lua_patterns::gsub_limit` applies the
/// C type's conversion).
#[inline(always)]
pub(super) fn gsub_max(st: State, raise: CanRaise, subject_len: usize) -> i64 {
    let default = i64::try_from(subject_len).unwrap_or(i64::MAX - 1) + 1;
    st.opt_integer(raise, 4, default)
}

/// The "bad argument #3" error of a replacement that is not a string, number, table or
/// function.
pub(super) fn bad_replacement(st: State, raise: CanRaise) -> ! {
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    st.type_error(raise, 3, c"string/function/table");
    #[cfg(not(any(feature = "lua54", feature = "lua55")))]
    st.arg_error(raise, 3, c"string/function/table expected");
}

#[cfg(test)]
mod tests {
    use super::num2int;

    #[test]
    fn num2int_truncates_like_cvttsd2si() {
        assert_eq!(num2int(2.9), 2);
        assert_eq!(num2int(-2.9), -2);
        assert_eq!(num2int(2147483647.9), i32::MAX);
        assert_eq!(num2int(-2147483648.9), i32::MIN);
        assert_eq!(num2int(2147483648.0), i32::MIN);
        assert_eq!(num2int(-1e300), i32::MIN);
        assert_eq!(num2int(f64::NAN), i32::MIN);
        assert_eq!(num2int(f64::INFINITY), i32::MIN);
    }
}
