//! `Lua`: the context in which Python code may use a runtime's Lua state.
//!
//! A `Lua` exists while the current thread holds the runtime lock.  It knows which Lua thread
//! to use and whether allocating operations must be protected (when a memory limit is set).
//! Conversions (convert.rs) and calls are methods of this context.

use std::cell::Cell;
use std::ffi::{c_int, c_void};

use pyo3::prelude::*;

use crate::core::{Core, LuaGil};
use crate::errors::{self, ErrorKind};
use crate::lock::LockGuard;
use crate::lua::{Op, State, ffi, keep_error};

pub(crate) struct Lua<'rt> {
    pub(crate) core: &'rt Core,
    pub(crate) st: State,
    /// Operating at the bottom of the main thread's stack (an outermost entry from Python),
    /// where `BaseSlots` are valid indices.
    at_base: bool,
    /// Set when an operation hit the memory limit (see `Drop`).
    hit_memory_limit: Cell<bool>,
    _guard: Option<LockGuard<'rt>>,
}

impl Drop for Lua<'_> {
    /// After hitting the memory limit, collects what the failed operation left behind (by
    /// now its values are off the stack).  Lua 5.2+ already tried an emergency collection
    /// before failing; Lua 5.1 and LuaJIT do not, and without this every later allocation
    /// would fail until a collection happens to run.
    ///
    /// At the end of an outermost entry, rebuilds the identity cache if it has become sparse.
    fn drop(&mut self) {
        if self.hit_memory_limit.get() && self._guard.is_some() {
            self.collect_garbage_without_limit();
        }
        if self.at_base {
            crate::pyobject::compact_cache_if_sparse(self);
        }
    }
}

/// Values kept for good at the bottom of the main thread's stack, below everything an entry
/// from Python pushes (`initialise` in runtime.rs puts them there).
pub(crate) struct BaseSlots;

impl BaseSlots {
    /// The globals table.
    pub(crate) const GLOBALS: c_int = 1;
    /// The string "debug".
    pub(crate) const DEBUG: c_int = 2;
    /// The string "traceback".
    pub(crate) const TRACEBACK: c_int = 3;

    /// Pushes the slots onto the (empty) main thread stack (during initialisation).
    pub(crate) fn push(lua: &Lua<'_>) {
        lua.st.set_top(0);
        lua.st.push_globals();
        lua.st.push_str("debug");
        lua.st.push_str("traceback");
    }
}

/// Restores the stack top when dropped, so that every exit path leaves the stack balanced
/// (debug builds assert that nothing below it was popped).
pub(crate) struct StackGuard {
    st: State,
    top: c_int,
}

impl Drop for StackGuard {
    #[inline]
    fn drop(&mut self) {
        // Values below the saved top belong to someone else: popping them is a bug, which
        // `set_top` would hide by refilling the slots with nils.
        debug_assert!(
            self.st.top() >= self.top,
            "stack guard: {} values popped beyond the guarded top",
            self.top - self.st.top()
        );
        self.st.set_top(self.top);
    }
}

/// Stack slots the helpers use beyond the values they leave: the traceback handler lookup
/// (up to 3), a protected call's function and data (2), a userdata's cache lookups.
const TRANSIENT_SLOTS: c_int = 6;

impl<'rt> Lua<'rt> {
    pub(crate) fn new(core: &'rt Core, st: State, guard: LockGuard<'rt>, at_base: bool) -> Self {
        Lua {
            core,
            st,
            at_base,
            hit_memory_limit: Cell::new(false),
            _guard: Some(guard),
        }
    }

    /// The context of a Python callback called by Lua on thread `st`.  The runtime lock is
    /// already held by this thread: Lua only runs while some entry from Python holds it.
    pub(crate) fn in_callback(core: &'rt Core, st: State) -> Self {
        Lua {
            core,
            st,
            at_base: false,
            hit_memory_limit: Cell::new(false),
            _guard: None,
        }
    }

    /// Whether an operation in this context hit the memory limit (then dropping the context
    /// runs a full collection, see `Drop`).
    pub(crate) fn hit_memory_limit(&self) -> bool {
        self.hit_memory_limit.get()
    }

    /// A guard that resets the stack to its current height.
    #[inline]
    pub(crate) fn stack_guard(&self) -> StackGuard {
        StackGuard {
            st: self.st,
            top: self.st.top(),
        }
    }

