//! Raising an error inside a suspended coroutine, for `_LuaThread.throw()`.
//!
//! Lua has no API to resume a coroutine with an error.  Instead, the error object is parked
//! in the registry (keyed by the coroutine) and the crate's hook (`limits/hook.rs`) is armed
//! on the coroutine for function returns and instruction counts.  On resume, the first event
//! is the return of the `coroutine.yield` call (PUC Lua runs return hooks when a yielded C
//! function completes); the hook finds the parked object and raises it there.  The error therefore appears
//! at the `yield`, where a `pcall` in the coroutine (even `pcall(coroutine.yield)`) can catch
//! it, like `generator.throw()` in Python.  Where no return event comes first (LuaJIT), the
//! count hook raises it before the next instruction.
//!
//! The hook replaces any debug hook the coroutine had (`debug.sethook`), as a hook owner
//! would expect from a coroutine that is being aborted; afterwards the coroutine has the hook
//! its limits need, or none.  On LuaJIT hooks are global to the
//! runtime: the hook may then fire on another coroutine first (a `__gc` finalizer run by the
//! collector, say), which finds no parked error and leaves the hook armed.
//!
//! Luau has no hooks, but it can resume a coroutine with an error (`lua_resumeerror`): there
//! the error object is parked on the coroutine's own stack, under a marker, and the next
//! resume without arguments finds it and resumes with the error (`flavour::resume`).

#[cfg(not(feature = "luau"))]
use std::ffi::{c_int, c_void};
#[cfg(not(feature = "luau"))]
use std::sync::atomic::Ordering::Relaxed;

#[cfg(not(feature = "luau"))]
use mlua_sys as ffi;

#[cfg(not(feature = "luau"))]
use crate::{CanGrow, Op, State};

#[cfg(feature = "luau")]
pub(crate) use luau::take_parked_error;

#[cfg(not(feature = "luau"))]
impl State {
    /// Parks the value on top of `self` for coroutine `co` and arms the hook.  Without
    /// `grow` (a memory limit), the registry store runs protected: returns its status, with
    /// the error object on top on failure.  `[-1, +(0|1), -]`
    pub fn raise_on_resume(self, co: State, grow: Option<CanGrow>) -> c_int {
        // [value] -> [registry, co key, value]
        self.push_value(ffi::LUA_REGISTRYINDEX);
        self.push_pointer(co.as_ptr().cast::<c_void>());
        self.push_value(-3);
        let status = match grow {
            // The key (a pointer) is never nil or NaN.
            Some(grow) if self.raw_set_checked(grow, -3) => {
                self.pop(1);
                ffi::LUA_OK
            }
            _ => self.protected(Op::RAW_SET, std::ptr::null_mut(), 3, 0, 0),
        };
        if status != ffi::LUA_OK {
            return status;
        }
        self.pop(1);
        if let Some(data) = crate::StateData::of(self) {
            data.limits.parked.fetch_add(1, Relaxed);
        }
        crate::limits::arm_hook(co, 1);
        ffi::LUA_OK
    }
}

#[cfg(feature = "luau")]
mod luau {
    use std::ffi::c_int;

    use mlua_sys as ffi;

    use crate::{CanGrow, State};

    /// Marks an error object parked on a coroutine's stack (see the module docs).
    static PARKED_ERROR: u8 = 0;

    impl State {
        /// Parks the value on top of `self` for coroutine `co`: the next resume of `co`
        /// without arguments raises it at the `yield` where `co` waits.  Allocates nothing
        /// (the stack of a suspended coroutine has room, or the error is out of memory);
        /// returns the status, with the error object on top of `self` on failure.
        /// `[-1, +(0|1), -]`
        pub fn raise_on_resume(self, co: State, _grow: Option<CanGrow>) -> c_int {
            if !co.ensure_stack(2) {
                self.pop(1);
                self.push_marker(crate::Marker::OutOfMemory);
                return ffi::LUA_ERRMEM;
            }
            self.xmove(co, 1);
            co.push_static(&PARKED_ERROR);
            ffi::LUA_OK
        }
    }

    /// If an error is parked on `co` (by `raise_on_resume`), removes the marker, leaving the
    /// error object on top, and returns true.  `[-(1|0), +0, -]` on `co`
    #[inline]
    pub(crate) fn take_parked_error(co: *mut ffi::lua_State) -> bool {
        // SAFETY: `co` is a valid thread (the caller's contract).
        let co = unsafe { State::new(co) };
        if co.top() >= 2 && co.is_static(-1, &PARKED_ERROR) {
            co.pop(1);
            return true;
        }
        false
    }
}
