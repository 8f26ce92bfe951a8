//! The trampoline behind every `lua_CFunction` whose body is ordinary Rust.
//!
//! Lua errors are `longjmp`s (C++-style unwinds on LuaJIT).  Jumping over a Rust frame that
//! still owns values would skip their destructors (a leaked lock, a leaked reference, or
//! worse), a foreign unwind that reaches `catch_unwind` aborts the process, and a Rust panic
//! must never unwind into Lua.  So the Rust body of a C function runs to completion inside
//! `catch_unwind` with no raising capability (it gets a plain `State`), reports failure as a
//! `Raise` (which owns nothing that needs dropping), and only then, with nothing left to drop,
//! this trampoline raises the Lua error.

use std::ffi::c_int;
use std::fmt::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};

use mlua_sys as ffi;

use crate::{CanRaise, State};

/// A short error message in a fixed buffer: it can cross the `longjmp` without a destructor.
#[derive(Clone, Copy, Debug)]
pub struct Message {
    buf: [u8; 96],
    len: usize,
}

impl Message {
    pub fn new(args: std::fmt::Arguments<'_>) -> Message {
        let mut message = Message {
            buf: [0; 96],
            len: 0,
        };
        let _ = message.write_fmt(args);
        message
    }

    /// The message as a NUL-terminated C string.
    fn as_ptr(&self) -> *const std::ffi::c_char {
        self.buf.as_ptr().cast()
    }

    /// The message as a C string (it ends at its first NUL byte, if it has one).
    pub fn as_c_str(&self) -> &std::ffi::CStr {
        // The last byte of the buffer is never written (`write_str`): there is a NUL.
        std::ffi::CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"")
    }
}

impl Write for Message {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        // Keep one byte for the terminating NUL; truncate (on a char boundary) if too long.
        let room = self.buf.len() - 1 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

/// How the body of a C function failed.
#[derive(Debug)]
pub enum Raise {
    /// The Lua error object is on top of the stack.
    Error,
    /// Lua's standard "bad argument #n to 'f' (message)" error.
    BadArgument(c_int, Message),
    /// A plain error message (no position information, as upstream's messages).
    Message(Message),
    /// A limit has stopped the entry (`Limits::tripped`): the limits' own error, as the hook
    /// raises it.  For C functions that can be called in a loop by a library function that
    /// runs no VM instruction meanwhile (the callbacks of Python objects, say).
    Stopped,
}

impl Raise {
    pub fn bad_argument(arg: c_int, message: &str) -> Raise {
        Raise::BadArgument(arg, Message::new(format_args!("{message}")))
    }

    /// For a Rust panic caught before it could reach Lua.
    pub fn internal_error() -> Raise {
        Raise::Message(Message::new(format_args!("{PANIC_MESSAGE}")))
    }
}

pub(crate) const PANIC_MESSAGE: &str = "internal error (this is a bug): a Rust panic reached Lua";

/// Runs `body` as the implementation of a `lua_CFunction` called with state `l`, returning
/// its number of results or raising its error.
///
/// # Safety
/// Must be called directly by a `lua_CFunction` that Lua called with `l`.
#[inline(always)]
pub unsafe fn run_c_function<F>(l: *mut ffi::lua_State, body: F) -> c_int
where
    F: FnOnce(State) -> Result<c_int, Raise>,
{
    // SAFETY: Lua passed a valid state to the calling C function.
    let st = unsafe { State::new(l) };
    let outcome = catch_unwind(AssertUnwindSafe(|| body(st)));
    // SAFETY: from here on this frame owns nothing that needs dropping (`outcome` holds a
    // panic's payload at most, dropped first), and its caller is Lua.
    let raise = unsafe { CanRaise::assume() };
    match outcome {
        Ok(Ok(nresults)) => return nresults,
        Ok(Err(Raise::Error)) => {}
        Ok(Err(Raise::BadArgument(arg, message))) => {
            // SAFETY: as for `raise` below; the message lives in this frame and has no
            // destructor (Lua copies it before unwinding).
            unsafe { ffi::luaL_argerror(l, arg, message.as_ptr()) };
        }
        Ok(Err(Raise::Message(message))) => {
            st.push_bytes(raise.create(), &message.buf[..message.len])
        }
        Ok(Err(Raise::Stopped)) => crate::limits::raise_stopped(st, raise),
        Err(payload) => {
            drop(payload);
            st.push_str(raise.create(), PANIC_MESSAGE);
        }
    }
    // SAFETY: every Rust value of `body` has been dropped; only this frame (which owns
    // nothing that needs dropping) lies between here and the Lua function that called us.
    unsafe { st.raise() }
}
