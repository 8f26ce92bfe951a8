//! Library functions that loop inside one C call, made to meet the limits.
//!
//! No hook fires while a C function runs, so a limit cannot stop a library function that
//! loops for long without calling Lua code (as `strlib` does for the pattern functions):
//!
//! * `table.move(t, 1, 2^52, 2)` (Lua 5.3+) moves 2^52 absent elements, one `lua_geti` and
//!   `lua_seti` each: `guarded_move` runs the library's own function on slices of at most
//!   `SLICE` elements, in the order it would have moved them, and polls the limits between
//!   slices.  The checks of the whole range (its messages) come first, as the library words
//!   them.
//! * `string.rep("", 2^52)` (Lua 5.3, 5.4) copies an empty string 2^52 times: `guarded_rep`
//!   answers "" for it at once.  With a non-empty result, the memory it takes is the bound.
//!
//! `table.insert` and `table.remove` on a table whose `__len` reports a huge length still
//! loop inside the library (see docs/guide.md).  LuaJIT's `table.move` is Lua code, and
//! Lua 5.1/5.2 have none; Luau calls its interrupt callback itself.

#[cfg(any(feature = "lua53", feature = "lua54", feature = "lua55"))]
pub(crate) use imp::install;

/// Does nothing: this flavour has no such function.
#[cfg(not(any(feature = "lua53", feature = "lua54", feature = "lua55")))]
pub(crate) fn install(_: crate::State, _: crate::CanRaise) {}

#[cfg(any(feature = "lua53", feature = "lua54", feature = "lua55"))]
mod imp {
    use std::ffi::{CStr, c_int};
    use std::sync::OnceLock;

    use mlua_sys as ffi;

    use crate::{CanRaise, State, StateData};

    /// Elements moved between two polls of the limits.
    const SLICE: ffi::lua_Integer = 1 << 14;

    /// The library's functions (the same for every state of the linked Lua).
    struct Library {
        move_: Option<ffi::lua_CFunction>,
        rep: Option<ffi::lua_CFunction>,
    }

    static LIBRARY: OnceLock<Library> = OnceLock::new();

    /// Replaces `table.move` and `string.rep`.  Called while the state is initialised
    /// (inside the protected call that opens the libraries).
    pub(crate) fn install(st: State, raise: CanRaise) {
        let top = st.top();
        let original = |table: &CStr, name: &CStr| {
            st.push_globals();
            let f = if st.get_field(raise, -1, table) == ffi::LUA_TTABLE {
                st.get_field(raise, -1, name);
                st.to_cfunction(-1)
            } else {
                None
            };
            st.set_top(top);
            f
        };
        // (Looked up in the first state only: every state has the same functions.  Not
        // inside `get_or_init`: a Lua error would leave the cell locked.)
        if LIBRARY.get().is_none() {
            let library = Library {
                move_: original(c"table", c"move"),
                rep: original(c"string", c"rep"),
            };
            let _ = LIBRARY.set(library);
        }
        let Some(library) = LIBRARY.get() else {
            return;
        };
        let replace = |table: &CStr, name: &CStr, f: ffi::lua_CFunction| {
            st.push_globals();
            if st.get_field(raise, -1, table) == ffi::LUA_TTABLE {
                st.push_cfunction(raise.create(), f);
                st.set_field(raise, -2, name);
            }
            st.set_top(top);
        };
        if library.move_.is_some() {
            replace(c"table", c"move", guarded_move);
        }
        if library.rep.is_some() {
            replace(c"string", c"rep", guarded_rep);
        }
    }

    /// Raises the library's message for a bad argument `arg` of `name`.
    ///
    /// # Safety
    /// Called from a raw C function called by Lua, which owns nothing that needs dropping.
    unsafe fn arg_error(l: *mut ffi::lua_State, arg: c_int, message: &CStr) -> ! {
        // SAFETY: guaranteed by the caller; luaL_argerror raises.
        unsafe {
            ffi::luaL_argerror(l, arg, message.as_ptr());
        }
        unreachable!("luaL_argerror raises")
    }

    /// `table.move(a1, f, e, t [, a2])`.
    unsafe extern "C-unwind" fn guarded_move(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing that needs
        // dropping, so the library's errors and the limits' may cross it.
        unsafe {
            let Some(original) = LIBRARY.get().and_then(|library| library.move_) else {
                return 0;
            };
            let f = ffi::luaL_checkinteger(l, 2);
            let e = ffi::luaL_checkinteger(l, 3);
            let t = ffi::luaL_checkinteger(l, 4);
            let tt = if ffi::lua_type(l, 5) > ffi::LUA_TNIL {
                5
            } else {
                1
            };
            // Few elements, or none, or no tables (the library's errors, or proxies with
            // metamethods): the library's function as it is.
            let tables =
                ffi::lua_type(l, 1) == ffi::LUA_TTABLE && ffi::lua_type(l, tt) == ffi::LUA_TTABLE;
            if e < f || e.wrapping_sub(f) < SLICE || !tables {
                return original(l);
            }
            // The library's checks of the whole range, with its messages.
            if !(f > 0 || e < ffi::lua_Integer::MAX + f) {
                arg_error(l, 3, c"too many elements to move");
            }
            let n = e - f + 1;
            if t > ffi::lua_Integer::MAX - n + 1 {
                arg_error(l, 4, c"destination wrap around");
            }
            let forward =
                t > e || t <= f || (tt != 1 && ffi::lua_compare(l, 1, tt, ffi::LUA_OPEQ) == 0);
            // Arguments 6..10: a slice for the library's function, which it gets as 1..5.
            ffi::lua_settop(l, 5);
            ffi::lua_pushvalue(l, tt);
            ffi::lua_replace(l, 5);
            let st = State::new(l);
            let slices = (n + SLICE - 1) / SLICE;
            for k in 0..slices {
                let k = if forward { k } else { slices - 1 - k };
                let start = f + k * SLICE;
                let end = (start + SLICE - 1).min(e);
                let base = ffi::lua_gettop(l);
                ffi::lua_pushvalue(l, 1);
                ffi::lua_pushinteger(l, start);
                ffi::lua_pushinteger(l, end);
                ffi::lua_pushinteger(l, t + (start - f));
                ffi::lua_pushvalue(l, 5);
                ffi::lua_pushcclosure(l, original, 0);
                ffi::lua_insert(l, base + 1);
                ffi::lua_call(l, 5, 0);
                if let Some(data) = StateData::of(st)
                    && data
                        .limits
                        .should_stop_c_function(data, st, (SLICE as u64) * 8)
                {
                    crate::limits::raise_stopped(st, CanRaise::assume());
                }
            }
            ffi::lua_pushvalue(l, 5);
            1
        }
    }

    /// `string.rep(s, n [, sep])`: "" at once when there is nothing to repeat.
    unsafe extern "C-unwind" fn guarded_rep(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing that needs
        // dropping, so the library's errors may cross it.
        unsafe {
            let Some(original) = LIBRARY.get().and_then(|library| library.rep) else {
                return 0;
            };
            let mut length = 0;
            ffi::luaL_checklstring(l, 1, &mut length);
            ffi::luaL_checkinteger(l, 2);
            let mut separator = 0;
            ffi::luaL_optlstring(l, 3, c"".as_ptr(), &mut separator);
            if length == 0 && separator == 0 {
                ffi::lua_pushstring(l, c"".as_ptr());
                return 1;
            }
            original(l)
        }
    }
}
