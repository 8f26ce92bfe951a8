//! `State`: a handle on a Lua stack, with the raw C API calls the rest of the crate needs.
//!
//! Every method documents its stack effect in Lua's manual notation `[-o, +p, x]`: it pops `o`
//! values, pushes `p`, and `x` says whether it can raise a Lua error:
//! `-` never; `m` only on memory errors (allocation); `e` any error (metamethods).
//!
//! Methods marked `m` or `e` longjmp out of the caller when they raise, so they may only be
//! used where that is harmless: inside a protected call (see `protect.rs`), or, for `m`, when
//! the runtime has no memory limit (allocation failures then mean the whole process is out of
//! memory, exactly as with any other C library) and, for calls that create objects, when
//! finalizer errors cannot propagate (`Core::creating_objects_may_raise`; on Lua 5.1 to 5.3 a
//! garbage collection step re-throws them).  See `Lua::allocating` in context.rs.  During
//! initialisation the collector is stopped, so creating objects there cannot raise either.

use std::borrow::Cow;
use std::ffi::{CStr, c_int, c_void};
use std::ptr;

use super::ffi;

/// A Lua thread (`lua_State*`) that the current thread may operate on.
///
/// Invariant (established by `State::new`'s caller): the pointer is a live state of a runtime
/// whose lock the current thread holds (or a state that is being created/closed and is not
/// shared yet), and stack indices passed to the methods are acceptable indices.  Pushes rely
/// on the caller having reserved stack space with `ensure_stack` (Lua guarantees
/// `LUA_MINSTACK` = 20 free slots on entry to a C function and on a fresh state).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct State(*mut ffi::lua_State);

// SAFETY: `State` is a plain pointer; the runtime lock serialises all use of the state it
// points to, whichever thread that is.  It is `Send` so that it can cross `py.detach`.
unsafe impl Send for State {}

impl State {
    /// # Safety
    /// See the type's invariant.
    #[inline(always)]
    pub(crate) unsafe fn new(l: *mut ffi::lua_State) -> Self {
        State(l)
    }

    #[inline(always)]
    pub(crate) fn as_ptr(self) -> *mut ffi::lua_State {
        self.0
    }

    // --- stack management -------------------------------------------------------------

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn top(self) -> c_int {
        // SAFETY: valid state (type invariant).
        unsafe { ffi::lua_gettop(self.0) }
    }

    /// `[-?, +?, -]` Sets the top; new slots are nil.
    #[inline(always)]
    pub(crate) fn set_top(self, idx: c_int) {
        // SAFETY: valid state; `idx` is within the stack (caller).
        unsafe { ffi::lua_settop(self.0, idx) }
    }

    /// `[-n, +0, -]`
    #[inline(always)]
    pub(crate) fn pop(self, n: c_int) {
        self.set_top(-n - 1)
    }

