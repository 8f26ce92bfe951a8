//! `string.find`, `string.match`, `string.gmatch` and `string.gsub`, replaced in every state
//! by C functions that match with `lua-patterns`, so that limits reach inside a match.
//!
//! Lua's own matcher runs a pattern inside one C call: `("a"):rep(40):find(("a?"):rep(40) ..
//! ("a"):rep(40))` backtracks 2^40 steps without executing a VM instruction, so no hook fires
//! and no limit can stop it.  `lua-patterns` is a port of each flavour's matcher to safe Rust
//! that calls an interrupt check every `CHECK_INTERVAL` steps; here that check polls the
//! state's limits (`Limits::should_stop_c_function`: a tripped timeout or `interrupt()`,
//! the instruction budget charged for the work, Ctrl-C through the owner's checker).
//!
//! Everything else is the flavour's C library, exactly: arguments are converted by the same
//! `lauxlib` calls (`args.rs` for what differs between flavours), errors are raised with the
//! same messages at the same moments, results are pushed the same way.  `open_state`
//! installs the functions into the `string` table (which is also the `__index` of the string
//! metatable, so `("x"):find(...)` uses them too).  The test `tests/strlib.rs` runs random
//! cases through these and through the C functions of a plain state of the same library.
//!
//! # How the C functions are built
//!
//! Each one is a `lua_CFunction` whose own frame holds only plain data (slices into the
//! argument strings, `Match`es, counters, the gsub buffer's bookkeeping): Lua errors may
//! unwind it at any raising call, as in C.  The matcher runs inside `pure`, which catches a
//! panic (a bug) and calls no Lua: a panic becomes a Lua error, and no Lua error ever crosses
//! `catch_unwind` (a foreign unwind from LuaJIT would abort there).  Lua code (gsub's
//! replacement functions and `__index`) is called from the C function's own frame, unprotected,
//! as the C library does: errors and tracebacks are the same.
//!
//! Lua code can run inside any allocation (a collection step calls finalizers) and in gsub's
//! replacements, and the debug library lets it replace the values in a C function's stack
//! slots (`debug.setlocal`) and upvalues.  The C library would then read freed strings; here
//! the slices are re-checked (`Pinned`) after such points and an error is raised instead.
//!
//! Luau's matcher is in `lua-patterns` too (`Dialect::Luau`): a `luau` flavour adds its line
//! to `dialect.rs` and its argument conventions (`int` integers, `luaL_typeerror`) to
//! `args.rs`.

mod args;
mod buffer;
mod dialect;
mod find;
mod gmatch;
mod gsub;
mod values;

use std::ffi::c_int;
use std::panic::{AssertUnwindSafe, catch_unwind};

use lua_patterns::{CHECK_INTERVAL, Interrupt, MatchError};
use mlua_sys as ffi;

use crate::cfunction::PANIC_MESSAGE;
use crate::{CanRaise, Message, State, StateData};

/// The functions, as the `string` table names them.
const FUNCTIONS: [(&std::ffi::CStr, ffi::lua_CFunction); 4] = [
    (c"find", find::find),
    (c"match", find::str_match),
    (c"gmatch", gmatch::gmatch),
    (c"gsub", gsub::gsub),
];

/// Replaces the functions in the `string` table of a state being opened (inside its
/// protected initialisation).
pub(crate) fn install(st: State, raise: CanRaise) {
    st.push_globals();
    if st.get_field(raise, -1, c"string") == ffi::LUA_TTABLE {
        for (name, f) in FUNCTIONS {
            st.push_cfunction(raise.create(), f);
            st.set_field(raise, -2, name);
        }
    }
    st.pop(2);
}

/// The interrupt check of a match: polls the limits of the state it runs in.
pub(super) struct Poll<'a> {
    data: Option<&'a StateData>,
    st: State,
}

impl Poll<'_> {
    pub(super) fn new(st: State) -> Self {
        Poll {
            data: StateData::of(st),
            st,
        }
    }
}

impl Interrupt for Poll<'_> {
    #[inline]
    fn interrupted(&mut self) -> bool {
        self.data.is_some_and(|data| {
            data.limits
                .should_stop_c_function(data, self.st, u64::from(CHECK_INTERVAL))
        })
    }
}

