//! LuaJIT: coroutines resumed inside coroutines without end stop with "C stack overflow"
//! instead of overflowing the C stack.
//!
//! Every coroutine has its own Lua stack, and LuaJIT resumes one on the C stack of its
//! resumer, without counting: `local function f() coroutine.wrap(f)() end f()` nests until
//! the C stack runs out and the process dies (PUC Lua stops at about 200 nested C calls; the
//! other recursions of LuaJIT's C functions run out of Lua stack first).  `install` puts
//! `coroutine.resume` and the functions `coroutine.wrap` returns behind C functions that first
//! check the C stack left (`check_depth`), then call LuaJIT's own on their frame.  A C function
//! between a coroutine's resumer and the resume breaks nothing: the coroutine yields to the
//! resume, not across it.  They are C functions like LuaJIT's (`python.as_function` and the
//! `coroutine()` method of wrappers treat them alike), and they raise LuaJIT's own messages
//! for bad arguments, which the library would word with an unknown function name when called
//! from C.  LuaJIT adds its caller's position to a string error that leaves a wrapped
//! coroutine (`chunk:1: chunk:1: message`) and to "cannot resume dead coroutine"; called from
//! our C function, it finds no position to add, so `guarded_wrapped` adds it, as LuaJIT does.

#[cfg(feature = "luajit")]
pub(crate) use imp::install;

/// Does nothing: this flavour counts nested resumes itself.
#[cfg(not(feature = "luajit"))]
pub(crate) fn install(_: crate::State, _: crate::CanRaise) {}

#[cfg(feature = "luajit")]
mod imp {
    use std::ffi::{CStr, c_int};

    use mlua_sys as ffi;

    use crate::{CanRaise, State};

    /// The C stack a resume may need below the check's frame: a coroutine's first call into
    /// a C function that calls Lua again (about 20 KB in a debug build), with a margin.
    const STACK_NEEDED: usize = 128 * 1024;

    /// Replaces `coroutine.resume` and `coroutine.wrap`, keeping LuaJIT's as upvalues.
    /// Called while the state is initialised (inside the protected call that opens the
    /// libraries).
    pub(crate) fn install(st: State, raise: CanRaise) {
        let top = st.top();
        st.push_globals();
        if st.get_field(raise, -1, c"coroutine") == ffi::LUA_TTABLE {
            for (name, guard) in [
                (c"resume", guarded_resume as ffi::lua_CFunction),
                (c"wrap", guarded_wrap),
            ] {
                if st.get_field(raise, -1, name) == ffi::LUA_TFUNCTION {
                    // SAFETY: inside the protected initialisation, with the original on top
                    // (LUA_MINSTACK free slots); making the closure may raise.
                    unsafe { ffi::lua_pushcclosure(st.as_ptr(), guard, 1) };
                    st.set_field(raise, -2, name);
                } else {
                    st.pop(1);
                }
            }
        }
        st.set_top(top);
    }

    /// Raises `message` as LuaJIT's library does: after the position of the calling Lua code.
    ///
    /// # Safety
    /// Called from a raw C function called by Lua, which owns nothing that needs dropping.
    unsafe fn raise_at_caller(l: *mut ffi::lua_State, message: &CStr) -> ! {
        // SAFETY: a valid state with LUA_MINSTACK free slots (function contract).
        unsafe {
            ffi::luaL_where(l, 1);
            ffi::lua_pushstring(l, message.as_ptr());
            ffi::lua_concat(l, 2);
            ffi::lua_error(l)
        }
    }

    /// Raises "C stack overflow" when the calling thread has less C stack left than a resume
    /// may need.
    ///
    /// # Safety
    /// As `raise_at_caller`.
    unsafe fn check_depth(l: *mut ffi::lua_State) {
        if crate::cstack::left().is_some_and(|left| left < STACK_NEEDED) {
            // SAFETY: guaranteed by the caller.
            unsafe { raise_at_caller(l, c"C stack overflow") }
        }
    }

    /// Calls upvalue 1 with the arguments of this C function; returns its results.
    ///
    /// # Safety
    /// As `raise_at_caller`.
    unsafe fn call_original(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: a valid state; the arguments, the function and LUA_MINSTACK free slots; the
        // call's errors cross this frame, which owns nothing.
        unsafe {
            let n = ffi::lua_gettop(l);
            ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
            ffi::lua_insert(l, 1);
            ffi::lua_call(l, n, ffi::LUA_MULTRET);
            ffi::lua_gettop(l)
        }
    }

    /// `coroutine.resume`.
    unsafe extern "C-unwind" fn guarded_resume(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing.
        unsafe {
            if ffi::lua_type(l, 1) != ffi::LUA_TTHREAD {
                raise_at_caller(l, c"bad argument #1 to 'resume' (coroutine expected)");
            }
            check_depth(l);
            call_original(l)
        }
    }

    /// `coroutine.wrap`: LuaJIT's function, behind `guarded_wrapped`.
    unsafe extern "C-unwind" fn guarded_wrap(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing.
        unsafe {
            if ffi::lua_type(l, 1) != ffi::LUA_TFUNCTION {
                // (Formatted by Lua: no Rust allocation is alive when a push raises.)
                ffi::luaL_where(l, 1);
                ffi::lua_pushfstring(
                    l,
                    c"bad argument #1 to 'wrap' (function expected, got %s)".as_ptr(),
                    ffi::luaL_typename(l, 1),
                );
                ffi::lua_concat(l, 2);
                ffi::lua_error(l);
            }
            ffi::lua_settop(l, 1);
            call_original(l);
            ffi::lua_pushcclosure(l, guarded_wrapped, 1);
            1
        }
    }

    /// A function made by `coroutine.wrap`.  An error that leaves the coroutine is raised
    /// again as LuaJIT's own function raises it (`lj_ffh_coroutine_wrap_err`): a string after
    /// the position of the calling Lua code, anything else as it is (a runtime error, either
    /// way).
    unsafe extern "C-unwind" fn guarded_wrapped(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing; LUA_MINSTACK
        // free slots beyond the arguments.
        unsafe {
            check_depth(l);
            let n = ffi::lua_gettop(l);
            ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
            ffi::lua_insert(l, 1);
            if ffi::lua_pcall(l, n, ffi::LUA_MULTRET, 0) == ffi::LUA_OK {
                return ffi::lua_gettop(l);
            }
            if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                ffi::luaL_where(l, 1);
                ffi::lua_insert(l, -2);
                ffi::lua_concat(l, 2);
            }
            ffi::lua_error(l)
        }
    }
}