    /// Reserves `n` stack slots for the caller's own values, plus `TRANSIENT_SLOTS` for what
    /// the helpers it calls push for a moment; or fails with LuaMemoryError.
    #[inline]
    pub(crate) fn ensure_stack(&self, py: Python<'_>, n: usize) -> PyResult<()> {
        let n = c_int::try_from(n)
            .unwrap_or(c_int::MAX)
            .saturating_add(TRANSIENT_SLOTS);
        if self.st.ensure_stack(n) {
            Ok(())
        } else {
            Err(errors::new_error(
                py,
                ErrorKind::Memory,
                "not enough memory (Lua stack overflow)",
            ))
        }
    }

    /// Runs an operation that creates a Lua object: directly when that cannot raise, else as
    /// a protected `op` (see lua/protect.rs and `Core::creating_objects_may_raise`).
    /// `direct` and `op` must have the same effect.
    #[inline]
    fn allocating(
        &self,
        py: Python<'_>,
        direct: impl FnOnce(State),
        op: Op,
        data: *mut c_void,
    ) -> PyResult<()> {
        if !self.core.creating_objects_may_raise() {
            direct(self.st);
            return Ok(());
        }
        match self.st.protected(op, data, 0, 1, 0) {
            ffi::LUA_OK => Ok(()),
            status => Err(self.pop_error(py, status)),
        }
    }

