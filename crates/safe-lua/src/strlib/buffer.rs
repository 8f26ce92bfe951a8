//! gsub's result while it is built: `luaL_Buffer`'s equivalent.
//!
//! The first `INLINE` bytes stay in the C function's frame; beyond that the bytes live in a
//! full userdata in a stack slot reserved at the start, replaced by one twice as large when
//! it fills up.  Every byte is therefore in memory from the state's allocator (a memory
//! limit refuses what it would exceed, with Lua's own memory error) and owned by Lua's
//! collector, so an error anywhere leaks nothing.  The userdata has no metatable: scripts
//! cannot free it; one that replaces the slot (`debug.setlocal`) is caught by `check`.

use std::ffi::c_int;

use super::raise_tampered;
use crate::{CanRaise, Message, State};

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
        let new = st.new_userdata(raise.create(), cap).cast::<u8>();
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
