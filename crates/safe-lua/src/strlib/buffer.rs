//! gsub's result while it is built: `luaL_Buffer`'s equivalent.
//!
//! The first `INLINE` bytes stay in the C function's frame; beyond that the bytes live in a
//! full userdata in a stack slot reserved at the start, replaced by one twice as large when
//! it fills up.  Every byte is therefore in memory from the state's allocator (a memory
//! limit refuses what it would exceed, with Lua's own memory error) and owned by Lua's
//! collector, so an error anywhere leaks nothing.  The userdata has no metatable: scripts
//! cannot free it; one that replaces the slot (`debug.setlocal`) is caught by `check`.
//!
//! When memory runs out, the error is the flavour's: Lua's memory error, except on Lua 5.3,
//! whose `luaL_Buffer` raises "not enough memory for buffer allocation" (a runtime error).

use std::ffi::c_int;

use super::raise_tampered;
use crate::{CanRaise, Message, State};

/// Pushes a new full userdata of `size` bytes for the buffer; returns its bytes.
#[cfg(not(feature = "lua53"))]
fn new_block(st: State, raise: CanRaise, size: usize) -> *mut u8 {
    st.new_userdata(raise.create(), size).cast()
}

/// Lua 5.3: as elsewhere, but with 5.3's error when memory runs out.
#[cfg(feature = "lua53")]
fn new_block(st: State, raise: CanRaise, size: usize) -> *mut u8 {
    use mlua_sys as ffi;

    /// `[size] -> [userdata]`.
    unsafe extern "C-unwind" fn new_userdata(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua (`lua_pcall` below) with a valid state.
        let st = unsafe { State::new(l) };
        let size = st.to_integer_subtype(1).unwrap_or(0) as usize;
        // SAFETY: a C function that owns nothing.
        st.new_userdata(unsafe { CanRaise::assume() }.create(), size);
        1
    }
    // (A C function without upvalues is a light value on 5.3: pushing it allocates nothing.)
    st.push_cfunction(raise.create(), new_userdata);
    st.push_integer(size as i64);
    let status = st.pcall(1, 1, 0);
    if status == ffi::LUA_OK {
        return st.to_userdata(-1).cast();
    }
    if crate::StateData::of(st).is_some_and(|data| data.limits.tripped().is_some()) {
        crate::limits::raise_stopped(st, raise);
    }
    if status == ffi::LUA_ERRMEM {
        let message = "not enough memory for buffer allocation";
        st.error_at_caller(raise, &Message::new(format_args!("{message}")));
    }
    // A finalizer's error, re-thrown by the collection step.
    // SAFETY: a C function's frame that owns nothing that needs dropping (`raise`).
    unsafe { st.raise() }
}

/// Bytes kept in the frame before a userdata is needed (`LUAL_BUFFERSIZE` of Lua 5.4).
const INLINE: usize = 1024;

pub(super) struct Buffer {
    /// The reserved stack slot (nil until the first userdata).
    slot: c_int,
    /// The userdata's bytes; null while the bytes are `inline`.
    heap: *mut u8,
    len: usize,
    cap: usize,
    inline: [u8; INLINE],
}

impl Buffer {
    /// An empty buffer; reserves its slot on top of the stack (one free slot needed).
    pub(super) fn new(st: State) -> Buffer {
        st.push_nil();
        Buffer {
            slot: st.top(),
            heap: std::ptr::null_mut(),
            len: 0,
            cap: INLINE,
            inline: [0; INLINE],
        }
    }

    /// The bytes written so far.
    pub(super) fn as_slice(&self) -> &[u8] {
        if self.heap.is_null() {
            &self.inline[..self.len]
        } else {
            // SAFETY: the userdata (kept alive by its slot, checked after any Lua code ran)
            // has `cap >= len` bytes, of which `len` were written.
            unsafe { std::slice::from_raw_parts(self.heap, self.len) }
        }
    }

    /// The free space after the bytes written; `commit` marks part of it as written.
    pub(super) fn spare(&mut self) -> &mut [u8] {
        if self.heap.is_null() {
            &mut self.inline[self.len..]
        } else {
            // SAFETY: as in `as_slice`; the part after `len` is ours to write.
            unsafe { std::slice::from_raw_parts_mut(self.heap.add(self.len), self.cap - self.len) }
        }
    }

    /// Marks `n` bytes of `spare()` as written.
    pub(super) fn commit(&mut self, n: usize) {
        debug_assert!(n <= self.cap - self.len);
        self.len += n.min(self.cap - self.len);
    }

    /// Appends `bytes`.  Returns whether it allocated (then Lua code may have run: see
    /// `grow`).
    pub(super) fn add(&mut self, st: State, raise: CanRaise, bytes: &[u8]) -> bool {
        let grew = bytes.len() > self.cap - self.len;
        if grew {
            self.grow(st, raise, bytes.len());
        }
        self.spare()[..bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        grew
    }

    /// Makes room for `extra` more bytes (at least doubling).  The allocation can raise a
    /// memory error, and runs a collection step, whose finalizers may run Lua code: the
    /// caller checks what it reads from Lua afterwards.  (`bytes` being appended stay valid
    /// meanwhile: objects that were reachable when the step began are not freed by it.)
    pub(super) fn grow(&mut self, st: State, raise: CanRaise, extra: usize) {
        let Some(needed) = self.len.checked_add(extra) else {
            st.error_at_caller(raise, &Message::new(format_args!("buffer too large")))
        };
        let cap = needed.max(self.cap.saturating_mul(2));
        let new = new_block(st, raise, cap);
        // The old bytes are still alive: in the frame, or in the userdata in `slot`.
        self.check(st, raise);
        // SAFETY: `new` has `cap >= len` bytes; the old bytes are `len` readable bytes of
        // another object.
        unsafe { std::ptr::copy_nonoverlapping(self.as_slice().as_ptr(), new, self.len) };
        st.replace(self.slot);
        self.heap = new;
        self.cap = cap;
    }

    /// Raises an error if Lua code replaced the userdata in the buffer's slot.
    pub(super) fn check(&self, st: State, raise: CanRaise) {
        if !self.heap.is_null() && st.to_userdata(self.slot).cast::<u8>() != self.heap {
            raise_tampered(st, raise);
        }
    }
}
