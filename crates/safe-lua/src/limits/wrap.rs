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
//! budget counts coroutines created while it is armed: they inherit their creator's hook).  LuaJIT needs none of
//! this: its hooks are global to the state.

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

/// Runs `f` (which resumes or closes coroutine `co`) with `co` as the running thread.
pub(crate) fn in_thread(co: *mut ffi::lua_State, f: impl FnOnce() -> c_int) -> c_int {
    // SAFETY: Lua passes a live thread.
    let st = unsafe { crate::State::new(co) };
    let Some(data) = StateData::of(st) else {
        return f();
    };
    let previous = data.limits.enter_thread(st);
    let status = f();
    data.limits.leave_thread(previous);
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