    /// Converts a relative index into an absolute one.  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn abs_index(self, idx: c_int) -> c_int {
        if idx < 0 && idx > ffi::LUA_REGISTRYINDEX {
            self.top() + idx + 1
        } else {
            idx
        }
    }

    /// Reserves `n` free slots.  Returns false if the stack cannot grow that far.
    /// `[-0, +0, -]`: Lua 5.2+, the vendored Lua 5.1 and LuaJIT grow the stack protected (a
    /// stock Lua 5.1 linked from the system may raise a memory error instead).
    #[inline(always)]
    pub(crate) fn ensure_stack(self, n: c_int) -> bool {
        // SAFETY: valid state.
        unsafe { ffi::lua_checkstack(self.0, n) != 0 }
    }

    /// `[-1, +1, -]` moves the top value into position `idx`, shifting up.
    #[inline(always)]
    pub(crate) fn insert(self, idx: c_int) {
        // SAFETY: valid state and index.
        unsafe { ffi::lua_insert(self.0, idx) }
    }

    /// `[-1, +0, -]` removes the value at `idx`, shifting down.
    #[inline(always)]
    pub(crate) fn remove(self, idx: c_int) {
        // SAFETY: valid state and index.
        unsafe { ffi::lua_remove(self.0, idx) }
    }

    /// `[-1, +0, -]` pops the top value into position `idx`.
    #[inline(always)]
    pub(crate) fn replace(self, idx: c_int) {
        // SAFETY: valid state and index.
        unsafe { ffi::lua_replace(self.0, idx) }
    }

    /// Moves the top `n` values of `self` onto `to` (same global state).  `[-n, +0, -]` on
    /// `self`, `[-0, +n, -]` on `to`.
    #[inline(always)]
    pub(crate) fn xmove(self, to: State, n: c_int) {
        // SAFETY: both states belong to the same runtime (caller); `to` has room (caller).
        unsafe { ffi::lua_xmove(self.0, to.0, n) }
    }

    // --- type checks and reads --------------------------------------------------------

    /// `LUA_T*` of the value at `idx` (`LUA_TNONE` past the top).  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn type_of(self, idx: c_int) -> c_int {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_type(self.0, idx) }
    }

    /// Lua's name for a type tag (`"table"`, `"cdata"`, ...).  `[-0, +0, -]`
    pub(crate) fn type_name(self, tag: c_int) -> &'static str {
        // SAFETY: lua_typename returns a static C string for any tag Lua produced.
        let name = unsafe { CStr::from_ptr(ffi::lua_typename(self.0, tag)) };
        name.to_str().unwrap_or("?")
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_bool(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_toboolean(self.0, idx) != 0 }
    }

    /// The number at `idx` (which must be a number).  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_number(self, idx: c_int) -> f64 {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_tonumber(self.0, idx) }
    }

    /// The integer at `idx` if it has Lua 5.3+'s integer subtype.  Always `None` before 5.3.
    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_integer_subtype(self, idx: c_int) -> Option<i64> {
        #[cfg(any(feature = "lua53", feature = "lua54", feature = "lua55"))]
        {
            // SAFETY: valid state, acceptable index.
            if unsafe { ffi::lua_isinteger(self.0, idx) } != 0 {
                // SAFETY: as above; the value is an integer.
                return Some(unsafe { ffi::lua_tointeger(self.0, idx) });
            }
        }
        let _ = idx;
        None
    }

    /// `lua_tointegerx`: the value as an integer if it is (or converts exactly to) one,
    /// including numeric strings.  `[-0, +0, -]`
    #[inline]
    pub(crate) fn to_integer_x(self, idx: c_int) -> Option<i64> {
        let mut isnum: c_int = 0;
        // SAFETY: valid state, acceptable index, valid out pointer.
        let value = unsafe { ffi::lua_tointegerx(self.0, idx, &mut isnum) };
        (isnum != 0).then_some(value)
    }

    /// The bytes of the string at `idx` (which must be a string: numbers are *not*
    /// converted, so the stack is never modified).  The slice stays valid while the string
    /// is on the stack.  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_bytes<'a>(self, idx: c_int) -> &'a [u8] {
        debug_assert_eq!(self.type_of(idx), ffi::LUA_TSTRING);
        let mut len: usize = 0;
        // SAFETY: valid state; the value is a string so lua_tolstring does not convert it
        // in place and returns a pointer into the Lua string object.
        let data = unsafe { ffi::lua_tolstring(self.0, idx, &mut len) };
        if data.is_null() {
            // Not a string after all (a caller's bug, caught by the assertion in tests).
            return &[];
        }
        // SAFETY: Lua guarantees `len` readable bytes at `data` while the string lives.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    }

    /// The string at `idx`, or the text `lua_tolstring` would make of the number there,
    /// without converting the value in place (which allocates, so it could raise, and would
    /// change the value).  `None` for other types.  `[-0, +0, -]`
    pub(crate) fn to_text<'a>(self, idx: c_int) -> Option<Cow<'a, [u8]>> {
        match self.type_of(idx) {
            ffi::LUA_TSTRING => Some(Cow::Borrowed(self.to_bytes(idx))),
            ffi::LUA_TNUMBER => Some(Cow::Owned(match self.to_integer_subtype(idx) {
                Some(i) => i.to_string().into_bytes(),
                None => number_text(self.to_number(idx)),
            })),
            _ => None,
        }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_userdata(self, idx: c_int) -> *mut c_void {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_touserdata(self.0, idx) }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_pointer(self, idx: c_int) -> *const c_void {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_topointer(self.0, idx) }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_thread(self, idx: c_int) -> *mut ffi::lua_State {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_tothread(self.0, idx) }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn is_cfunction(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_iscfunction(self.0, idx) != 0 }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_cfunction(self, idx: c_int) -> Option<ffi::lua_CFunction> {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_tocfunction(self.0, idx) }
    }

    /// Raw length: string bytes, table border, userdata size; 0 otherwise.  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn raw_len(self, idx: c_int) -> usize {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_rawlen(self.0, idx) }
    }

    /// Status of a thread (`LUA_OK`, `LUA_YIELD` or an error).  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn status(self) -> c_int {
        // SAFETY: valid state.
        unsafe { ffi::lua_status(self.0) }
    }

    /// Whether a function (Lua or C) is running on this thread: a coroutine that resumed
    /// and has not yielded, or a thread with a Python callback in progress.  `[-0, +0, -]`
    pub(crate) fn has_frames(self) -> bool {
        let mut ar = std::mem::MaybeUninit::<ffi::lua_Debug>::zeroed();
        // SAFETY: valid state; `lua_getstack` only writes the activation record.
        unsafe { ffi::lua_getstack(self.0, 0, ar.as_mut_ptr()) != 0 }
    }

    // --- pushes that never raise ------------------------------------------------------

    /// `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_nil(self) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushnil(self.0) }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_bool(self, b: bool) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushboolean(self.0, b as c_int) }
    }

    /// Pushes an integer (a double before Lua 5.3).  `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_integer(self, i: i64) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushinteger(self.0, i) }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_number(self, n: f64) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushnumber(self.0, n) }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_light_userdata(self, p: *mut c_void) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushlightuserdata(self.0, p) }
    }

    /// Pushes a pointer as a value that never allocates and is not an integer (it may serve
    /// as a registry key next to `luaL_ref`'s integers): a light userdata, or on LuaJIT
    /// (`flavour::PUSHLIGHTUSERDATA_ALLOCATES`) the address plus one half as a number, which is
    /// exact because user-space addresses have at most 48 bits.  Read back with
    /// `to_pushed_pointer`.  `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_pointer(self, p: *mut c_void) {
        if crate::flavour::PUSHLIGHTUSERDATA_ALLOCATES {
            self.push_number(p as usize as f64 + 0.5);
        } else {
            self.push_light_userdata(p);
        }
    }

    /// The pointer that `push_pointer` pushed at `idx`.  `[-0, +0, -]`
    #[inline(always)]
    pub(crate) fn to_pushed_pointer(self, idx: c_int) -> *mut c_void {
        if crate::flavour::PUSHLIGHTUSERDATA_ALLOCATES {
            (self.to_number(idx) - 0.5) as usize as *mut c_void
        } else {
            self.to_userdata(idx)
        }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_value(self, idx: c_int) {
        // SAFETY: valid state with a free slot, valid index.
        unsafe { ffi::lua_pushvalue(self.0, idx) }
    }

    /// Pushes a C function without upvalues.  `[-0, +1, m]` on Lua 5.1/LuaJIT (it allocates a
    /// closure there), `-` on 5.2+.  Use `push_cfunction_noalloc` on hot paths.
    #[inline(always)]
    pub(crate) fn push_cfunction(self, f: ffi::lua_CFunction) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushcfunction(self.0, f) }
    }

    /// Pushes a C function without allocating: directly on 5.2+; on 5.1/LuaJIT, from the copy
    /// that `register_cfunction` stored in the registry.
    ///
    /// A function that was not registered is registered on first use, which allocates:
    /// states whose memory can be limited register every such function when they are
    /// created (`open_state`), the others may allocate at any time anyway.
    /// `[-0, +1, -]` (`m` on first use in a state without memory accounting).
    #[inline(always)]
    pub(crate) fn push_cfunction_noalloc(self, f: ffi::lua_CFunction) {
        if crate::flavour::PUSHCFUNCTION_ALLOCATES {
            self.push_light_userdata(f as *mut c_void);
            // SAFETY: valid state; a light userdata key never raises in a raw get.
            unsafe { ffi::lua_rawget(self.0, ffi::LUA_REGISTRYINDEX) };
            if self.type_of(-1) != ffi::LUA_TFUNCTION {
                self.pop(1);
                self.register_cfunction(f);
                self.push_cfunction_noalloc(f);
            }
        } else {
            self.push_cfunction(f);
        }
    }

    /// Stores a closure for `f` in the registry for `push_cfunction_noalloc` (a no-op on
    /// 5.2+).  `[-0, +0, m]`
    pub(crate) fn register_cfunction(self, f: ffi::lua_CFunction) {
        if crate::flavour::PUSHCFUNCTION_ALLOCATES {
            self.push_light_userdata(f as *mut c_void);
            self.push_cfunction(f);
            self.raw_set(ffi::LUA_REGISTRYINDEX);
        }
    }

    // --- pushes that allocate --------------------------------------------------------

    /// `[-0, +1, m]`
    #[inline(always)]
    pub(crate) fn push_bytes(self, bytes: &[u8]) {
        // SAFETY: valid state with a free slot; `bytes` is readable for its length.
        unsafe { ffi::lua_pushlstring(self.0, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// `[-0, +1, m]`
    #[inline(always)]
    pub(crate) fn push_str(self, s: &str) {
        self.push_bytes(s.as_bytes())
    }

    /// Pushes a C closure with the top `n` values as upvalues.  `[-n, +1, m]`
    pub(crate) fn push_cclosure(self, f: ffi::lua_CFunction, n: c_int) {
        // SAFETY: valid state with `n` values on top.
        unsafe { ffi::lua_pushcclosure(self.0, f, n) }
    }

    /// `[-0, +1, m]`
    #[inline(always)]
    pub(crate) fn new_table(self, narr: c_int, nrec: c_int) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_createtable(self.0, narr, nrec) }
    }

    /// A new full userdata of `size` bytes (no user values).  `[-0, +1, m]`
    #[inline(always)]
    pub(crate) fn new_userdata(self, size: usize) -> *mut c_void {
        // SAFETY: valid state with a free slot.
        unsafe { crate::flavour::new_userdata(self.0, size) }
    }

    /// Replaces the function on top with a new coroutine that will run it.  `[-1, +1, m]`
    pub(crate) fn new_coroutine(self) {
        // SAFETY: valid state with a free slot; the new thread shares our global state and
        // has room for its function (a fresh thread has LUA_MINSTACK slots).
        let co = State(unsafe { ffi::lua_newthread(self.0) });
        self.push_value(-2);
        self.xmove(co, 1);
        self.replace(-2);
    }

    // --- table access ------------------------------------------------------------------

    /// `t[k]` without metamethods, `t` at `idx`, `k` on top.  `[-1, +1, -]`
    #[inline(always)]
    pub(crate) fn raw_get(self, idx: c_int) -> c_int {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawget(self.0, idx) }
    }

    /// `t[n]` without metamethods.  `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn raw_get_i(self, idx: c_int, n: i64) -> c_int {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawgeti(self.0, idx, n) }
    }

    /// `t[k] = v` without metamethods, `k` and `v` on top.  `[-2, +0, m]`, and `e` for a nil
    /// or NaN key.
    #[inline(always)]
    pub(crate) fn raw_set(self, idx: c_int) {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawset(self.0, idx) }
    }

    /// `t[n] = v` without metamethods, `v` on top.  `[-1, +0, m]`
    #[inline(always)]
    pub(crate) fn raw_set_i(self, idx: c_int, n: i64) {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawseti(self.0, idx, n) }
    }

    /// `t[k]` with metamethods, `k` on top.  `[-1, +1, e]`
    #[inline(always)]
    pub(crate) fn get_table(self, idx: c_int) -> c_int {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_gettable(self.0, idx) }
    }

    /// `t[k] = v` with metamethods, `k`, `v` on top.  `[-2, +0, e]`
    #[inline(always)]
    pub(crate) fn set_table(self, idx: c_int) {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_settable(self.0, idx) }
    }

    /// `t[name]` with metamethods.  `[-0, +1, e]`
    pub(crate) fn get_field(self, idx: c_int, name: &CStr) -> c_int {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_getfield(self.0, idx, name.as_ptr()) }
    }

    /// `t[name] = v` with metamethods, `v` on top.  `[-1, +0, e]`
    pub(crate) fn set_field(self, idx: c_int, name: &CStr) {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_setfield(self.0, idx, name.as_ptr()) }
    }

    /// Pushes the global table.  `[-0, +1, -]`
    pub(crate) fn push_globals(self) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushglobaltable(self.0) };
    }

    /// `lua_next`: pops a key, pushes the next key and value; returns false at the end
    /// (pushing nothing).  `[-1, +(2|0), e]` (an invalid key raises).
    #[inline(always)]
    pub(crate) fn next(self, idx: c_int) -> bool {
        // SAFETY: valid state; table at `idx` (caller); errors per module docs.
        unsafe { ffi::lua_next(self.0, idx) != 0 }
    }

    /// Pushes the metatable of the value at `idx`; returns false (pushing nothing) if it has
    /// none.  `[-0, +(0|1), -]`
    #[inline(always)]
    pub(crate) fn get_metatable(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_getmetatable(self.0, idx) != 0 }
    }

    /// Pops a table and makes it the metatable of the value at `idx`.  `[-1, +0, -]`
    pub(crate) fn set_metatable(self, idx: c_int) {
        // SAFETY: valid state; a table on top.
        unsafe { ffi::lua_setmetatable(self.0, idx) };
    }

    /// Pushes upvalue `n` of the function at `idx`; returns false (pushing nothing) if there
    /// is none.  `[-0, +(0|1), -]`
    pub(crate) fn get_upvalue(self, idx: c_int, n: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { !ffi::lua_getupvalue(self.0, idx, n).is_null() }
    }

    // --- registry references ----------------------------------------------------------

    /// Releases a registry reference from outside Lua: protected when `protect` (a memory
    /// limit is set), so that it cannot end in the panic handler.  `[-0, +0, -]`
    pub(crate) fn unreference_safely(self, r: c_int, protect: bool) {
        if protect {
            let top = self.top();
            // A failure (out of memory) leaks one registry slot, which is all we can do.
            crate::memory::with_limit_lifted(self, || {
                self.protected(super::Op::UNREFERENCE, r as usize as *mut c_void, 0, 0, 0)
            });
            self.set_top(top);
        } else {
            self.unreference(r);
        }
    }

    /// Pops the top value into a new registry reference.  `[-1, +0, m]`
    #[inline(always)]
    pub(crate) fn reference(self) -> c_int {
        // SAFETY: valid state with a value on top.
        unsafe { ffi::luaL_ref(self.0, ffi::LUA_REGISTRYINDEX) }
    }

    /// Releases a registry reference.  `[-0, +0, m]`: on Lua 5.1-5.3 and LuaJIT the free
    /// list's head slot may have to be recreated.
    #[inline(always)]
    pub(crate) fn unreference(self, r: c_int) {
        // SAFETY: valid state; `r` came from `reference` (or is LUA_NOREF/LUA_REFNIL).
        unsafe { ffi::luaL_unref(self.0, ffi::LUA_REGISTRYINDEX, r) }
    }

    /// Pushes the value of a registry reference.  `[-0, +1, -]`
    #[inline(always)]
    pub(crate) fn push_reference(self, r: c_int) -> c_int {
        self.raw_get_i(ffi::LUA_REGISTRYINDEX, r as i64)
    }

    // --- calls ------------------------------------------------------------------------

    /// `lua_pcall`.  `[-(nargs+1), +(nresults|1), -]`
    #[inline(always)]
    pub(crate) fn pcall(self, nargs: c_int, nresults: c_int, msgh: c_int) -> c_int {
        // SAFETY: valid state with the function and arguments on top.
        unsafe { ffi::lua_pcall(self.0, nargs, nresults, msgh) }
    }

    /// Loads a chunk; pushes the function or an error message.  `[-0, +1, -]`
    pub(crate) fn load(self, code: &[u8], chunk_name: &CStr, mode: Option<&CStr>) -> c_int {
        let mode = mode.map_or(ptr::null(), CStr::as_ptr);
        // SAFETY: valid state with a free slot; the buffers are valid for the call.
        unsafe {
            ffi::luaL_loadbufferx(
                self.0,
                code.as_ptr().cast(),
                code.len(),
                chunk_name.as_ptr(),
                mode,
            )
        }
    }

    /// Raises the value on top as a Lua error.
    ///
    /// # Safety
    /// Must be called from a C function called by Lua (or inside a protected call), with no
    /// Rust value that needs dropping alive in any frame between here and that call: the
    /// error unwinds (longjmp) across them.
    #[inline(always)]
    pub(crate) unsafe fn raise(self) -> ! {
        // SAFETY: guaranteed by the caller.
        unsafe { ffi::lua_error(self.0) }
    }

    /// `lua_gc` with an option that takes no argument.  `[-0, +0, e]` (collection runs
    /// finalizers).
    pub(crate) fn gc(self, what: c_int) -> c_int {
        // SAFETY: valid state.
        unsafe { crate::flavour::gc(self.0, what) }
    }
}

/// A float as Lua writes it (`LUAI_NUMFFORMAT`, "%.14g"; Lua 5.3+ add ".0" to integral values
/// so that they read back as floats; LuaJIT writes every NaN as "nan").
fn number_text(n: f64) -> Vec<u8> {
    if n.is_nan() {
        let negative = n.is_sign_negative() && !cfg!(feature = "luajit");
        return if negative {
            b"-nan".to_vec()
        } else {
            b"nan".to_vec()
        };
    }
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is large enough for any "%.14g" output (at most 24 bytes) and
    // snprintf NUL-terminates within its size.
    let len = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.14g".as_ptr(), n) };
    let mut text = buf[..len.clamp(0, 63) as usize].to_vec();
    if crate::flavour::HAS_INTEGERS && text.iter().all(|c| b"-0123456789".contains(c)) {
        text.extend_from_slice(b".0");
    }
    text
}
