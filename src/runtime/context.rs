//! `Lua`: the context in which Python code may use a runtime's Lua state.
//!
//! A `Lua` exists while the current thread holds the runtime lock.  It knows which Lua thread
//! to use and whether operations that can raise must run protected (a memory limit is set, or
//! the flavour re-throws finalizer errors).  The conversions between Python and Lua values
//! (`convert/`) are methods of this context too, defined there.

use std::cell::Cell;
use std::ffi::{c_int, c_void};

use pyo3::prelude::*;
use safe_lua::sys::{LUA_MULTRET, LUA_OK, LUA_TFUNCTION, LUA_TTABLE};
use safe_lua::{ByteSlice, Op, State, keep_error};

use super::Core;
use super::lock::LockGuard;
use crate::exceptions::{self, ErrorKind};

/// Turns the Lua error object at stack index `idx` (reported with status `status`) into the
/// Python exception to raise.
///
/// Implemented by the value conversions (`convert::error_from`), which sit above this layer:
/// a Lua error object can be any value (a table becomes a wrapper, a Python exception that
/// travelled through Lua is raised as itself).  The core holds the function, so that the
/// runtime's own operations can report errors without depending on the layers above.
pub(crate) type ErrorConverter =
    for<'py> fn(&Lua<'_>, Python<'py>, c_int, c_int, ErrorKind) -> PyErr;

pub(crate) struct Lua<'rt> {
    pub(crate) core: &'rt Core,
    pub(crate) st: State,
    /// Operating at the bottom of the main thread's stack (an outermost entry from Python),
    /// where `BaseSlots` are valid indices.
    at_base: bool,
    /// An outermost entry from Python: its budget ends when the context drops.
    outermost: bool,
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
    ///
    /// Then releases the Python objects of userdata that Luau's collector destroyed
    /// meanwhile (runtime/deferred.rs), and finally ends the entry's limits (a
    /// `KeyboardInterrupt` that no Lua code noticed is posted: runtime/limits.rs).
    fn drop(&mut self) {
        if self.hit_memory_limit.get() && self._guard.is_some() {
            self.collect_garbage_without_limit();
        }
        if self.at_base {
            super::identity_cache::compact_if_sparse(self);
        }
        if self.core.deferred.is_pending() {
            // (Before the entry's budget ends: Python code run by the releases that calls
            // into this runtime is nested in this entry and shares its budget.)
            // SAFETY: a context exists only with the GIL held (an entry from Python, or a
            // Python callback).
            let py = unsafe { Python::assume_attached() };
            self.core.deferred.release(py, &self.core.pyrefs);
        }
        if self.outermost {
            self.core.data.limits.end();
            // SAFETY: a context exists only with the GIL held (see above).
            let py = unsafe { Python::assume_attached() };
            self.core.limits.end_entry(py);
        }
    }
}

/// Values kept for good at the bottom of the main thread's stack, below everything an entry
/// from Python pushes (`initialise` in api/runtime.rs puts them there).
pub(crate) struct BaseSlots;

impl BaseSlots {
    /// The globals table.
    pub(crate) const GLOBALS: c_int = 1;
    /// The string "debug".
    pub(crate) const DEBUG: c_int = 2;
    /// The string "traceback".
    pub(crate) const TRACEBACK: c_int = 3;