/// A panic caught in `pure` (its payload already dropped).
pub(super) struct Panicked;

/// Runs Rust code that calls no Lua (the matcher) with panics caught.
#[inline(always)]
pub(super) fn pure<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        drop(payload);
        Panicked
    })
}

/// Raises what a matcher function failed with: the C library's error (with the caller's
/// position, as `luaL_error`), or the error of the limit that stopped it.
pub(super) fn raise_match_error(st: State, raise: CanRaise, error: MatchError) -> ! {
    match error {
        MatchError::Pattern(e) => st.error_at_caller(raise, &Message::new(format_args!("{e}"))),
        MatchError::Interrupted => crate::limits::raise_stopped(st, raise),
        MatchError::Callback => raise_panicked(st, raise, Panicked),
    }
}

/// Raises the error of a panic (as `run_c_function` does).
pub(super) fn raise_panicked(st: State, raise: CanRaise, _: Panicked) -> ! {
    st.push_str(raise.create(), PANIC_MESSAGE);
    // SAFETY: a C function's frame that owns nothing that needs dropping (`raise`).
    unsafe { st.raise() }
}

/// `pure`'s result, or the matching error raised.
#[inline(always)]
pub(super) fn or_raise<T>(
    st: State,
    raise: CanRaise,
    r: Result<Result<T, MatchError>, Panicked>,
) -> T {
    match r {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => raise_match_error(st, raise, e),
        Err(panicked) => raise_panicked(st, raise, panicked),
    }
}

/// The C stack a pattern function may need below its frame: the matcher's recursion (200
/// levels, 1000 for Lua 5.1; about 180 bytes each in a release build, ten times that in a
/// debug build), and room for a replacement function to start.
fn stack_needed() -> usize {
    let per_level = if cfg!(debug_assertions) { 2048 } else { 256 };
    let levels = dialect::DIALECT.max_match_depth() as usize;
    (levels * per_level + 32 * 1024).min(1024 * 1024)
}

/// Raises "C stack overflow" when the calling thread has less C stack left than a pattern
/// function may need.  Lua 5.x stop nested C calls at about 200 levels, long before; LuaJIT
/// does not: a gsub replacement function that calls gsub again, without end, crashes its own
/// C functions (and upstream's) with a stack overflow.
#[inline]
pub(super) fn check_c_stack(st: State, raise: CanRaise) {
    if crate::cstack::left().is_some_and(|left| left < stack_needed()) {
        st.error_at_caller(raise, &Message::new(format_args!("C stack overflow")));
    }
}

/// A string that a C function reads through a slice while Lua code may run (see the module
/// docs): the slot (a stack index or an upvalue's pseudo-index) must still hold it.
#[derive(Clone, Copy)]
pub(super) struct Pinned {
    idx: c_int,
    ptr: *const u8,
    len: usize,
}

impl Pinned {
    pub(super) fn new(idx: c_int, bytes: &[u8]) -> Self {
        Pinned {
            idx,
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// Whether the slot still holds the string.  `[-0, +0, -]`
    pub(super) fn holds(self, st: State) -> bool {
        st.type_of(self.idx) == ffi::LUA_TSTRING && {
            // SAFETY: a string: no conversion; the slice is only compared.
            let now = unsafe { st.to_bytes(self.idx) };
            now.as_ptr() == self.ptr && now.len() == self.len
        }
    }

    /// Raises an error if the slot no longer holds the string.
    #[inline]
    pub(super) fn check(self, st: State, raise: CanRaise) {
        if !self.holds(st) {
            raise_tampered(st, raise);
        }
    }
}

/// The error for a C function whose arguments or state were replaced by Lua code while it
/// ran (only the debug library can do that; the C library reads freed memory then).
#[cold]
pub(super) fn raise_tampered(st: State, raise: CanRaise) -> ! {
    let message = "string function's arguments or state were changed while it ran";
    st.error_at_caller(raise, &Message::new(format_args!("{message}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pure_catches_panics() {
        assert!(pure(|| 1).is_ok());
        assert!(pure(|| -> i32 { panic!("a bug") }).is_err());
    }
}