    /// Pushes a Lua string.  `[-0, +1]`
    #[inline]
    pub(crate) fn push_bytes(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let mut slice = crate::lua::ByteSlice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        };
        self.allocating(
            py,
            |st| st.push_bytes(bytes),
            Op::PUSH_BYTES,
            (&raw mut slice).cast(),
        )
    }

    /// Pushes a new table.  `[-0, +1]`
    pub(crate) fn new_table(&self, py: Python<'_>, narr: usize, nrec: usize) -> PyResult<()> {
        let (narr, nrec) = (
            c_int::try_from(narr).unwrap_or(c_int::MAX),
            c_int::try_from(nrec).unwrap_or(c_int::MAX),
        );
        let mut sizes = (narr, nrec);
        self.allocating(
            py,
            |st| st.new_table(narr, nrec),
            Op::NEW_TABLE,
            (&raw mut sizes).cast(),
        )
    }

    /// `next(t, key)` for the table at `table`, with `key` on top: replaces the key by the
    /// next key and value and returns true, or pops it and returns false at the end.
    ///
    /// `next` raises for a key that no longer has a slot in the table (removed, and the table
    /// rehashed since), which must not happen unprotected.  A key that still has a value
    /// cannot fail and takes the direct path; any other key goes through a protected call
    /// (LuaError "invalid key to 'next'").  `trusted` skips the check, for a key that `next`
    /// returned with nothing run on the runtime since.  `[-1, +(2|0)]`
    #[inline]
    pub(crate) fn next(&self, py: Python<'_>, table: c_int, trusted: bool) -> PyResult<bool> {
        let st = self.st;
        let table = st.abs_index(table);
        let safe = trusted || st.type_of(-1) == ffi::LUA_TNIL || {
            st.push_value(-1);
            let present = st.raw_get(table) != ffi::LUA_TNIL;
            st.pop(1);
            present
        };
        if safe {
            return Ok(st.next(table));
        }
        let key_slot = st.top();
        st.push_value(table);
        st.insert(-2);
        match st.protected(Op::NEXT, std::ptr::null_mut(), 2, ffi::LUA_MULTRET, 0) {
            ffi::LUA_OK => Ok(st.top() >= key_slot),
            status => Err(self.pop_error(py, status)),
        }
    }

    /// Pops the top value into a new registry reference.  `[-1, +0]`
    #[inline]
    pub(crate) fn reference(&self, py: Python<'_>) -> PyResult<c_int> {
        if !self.core.memory_limited() {
            return Ok(self.st.reference());
        }
        let st = self.st;
        let status = crate::memory::with_limit_lifted(st, || {
            st.protected(Op::REFERENCE, std::ptr::null_mut(), 1, 1, 0)
        });
        match status {
            ffi::LUA_OK => {
                let r = self.st.to_number(-1) as c_int;
                self.st.pop(1);
                Ok(r)
            }
            status => Err(self.pop_error(py, status)),
        }
    }

    /// Pushes the message handler for a call from Python and returns its stack index: the
    /// global `debug.traceback` as it is when the call starts (as upstream), or a handler that
    /// leaves errors alone if Lua code removed it.  The lookups are raw: no Lua code may run
    /// outside a protected call.
    ///
    /// `[-0, +(1|2|3)]`: the handler is on top, with up to two leftovers of the lookup below
    /// it (the caller's stack guard removes them; this is the hottest path of every call).
    #[inline]
    pub(crate) fn push_traceback_handler(&self, py: Python<'_>) -> c_int {
        let st = self.st;
        // At the base of the main thread, the globals and the two names are in stack slots
        // (cheaper than making the strings; see `BaseSlots`).  Nested calls (in callbacks and
        // coroutines) make them; that cannot fail unless out of memory under a limit, which
        // `push_bytes` handles, and then the call simply gets no traceback.
        let at_base = self.at_base;
        if at_base {
            st.push_value(BaseSlots::GLOBALS);
            st.push_value(BaseSlots::DEBUG);
        } else {
            st.push_globals();
            if self.push_bytes(py, b"debug").is_err() {
                st.push_nil();
            }
        }
        // (The globals are a table unless Lua code replaced them in the registry.)
        if st.type_of(-2) == ffi::LUA_TTABLE && st.raw_get(-2) == ffi::LUA_TTABLE {
            if at_base {
                st.push_value(BaseSlots::TRACEBACK);
            } else if self.push_bytes(py, b"traceback").is_err() {
                st.push_nil();
            }
            if st.raw_get(-2) == ffi::LUA_TFUNCTION {
                return st.top();
            }
        }
        st.push_cfunction_noalloc(keep_error);
        st.top()
    }

    /// Calls the function at `func` (with the traceback handler at `func - 1`) with the
    /// values above it as arguments, releasing the GIL while Lua runs.  Returns the number of
    /// results, which replace the function and arguments; on error, the Python exception.
    pub(crate) fn pcall(&self, py: Python<'_>, func: c_int) -> PyResult<c_int> {
        let st = self.st;
        let nargs = st.top() - func;
        let status = self.without_gil(py, move || st.pcall(nargs, ffi::LUA_MULTRET, func - 1));
        if status != ffi::LUA_OK {
            return Err(self.pop_error(py, status));
        }
        Ok(st.top() - func + 1)
    }

    /// Runs Lua code with the GIL released, so that other Python threads run meanwhile.
    ///
    /// Unlike PyO3's `detach`, this records the released thread state in the core, so that a
    /// Python callback from Lua re-takes the GIL directly with it (`callback::with_python`),
    /// and it does no thread-local bookkeeping: Lua code calls back into Python often, and
    /// this is the hottest path of the bridge.
    ///
    /// When this is the only Python thread, nobody could use the GIL, and releasing and
    /// re-taking it (here and in every callback) would only cost time: the GIL is kept then
    /// (`LuaGil::Kept`).  A callback that starts a thread releases it when it returns, for the
    /// rest of the call; it is re-taken here.
    #[inline]
    pub(crate) fn without_gil<R>(&self, py: Python<'_>, f: impl FnOnce() -> R) -> R {
        struct Reattach<'a> {
            core: &'a Core,
            outer: LuaGil,
        }
        impl Drop for Reattach<'_> {
            fn drop(&mut self) {
                if let LuaGil::Released(tstate) = self.core.set_lua_gil(self.outer) {
                    // SAFETY: `tstate` is this thread's state, released by the matching
                    // PyEval_SaveThread (below, or in a callback during `f`).
                    unsafe { pyo3::ffi::PyEval_RestoreThread(tstate) };
                }
            }
        }
        let state = if crate::pyhelpers::other_python_threads(py) {
            // SAFETY: the GIL is held (`py`); it is re-taken when `_reattach` drops, even if
            // `f` unwinds.
            LuaGil::Released(unsafe { pyo3::ffi::PyEval_SaveThread() })
        } else {
            LuaGil::Kept
        };
        let _reattach = Reattach {
            core: self.core,
            outer: self.core.set_lua_gil(state),
        };
        f()
    }

    /// Converts the error object on top of the stack into the Python exception to raise, and
    /// pops it.
    ///
    /// A Python exception that travelled through Lua (raised by a callback, maybe caught and
    /// re-raised by Lua code) is raised again as the same object with its traceback.  Anything
    /// else becomes LuaError/LuaMemoryError with Lua's message (empty for non-string error
    /// objects, as upstream) and the error object as the exception's `value`.
    pub(crate) fn pop_error(&self, py: Python<'_>, status: c_int) -> PyErr {
        let err = self.error_from(py, -1, status, ErrorKind::Runtime);
        self.st.pop(1);
        if self.core.memory_limited() && err.is_instance_of::<pyo3::exceptions::PyMemoryError>(py) {
            self.hit_memory_limit.set(true);
        }
        err
    }

    /// A full garbage collection that may exceed the memory limit.
    fn collect_garbage_without_limit(&self) {
        let st = self.st;
        let top = st.top();
        // Calling the collector needs a little memory itself (a call frame, finalizers), so
        // the limit is lifted meanwhile.  Errors of finalizers are ignored: the memory error
        // is what gets reported.
        let memory = self
            .core
            .memory
            .as_deref()
            .expect("limited implies accounting");
        let limit = memory.limit(true);
        memory.set_limit(0, true);
        st.protected(Op::GC_COLLECT, std::ptr::null_mut(), 0, 0, 0);
        memory.set_limit(limit, true);
        st.set_top(top);
    }

    /// Builds the exception for the error object at `idx` (see `pop_error`).  `kind` is the
    /// class for non-memory errors.
    pub(crate) fn error_from(
        &self,
        py: Python<'_>,
        idx: c_int,
        status: c_int,
        kind: ErrorKind,
    ) -> PyErr {
        if self.st.to_userdata(idx) == crate::callback::OUT_OF_MEMORY.as_ptr().cast_mut().cast() {
            return errors::new_error(py, ErrorKind::Memory, "not enough memory");
        }
        if let Some(obj) = crate::pyobject::live_object_at(py, self.st, idx)
            && obj.is_instance_of::<pyo3::exceptions::PyBaseException>()
        {
            return PyErr::from_value(obj);
        }
        let message = match self.st.type_of(idx) {
            ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {
                let bytes = self.st.to_text(idx).unwrap_or_default();
                self.decode_message(&bytes)
            }
            _ => String::new(),
        };
        let kind = if status == ffi::LUA_ERRMEM || errors::is_memory_message(&message) {
            ErrorKind::Memory
        } else {
            kind
        };
        let message = errors::reorder_traceback(&message);
        let value = match self.st.type_of(idx) {
            ffi::LUA_TSTRING => None,
            _ => self.to_python(py, idx).ok().map(Bound::unbind),
        };
        if status == ffi::LUA_ERRMEM {
            // Upstream raises LuaMemoryError() without arguments for Lua's memory status.
            return errors::memory_error_without_message(py);
        }
        errors::error_with_value(
            py,
            kind,
            message.into_pyobject(py).unwrap().into_any().unbind(),
            value,
        )
    }

    /// Decodes an error message: the runtime's encoding if it decodes, latin-1 otherwise
    /// (upstream raises UnicodeDecodeError instead of the Lua error in that case).
    pub(crate) fn decode_message(&self, bytes: &[u8]) -> String {
        self.decode_lossless(bytes, self.core.options.encoding.codec())
    }

    /// Decodes text for `str()` and `repr()`: the runtime's encoding, UTF-8 when strings are
    /// bytes, latin-1 if that fails.
    pub(crate) fn decode_text(&self, bytes: &[u8]) -> String {
        self.decode_lossless(
            bytes,
            Some(self.core.options.encoding.codec().unwrap_or(c"utf-8")),
        )
    }

    fn decode_lossless(&self, bytes: &[u8], codec: Option<&std::ffi::CStr>) -> String {
        if let Some(codec) = codec {
            if codec == c"utf-8" {
                if let Ok(s) = std::str::from_utf8(bytes) {
                    return s.to_owned();
                }
            } else if let Some(s) = crate::convert::decode_with(codec, bytes) {
                return s;
            }
        }
        bytes.iter().map(|&b| b as char).collect()
    }
}