    /// Pushes the slots onto the (empty) main thread stack, during initialisation.
    pub(crate) fn push(st: State, create: safe_lua::CanCreate) {
        st.set_top(0);
        st.push_globals();
        st.push_str(create, "debug");
        st.push_str(create, "traceback");
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
    pub(crate) fn new(
        core: &'rt Core,
        st: State,
        guard: LockGuard<'rt>,
        at_base: bool,
        outermost: bool,
    ) -> Self {
        Lua {
            core,
            st,
            at_base,
            outermost,
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
            outermost: false,
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
            Err(exceptions::new_error(
                py,
                ErrorKind::Memory,
                "not enough memory (Lua stack overflow)",
            ))
        }
    }

    /// Runs an operation that creates a Lua object: directly when that cannot raise, else as
    /// a protected `op` (see `safe_lua::token`).  `direct` and `op` must have the same effect.
    #[inline]
    fn creating(
        &self,
        py: Python<'_>,
        direct: impl FnOnce(State, safe_lua::CanCreate),
        op: Op,
        data: *mut c_void,
    ) -> PyResult<()> {
        if let Some(create) = self.core.can_create() {
            direct(self.st, create);
            return Ok(());
        }
        match self.st.protected(op, data, 0, 1, 0) {
            LUA_OK => Ok(()),
            status => Err(self.pop_error(py, status)),
        }
    }

    /// Pushes a Lua string.  `[-0, +1]`
    #[inline]
    pub(crate) fn push_bytes(&self, py: Python<'_>, bytes: &[u8]) -> PyResult<()> {
        let mut slice = ByteSlice {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        };
        self.creating(
            py,
            |st, create| st.push_bytes(create, bytes),
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
        self.creating(
            py,
            |st, create| st.new_table(create, narr, nrec),
            Op::NEW_TABLE,
            (&raw mut sizes).cast(),
        )
    }

    /// Replaces the function on top with a new coroutine that runs it.  `[-1, +1]`
    pub(crate) fn new_coroutine(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(create) = self.core.can_create() {
            self.st.new_coroutine(create);
            return Ok(());
        }
        match self
            .st
            .protected(Op::NEW_COROUTINE, std::ptr::null_mut(), 1, 1, 0)
        {
            LUA_OK => Ok(()),
            status => Err(self.pop_error(py, status)),
        }
    }

    /// `t[k] = v` without metamethods for the table at `table`, with `k` and `v` on top:
    /// directly when that cannot raise, else protected (a nil or NaN key raises LuaError).
    /// `[-2, +0]`
    pub(crate) fn raw_set(&self, py: Python<'_>, table: c_int) -> PyResult<()> {
        let st = self.st;
        if let Some(grow) = self.core.can_grow()
            && st.raw_set_checked(grow, table)
        {
            return Ok(());
        }
        // [.., k, v] -> [.., t, k, v], the operands of the protected call.
        st.push_value(table);
        st.insert(-3);
        match st.protected(Op::RAW_SET, std::ptr::null_mut(), 3, 0, 0) {
            LUA_OK => Ok(()),
            status => Err(self.pop_error(py, status)),
        }
    }

    /// `next(t, key)` for the table at `table`, with `key` on top: replaces the key by the
    /// next key and value and returns true, or pops it and returns false at the end.
    ///
    /// `next` raises for a key that no longer has a slot in the table (removed, and the table
    /// rehashed since), which must not happen unprotected: a key that the table still has
    /// takes the direct path; any other key goes through a protected call (LuaError "invalid
    /// key to 'next'").  `trusted`: the key was returned by `next` with nothing run on the
    /// runtime since (the caller knows; see lua_value/iter.rs).  `[-1, +(2|0)]`
    #[inline]
    pub(crate) fn next(&self, py: Python<'_>, table: c_int, trusted: bool) -> PyResult<bool> {
        let st = self.st;
        let table = st.abs_index(table);
        if trusted {
            // SAFETY: the key is valid (see above).
            return Ok(unsafe { st.next_trusted(table) });
        }
        if let Some(more) = st.next_if_valid(table) {
            return Ok(more);
        }
        let key_slot = st.top();
        st.push_value(table);
        st.insert(-2);
        match st.protected(Op::NEXT, std::ptr::null_mut(), 2, LUA_MULTRET, 0) {
            LUA_OK => Ok(st.top() >= key_slot),
            status => Err(self.pop_error(py, status)),
        }
    }

    /// Pops the top value into a new registry reference.  `[-1, +0]`
    ///
    /// A reference is the host's bookkeeping: under a memory limit it is made with the limit
    /// lifted (see `safe_lua::memory::with_limit_lifted`).
    #[inline]
    pub(crate) fn reference(&self, py: Python<'_>) -> PyResult<c_int> {
        if let Some(grow) = self.core.can_grow() {
            return Ok(self.st.reference(grow));
        }
        let st = self.st;
        let status = safe_lua::memory::with_limit_lifted(st, || {
            st.protected(Op::REFERENCE, std::ptr::null_mut(), 1, 1, 0)
        });
        match status {
            LUA_OK => {
                let r = self.st.to_number(-1) as c_int;
                self.st.pop(1);
                Ok(r)
            }
            status => Err(self.pop_error(py, status)),
        }
    }

    /// Releases a registry reference (never raises).  `[-0, +0]`
    #[inline]
    pub(crate) fn unreference(&self, reference: c_int) {
        self.st.unreference_safely(reference, self.core.can_grow());
    }

    /// Pops the top value into registry slot `slot` (a reference made at initialisation).
    /// `[-1, +0]`
    pub(crate) fn set_registry_slot(&self, py: Python<'_>, slot: c_int) -> PyResult<()> {
        match self.st.set_registry_slot(slot, self.core.can_grow()) {
            LUA_OK => Ok(()),
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
    /// Returns 0, with nil on top, if there is no handler at all.
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
        if st.type_of(-2) == LUA_TTABLE && st.raw_get(-2) == LUA_TTABLE {
            if at_base {
                st.push_value(BaseSlots::TRACEBACK);
            } else if self.push_bytes(py, b"traceback").is_err() {
                st.push_nil();
            }
            if st.raw_get(-2) == LUA_TFUNCTION {
                return st.top();
            }
        }
        if st.push_registered(keep_error, self.core.can_create()) {
            st.top()
        } else {
            // A script removed the handler's registry entry (Lua 5.1/LuaJIT): no handler.
            st.push_nil();
            0
        }
    }

    /// Calls the function at `func` (with the traceback handler at `func - 1`, or nil there)
    /// with the values above it as arguments, releasing the GIL while Lua runs.  Returns the
    /// number of results, which replace the function and arguments; on error, the Python
    /// exception.
    pub(crate) fn pcall(&self, py: Python<'_>, func: c_int) -> PyResult<c_int> {
        let st = self.st;
        let nargs = st.top() - func;
        let handler = if st.type_of(func - 1) == LUA_TFUNCTION {
            func - 1
        } else {
            0
        };
        let status = self.without_gil(py, move || st.pcall(nargs, LUA_MULTRET, handler));
        if status != LUA_OK {
            return Err(self.pop_error(py, status));
        }
        // A call that ends normally right after a limit stopped it (see safe_lua::limits)
        // failed all the same.
        if let Some(err) = self.limit_error(py) {
            st.set_top(func - 1);
            return Err(err);
        }
        Ok(st.top() - func + 1)
    }

    /// Runs Lua code with the GIL released (`Core::without_gil`).
    #[inline]
    pub(crate) fn without_gil<R>(&self, py: Python<'_>, f: impl FnOnce() -> R) -> R {
        self.core.without_gil(py, f)
    }

    /// Converts the error object on top of the stack into the Python exception to raise, and
    /// pops it (see `ErrorConverter`).
    ///
    /// When a limit stopped the entry, the error object is whatever ended the call (the
    /// limit's own error, or what a script made of it): the limit's exception is raised
    /// instead.
    pub(crate) fn pop_error(&self, py: Python<'_>, status: c_int) -> PyErr {
        if let Some(err) = self.limit_error(py) {
            self.st.pop(1);
            return err;
        }
        let err = self.error_from(py, -1, status, ErrorKind::Runtime);
        self.st.pop(1);
        // Converting the error object may have run Lua code (`__tostring`) past a limit.
        if let Some(limit) = self.limit_error(py) {
            return limit;
        }
        if self.core.data.account().is_some_and(|m| m.is_limited())
            && err.is_instance_of::<pyo3::exceptions::PyMemoryError>(py)
        {
            self.hit_memory_limit.set(true);
        }
        err
    }

    /// The exception of the limit that stopped the running entry, if one did.
    #[inline]
    pub(crate) fn limit_error(&self, py: Python<'_>) -> Option<PyErr> {
        let limits = &self.core.data.limits;
        let trip = limits.tripped()?;
        Some(self.core.limits.error(py, trip, limits.budget()))
    }

    /// The Python exception for the Lua error object at `idx`; `kind` is the class for errors
    /// that are not memory errors (see `ErrorConverter`).
    #[inline]
    pub(crate) fn error_from(
        &self,
        py: Python<'_>,
        idx: c_int,
        status: c_int,
        kind: ErrorKind,
    ) -> PyErr {
        (self.core.error_converter)(self, py, idx, status, kind)
    }

    /// A full garbage collection that may exceed the memory limit.
    fn collect_garbage_without_limit(&self) {
        let st = self.st;
        let top = st.top();
        // Calling the collector needs a little memory itself (a call frame, finalizers), so
        // the limit is lifted meanwhile.  Errors of finalizers are ignored: the memory error
        // is what gets reported.
        safe_lua::memory::with_limit_lifted(st, || {
            st.protected(Op::GC_COLLECT, std::ptr::null_mut(), 0, 0, 0)
        });
        st.set_top(top);
    }

    /// Decodes an error message: the runtime's encoding if it decodes, latin-1 otherwise
    /// (upstream raises UnicodeDecodeError instead of the Lua error in that case).
    pub(crate) fn decode_message(&self, py: Python<'_>, bytes: &[u8]) -> String {
        crate::text::decode_lossless(py, bytes, self.core.options.encoding.codec())
    }

    /// Decodes text for `str()` and `repr()`: the runtime's encoding, UTF-8 when strings are
    /// bytes, latin-1 if that fails.
    pub(crate) fn decode_text(&self, py: Python<'_>, bytes: &[u8]) -> String {
        let codec = self.core.options.encoding.codec().unwrap_or(c"utf-8");
        crate::text::decode_lossless(py, bytes, Some(codec))
    }
}
