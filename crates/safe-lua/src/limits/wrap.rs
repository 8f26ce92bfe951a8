//! Lua's own calls to `lua_resume` and `lua_closethread`, seen by the limits.
//!
//! On PUC Lua each thread has its own hook, and the standard library resumes coroutines
//! itself (`coroutine.resume`, `coroutine.wrap`, `coroutine.close`), so the limits must see
//! every resume: to know which thread runs (the watchdog arms the hook there) and to give a
//! resumed coroutine the hook of its resumer.
//!
//! Where the linker can do it (ELF targets, bundled PUC Lua: `build.rs` sets `cfg(wrapped_lua)`
//! and tells the links it controls to pass `--wrap=<symbol>`), every call to these functions
//! in the linked program, Lua's own included, goes through the `__wrap_` functions below,
//! which call the real ones as `__real_`.  Elsewhere (macOS, Windows, a Lua linked from the
//! system) only the resumes made through `State::resume` are seen: a coroutine resumed by Lua
//! code escapes the watchdog's arming until it yields or resumes another one (an instruction
//! budget counts coroutines created while it is armed: they inherit their creator's hook).
//! LuaJIT needs none of this: its hooks are global to the state.

use std::ffi::c_int;

use mlua_sys as ffi;

use crate::StateData;

#[cfg(wrapped_lua)]
unsafe extern "C-unwind" {
    #[cfg(feature = "lua51")]
    fn __real_lua_resume(l: *mut ffi::lua_State, nargs: c_int) -> c_int;
    #[cfg(any(feature = "lua52", feature = "lua53"))]
    fn __real_lua_resume(l: *mut ffi::lua_State, from: *mut ffi::lua_State, nargs: c_int) -> c_int;
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    fn __real_lua_resume(
        l: *mut ffi::lua_State,
        from: *mut ffi::lua_State,
        nargs: c_int,
        nres: *mut c_int,
    ) -> c_int;
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    fn __real_lua_closethread(l: *mut ffi::lua_State, from: *mut ffi::lua_State) -> c_int;
}

/// Resumes coroutine `co` for code that knows its state's `Limits` (`State::resume`): the
/// same as `lua_resume` through `__wrap_lua_resume`, without looking the limits up.
///
/// # Safety
/// As `lua_resume`: `co` is a suspended or fresh coroutine of the state of `limits`.
#[inline]
pub(crate) unsafe fn resume_tracked(
    limits: &super::Limits,
    co: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
    nargs: c_int,
) -> (c_int, c_int) {
    // SAFETY: a live thread (guaranteed by the caller).
    let st = unsafe { crate::State::new(co) };
    let previous = limits.enter_thread(st);
    // SAFETY: guaranteed by the caller.
    let result = unsafe { real_resume(co, from, nargs) };
    limits.leave_thread(st, previous);
    result
}

/// `lua_resume` itself (not `__wrap_lua_resume`), with `flavour::resume`'s results.
///
/// # Safety
/// As `lua_resume`.
#[inline(always)]
unsafe fn real_resume(
    co: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
    nargs: c_int,
) -> (c_int, c_int) {
    #[cfg(not(wrapped_lua))]
    // SAFETY: guaranteed by the caller.
    return unsafe { crate::flavour::resume(co, from, nargs) };
    #[cfg(all(wrapped_lua, any(feature = "lua54", feature = "lua55")))]
    {
        let mut nres = 0;
        // SAFETY: guaranteed by the caller; a valid out pointer.
        let status = unsafe { __real_lua_resume(co, from, nargs, &mut nres) };
        (status, nres)
    }
    #[cfg(all(wrapped_lua, not(any(feature = "lua54", feature = "lua55"))))]
    {
        // (As mlua-sys's compatibility function: the results are the coroutine's stack.)
        #[cfg(feature = "lua51")]
        // SAFETY: guaranteed by the caller.
        let status = unsafe {
            let _ = from;
            __real_lua_resume(co, nargs)
        };
        #[cfg(not(feature = "lua51"))]
        // SAFETY: guaranteed by the caller.
        let status = unsafe { __real_lua_resume(co, from, nargs) };
        let nres = if status == ffi::LUA_OK || status == ffi::LUA_YIELD {
            // SAFETY: a live thread.
            unsafe { ffi::lua_gettop(co) }
        } else {
            0
        };
        (status, nres)
    }
}

/// Runs `f` (which resumes or closes coroutine `co`) with `co` as the running thread.
pub(crate) fn in_thread(co: *mut ffi::lua_State, f: impl FnOnce() -> c_int) -> c_int {
    // SAFETY: Lua passes a live thread.
    let st = unsafe { crate::State::new(co) };
    let Some(data) = StateData::of(st) else {
        return f();
    };
    let previous = data.limits.enter_thread(st);
    let status = f();
    data.limits.leave_thread(st, previous);
    status
}

/// # Safety
/// As `lua_resume`.
#[cfg(all(wrapped_lua, feature = "lua51"))]
#[unsafe(no_mangle)]
unsafe extern "C-unwind" fn __wrap_lua_resume(l: *mut ffi::lua_State, nargs: c_int) -> c_int {
    // SAFETY: guaranteed by the caller.
    in_thread(l, || unsafe { __real_lua_resume(l, nargs) })
}

/// # Safety
/// As `lua_resume`.
#[cfg(all(wrapped_lua, any(feature = "lua52", feature = "lua53")))]
#[unsafe(no_mangle)]
unsafe extern "C-unwind" fn __wrap_lua_resume(
    l: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
    nargs: c_int,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    in_thread(l, || unsafe { __real_lua_resume(l, from, nargs) })
}

/// # Safety
/// As `lua_resume`.
#[cfg(all(wrapped_lua, any(feature = "lua54", feature = "lua55")))]
#[unsafe(no_mangle)]
unsafe extern "C-unwind" fn __wrap_lua_resume(
    l: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
    nargs: c_int,
    nres: *mut c_int,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    in_thread(l, || unsafe { __real_lua_resume(l, from, nargs, nres) })
}

/// `coroutine.close` runs the coroutine's pending `__close` handlers on it.
///
/// # Safety
/// As `lua_closethread`.
#[cfg(all(wrapped_lua, any(feature = "lua54", feature = "lua55")))]
#[unsafe(no_mangle)]
unsafe extern "C-unwind" fn __wrap_lua_closethread(
    l: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    in_thread(l, || unsafe { __real_lua_closethread(l, from) })
}
