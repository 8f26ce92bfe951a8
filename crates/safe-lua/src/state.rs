//! `State`: a handle on a Lua stack, with the C API calls this project needs.
//!
//! Every method documents its stack effect in Lua's manual notation `[-o, +p, x]`: it pops `o`
//! values, pushes `p`, and `x` says whether it can raise a Lua error: `-` never; `m` only on
//! memory errors (allocation, and on Lua 5.1 to 5.3 a finalizer's error re-thrown by the
//! collection step an allocation runs); `e` any error (metamethods).
//!
//! Methods marked `m` or `e` unwind the caller when they raise, so they take a capability
//! token ([`crate::token`]) that proves it is harmless where they are called.

use std::ffi::{CStr, c_int, c_void};
#[cfg(not(feature = "luau"))]
use std::ptr;

use mlua_sys as ffi;

use crate::token::{CanCreate, CanGrow, CanRaise};

/// A Lua thread (`lua_State*`) that the current thread may operate on.
///
/// Invariant (established by `State::new`'s caller): the pointer is a live state that no other
/// thread uses meanwhile (its owner serialises access, with a lock), and stack indices passed
/// to the methods are acceptable indices.  Pushes rely on the caller having reserved stack
/// space with `ensure_stack` (Lua guarantees `LUA_MINSTACK` = 20 free slots on entry to a C
/// function and on a fresh state).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct State(*mut ffi::lua_State);

// SAFETY: `State` is a plain pointer; its owner serialises all use of the state it points to,
// whichever thread that is (see the invariant).  It is `Send` so that a call into Lua can run
// on a thread that released other locks meanwhile.
unsafe impl Send for State {}

impl State {
    /// # Safety
    /// See the type's invariant.
    #[inline(always)]
    pub unsafe fn new(l: *mut ffi::lua_State) -> Self {
        State(l)
    }

    #[inline(always)]
    pub fn as_ptr(self) -> *mut ffi::lua_State {
        self.0
    }

    // --- stack management -------------------------------------------------------------

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn top(self) -> c_int {
        // SAFETY: valid state (type invariant).
        unsafe { ffi::lua_gettop(self.0) }
    }

    /// `[-?, +?, -]` Sets the top; new slots are nil.
    #[inline(always)]
    pub fn set_top(self, idx: c_int) {
        // SAFETY: valid state; `idx` is within the stack (caller).
        unsafe { ffi::lua_settop(self.0, idx) }
    }

    /// `[-n, +0, -]`
    #[inline(always)]
    pub fn pop(self, n: c_int) {
        self.set_top(-n - 1)
    }

    /// Converts a relative index into an absolute one.  `[-0, +0, -]`
    #[inline(always)]
    pub fn abs_index(self, idx: c_int) -> c_int {
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
    pub fn ensure_stack(self, n: c_int) -> bool {
        // SAFETY: valid state.
        unsafe { ffi::lua_checkstack(self.0, n) != 0 }
    }

    /// `[-1, +1, -]` moves the top value into position `idx`, shifting up.
    #[inline(always)]
    pub fn insert(self, idx: c_int) {
        // SAFETY: valid state and index.
        unsafe { ffi::lua_insert(self.0, idx) }
    }

    /// `[-1, +0, -]` removes the value at `idx`, shifting down.
    #[inline(always)]
    pub fn remove(self, idx: c_int) {
        // SAFETY: valid state and index.
        unsafe { ffi::lua_remove(self.0, idx) }
    }

    /// `[-1, +0, -]` pops the top value into position `idx`.
    #[inline(always)]
    pub fn replace(self, idx: c_int) {
        // SAFETY: valid state and index.
        unsafe { ffi::lua_replace(self.0, idx) }
    }

    /// Moves the top `n` values of `self` onto `to` (same global state).  `[-n, +0, -]` on
    /// `self`, `[-0, +n, -]` on `to`.
    #[inline(always)]
    pub fn xmove(self, to: State, n: c_int) {
        // SAFETY: both states belong to the same runtime (caller); `to` has room (caller).
        unsafe { ffi::lua_xmove(self.0, to.0, n) }
    }

    // --- type checks and reads --------------------------------------------------------

    /// `LUA_T*` of the value at `idx` (`LUA_TNONE` past the top).  `[-0, +0, -]`
    #[inline(always)]
    pub fn type_of(self, idx: c_int) -> c_int {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_type(self.0, idx) }
    }

    /// Lua's name for a type tag (`"table"`, `"cdata"`, ...).  `[-0, +0, -]`
    pub fn type_name(self, tag: c_int) -> &'static str {
        // SAFETY: lua_typename returns a static C string for any tag Lua produced.
        let name = unsafe { CStr::from_ptr(ffi::lua_typename(self.0, tag)) };
        name.to_str().unwrap_or("?")
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn to_bool(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_toboolean(self.0, idx) != 0 }
    }

    /// The number at `idx` (which must be a number).  `[-0, +0, -]`
    #[inline(always)]
    pub fn to_number(self, idx: c_int) -> f64 {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_tonumber(self.0, idx) }
    }

    /// The integer at `idx` if it has Lua 5.3+'s integer subtype.  Always `None` before 5.3.
    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn to_integer_subtype(self, idx: c_int) -> Option<i64> {
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
    pub fn to_integer_x(self, idx: c_int) -> Option<i64> {
        let mut isnum: c_int = 0;
        // SAFETY: valid state, acceptable index, valid out pointer.
        let value = unsafe { ffi::lua_tointegerx(self.0, idx, &mut isnum) };
        (isnum != 0).then_some(value)
    }

    /// The bytes of the string at `idx` (which must be a string: numbers are *not*
    /// converted, so the stack is never modified).  `[-0, +0, -]`
    ///
    /// # Safety
    /// The slice points into the Lua string: it must not be used after the string may have
    /// left the stack (a pop, or any Lua code that runs).
    #[inline(always)]
    pub unsafe fn to_bytes<'a>(self, idx: c_int) -> &'a [u8] {
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

    /// A copy of the string at `idx`, or the text `lua_tolstring` would make of the number
    /// there, without converting the value in place (which allocates, so it could raise, and
    /// would change the value).  `None` for other types.  `[-0, +0, -]`
    pub fn to_text(self, idx: c_int) -> Option<Vec<u8>> {
        match self.type_of(idx) {
            // SAFETY: copied right away.
            ffi::LUA_TSTRING => Some(unsafe { self.to_bytes(idx) }.to_vec()),
            ffi::LUA_TNUMBER => Some(match self.to_integer_subtype(idx) {
                Some(i) => i.to_string().into_bytes(),
                None => number_text(self.to_number(idx)),
            }),
            _ => None,
        }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn to_userdata(self, idx: c_int) -> *mut c_void {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_touserdata(self.0, idx) }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn to_pointer(self, idx: c_int) -> *const c_void {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_topointer(self.0, idx) }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn to_thread(self, idx: c_int) -> *mut ffi::lua_State {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_tothread(self.0, idx) }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn is_cfunction(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_iscfunction(self.0, idx) != 0 }
    }

    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn to_cfunction(self, idx: c_int) -> Option<ffi::lua_CFunction> {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_tocfunction(self.0, idx) }
    }

    /// Raw length: string bytes, table border, userdata size; 0 otherwise.  `[-0, +0, -]`
    #[inline(always)]
    pub fn raw_len(self, idx: c_int) -> usize {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_rawlen(self.0, idx) }
    }

    /// Status of a thread (`LUA_OK`, `LUA_YIELD` or an error).  `[-0, +0, -]`
    #[inline(always)]
    pub fn status(self) -> c_int {
        // SAFETY: valid state.
        unsafe { ffi::lua_status(self.0) }
    }

    /// Whether a function (Lua or C) is running on this thread: a coroutine that resumed
    /// and has not yielded, or a thread with a Python callback in progress.  `[-0, +0, -]`
    pub fn has_frames(self) -> bool {
        #[cfg(feature = "luau")]
        // SAFETY: valid state.
        return unsafe { ffi::lua_stackdepth(self.0) } > 0;
        #[cfg(not(feature = "luau"))]
        {
            let mut ar = std::mem::MaybeUninit::<ffi::lua_Debug>::zeroed();
            // SAFETY: valid state; `lua_getstack` only writes the activation record.
            unsafe { ffi::lua_getstack(self.0, 0, ar.as_mut_ptr()) != 0 }
        }
    }

    // --- pushes that never raise ------------------------------------------------------

    /// `[-0, +1, -]`
    #[inline(always)]
    pub fn push_nil(self) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushnil(self.0) }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub fn push_bool(self, b: bool) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushboolean(self.0, b as c_int) }
    }

    /// Pushes an integer (a double before Lua 5.3).  `[-0, +1, -]`
    #[inline(always)]
    pub fn push_integer(self, i: i64) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushinteger(self.0, i) }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub fn push_number(self, n: f64) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushnumber(self.0, n) }
    }

    /// Pushes a light userdata.  `[-0, +1, m]` on LuaJIT, which allocates the first time it
    /// sees a pointer from a new 512 GiB address range (`lj_lightud_intern`); `-` elsewhere.
    #[inline(always)]
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "a light userdata is never dereferenced"
    )]
    pub fn push_light_userdata(self, _: CanGrow, p: *mut c_void) {
        // SAFETY: valid state with a free slot; allocation failures are harmless (token).
        unsafe { ffi::lua_pushlightuserdata(self.0, p) }
    }

    /// Pushes the address of a static of this program as a light userdata.  Never allocates:
    /// `open_state` pushes one such address, which makes LuaJIT know the range of this
    /// program's image.  `[-0, +1, -]`
    #[inline(always)]
    pub fn push_static<T>(self, p: &'static T) {
        // SAFETY: valid state with a free slot; the range is known (see above).
        unsafe { ffi::lua_pushlightuserdata(self.0, (p as *const T).cast_mut().cast()) }
    }

    /// Whether the value at `idx` is the light userdata `push_static(p)` pushes.
    /// `[-0, +0, -]`
    #[inline(always)]
    pub fn is_static<T>(self, idx: c_int, p: &'static T) -> bool {
        self.type_of(idx) == ffi::LUA_TLIGHTUSERDATA
            && self.to_userdata(idx) == (p as *const T).cast_mut().cast()
    }

    /// Pushes a pointer as a value that never allocates and is not an integer (it may serve
    /// as a registry key next to `luaL_ref`'s integers): a light userdata, or on LuaJIT
    /// (`flavour::PUSHLIGHTUSERDATA_ALLOCATES`) the address plus one half as a number, which is
    /// exact because user-space addresses have at most 48 bits.  Read back with
    /// `to_pushed_pointer`.  `[-0, +1, -]`
    #[inline(always)]
    #[allow(
        clippy::not_unsafe_ptr_arg_deref,
        reason = "a light userdata is never dereferenced"
    )]
    pub fn push_pointer(self, p: *mut c_void) {
        if crate::flavour::PUSHLIGHTUSERDATA_ALLOCATES {
            self.push_number(p as usize as f64 + 0.5);
        } else {
            // SAFETY: valid state with a free slot; this flavour's push never allocates.
            unsafe { ffi::lua_pushlightuserdata(self.0, p) }
        }
    }

    /// The pointer that `push_pointer` pushed at `idx`.  `[-0, +0, -]`
    #[inline(always)]
    pub fn to_pushed_pointer(self, idx: c_int) -> *mut c_void {
        if crate::flavour::PUSHLIGHTUSERDATA_ALLOCATES {
            (self.to_number(idx) - 0.5) as usize as *mut c_void
        } else {
            self.to_userdata(idx)
        }
    }

    /// `[-0, +1, -]`
    #[inline(always)]
    pub fn push_value(self, idx: c_int) {
        // SAFETY: valid state with a free slot, valid index.
        unsafe { ffi::lua_pushvalue(self.0, idx) }
    }

    /// Pushes a C function without upvalues.  `[-0, +1, m]` on Lua 5.1/LuaJIT (it allocates a
    /// closure there), `-` on 5.2+.  Use `push_registered` on hot paths.
    #[inline(always)]
    pub fn push_cfunction(self, _: CanCreate, f: ffi::lua_CFunction) {
        // SAFETY: valid state with a free slot; allocation failures are harmless (token).
        unsafe { ffi::lua_pushcfunction(self.0, f) }
    }

    /// Pushes a C function that Lua's messages call `name`: Luau names a function in its
    /// errors ("invalid argument #1 to 'name'") by the name it was created with; the other
    /// flavours name it after the variable or field it was called through, and ignore
    /// `name`.  Allocates as `push_cfunction`.  `[-0, +1, m]`
    pub fn push_named_cfunction(
        self,
        create: CanCreate,
        f: ffi::lua_CFunction,
        name: &'static CStr,
    ) {
        #[cfg(feature = "luau")]
        {
            let _ = create;
            // SAFETY: valid state with a free slot; Luau keeps the name's pointer, which is
            // static.
            unsafe { ffi::lua_pushcclosurek(self.0, f, name.as_ptr(), 0, None) }
        }
        #[cfg(not(feature = "luau"))]
        {
            let _ = name;
            self.push_cfunction(create, f)
        }
    }

    /// Pushes a C function without allocating: directly on 5.2+; on 5.1/LuaJIT, from the copy
    /// that `register_cfunction` stored in the registry.  Returns false (pushing nothing) if
    /// there is none: `open_state` registers the functions of `StateConfig::registered` in
    /// states whose allocations may fail; others register on first use (with `create`).  A
    /// script can remove or replace registry entries (`debug.getregistry()`), so callers must
    /// handle false, and an entry that is not `f` itself does not count.
    /// `[-0, +(1|0), -]`
    #[inline(always)]
    pub fn push_registered(self, f: ffi::lua_CFunction, create: Option<CanCreate>) -> bool {
        if !crate::flavour::PUSHCFUNCTION_ALLOCATES {
            // SAFETY: valid state with a free slot; a light C function is not allocated.
            unsafe { ffi::lua_pushcfunction(self.0, f) };
            return true;
        }
        self.push_pointer(f as *mut c_void);
        if self.raw_get(ffi::LUA_REGISTRYINDEX) == ffi::LUA_TFUNCTION
            && self.to_cfunction(-1).map(|g| g as usize) == Some(f as usize)
        {
            return true;
        }
        self.pop(1);
        match create {
            Some(create) => {
                self.register_cfunction(create, f);
                self.push_registered(f, None)
            }
            None => false,
        }
    }

    /// Stores a closure for `f` in the registry for `push_registered` (a no-op on 5.2+).
    /// `[-0, +0, m]`
    pub fn register_cfunction(self, create: CanCreate, f: ffi::lua_CFunction) {
        if crate::flavour::PUSHCFUNCTION_ALLOCATES {
            self.push_pointer(f as *mut c_void);
            self.push_cfunction(create, f);
            // The key is a number or light userdata: never nil or NaN.
            self.raw_set_unchecked(create.grow(), ffi::LUA_REGISTRYINDEX);
        }
    }

    /// Pushes an error marker: a light userdata that says what went wrong where no error
    /// message can be made (making one allocates).  `[-0, +1, -]`
    #[inline]
    pub fn push_marker(self, marker: Marker) {
        self.push_static(marker.address());
    }

    /// The error marker at `idx`, if it is one.  `[-0, +0, -]`
    #[inline]
    pub fn marker_at(self, idx: c_int) -> Option<Marker> {
        if self.type_of(idx) != ffi::LUA_TLIGHTUSERDATA {
            return None;
        }
        [Marker::OutOfMemory, Marker::RegistryTampered]
            .into_iter()
            .find(|marker| self.is_static(idx, marker.address()))
    }

    // --- pushes that allocate --------------------------------------------------------

    /// `[-0, +1, m]`
    #[inline(always)]
    pub fn push_bytes(self, _: CanCreate, bytes: &[u8]) {
        // SAFETY: valid state with a free slot; `bytes` is readable for its length.
        unsafe { ffi::lua_pushlstring(self.0, bytes.as_ptr().cast(), bytes.len()) };
    }

    /// `[-0, +1, m]`
    #[inline(always)]
    pub fn push_str(self, create: CanCreate, s: &str) {
        self.push_bytes(create, s.as_bytes())
    }

    /// Pushes a C closure with the top `n` values as upvalues.  `[-n, +1, m]`
    pub fn push_cclosure(self, _: CanCreate, f: ffi::lua_CFunction, n: c_int) {
        // SAFETY: valid state with `n` values on top.
        unsafe { ffi::lua_pushcclosure(self.0, f, n) }
    }

    /// `[-0, +1, m]`
    #[inline(always)]
    pub fn new_table(self, _: CanCreate, narr: c_int, nrec: c_int) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_createtable(self.0, narr, nrec) }
    }

    /// A new full userdata of `size` bytes (no user values).  `[-0, +1, m]`
    #[inline(always)]
    pub fn new_userdata(self, _: CanCreate, size: usize) -> *mut c_void {
        // SAFETY: valid state with a free slot.
        unsafe { crate::flavour::new_userdata(self.0, size) }
    }

    /// A new full userdata of `size` bytes that is finalized when it is collected (or the
    /// state is closed): by the destructor installed with `set_userdata_destructor` on
    /// Luau, by its metatable's `__gc` on the other flavours (see
    /// `flavour::USERDATA_GC_METAMETHOD`).  `[-0, +1, m]`
    #[inline(always)]
    pub fn new_finalized_userdata(self, create: CanCreate, size: usize) -> *mut c_void {
        #[cfg(feature = "luau")]
        {
            let _ = create;
            // SAFETY: valid state with a free slot; the tag is below LUA_UTAG_LIMIT.
            unsafe { ffi::lua_newuserdatatagged(self.0, size, crate::luau::FINALIZED_TAG) }
        }
        #[cfg(not(feature = "luau"))]
        self.new_userdata(create, size)
    }

    /// Installs the destructor of the userdata made by `new_finalized_userdata` (Luau; a
    /// no-op elsewhere, where `__gc` does the job).  `[-0, +0, -]`
    ///
    /// Luau calls it from inside the garbage collector (any allocation may run a collection
    /// step) and from `lua_close`, with a state and the userdata's memory.  It must not call
    /// the Lua API (the state is in the middle of a collection), must not raise or unwind,
    /// and must not assume that the calling thread holds the GIL or any lock but the one
    /// under which the runtime runs Lua code.
    pub fn set_userdata_destructor(self, destructor: crate::Destructor) {
        #[cfg(feature = "luau")]
        // SAFETY: valid state; the tag is below LUA_UTAG_LIMIT.
        unsafe {
            ffi::lua_setuserdatadtor(self.0, crate::luau::FINALIZED_TAG, Some(destructor))
        };
        #[cfg(not(feature = "luau"))]
        let _ = destructor;
    }

    /// Replaces the function on top with a new coroutine that will run it.  `[-1, +1, m]`
    pub fn new_coroutine(self, _: CanCreate) {
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
    pub fn raw_get(self, idx: c_int) -> c_int {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawget(self.0, idx) }
    }

    /// `t[n]` without metamethods.  `[-0, +1, -]`
    #[inline(always)]
    pub fn raw_get_i(self, idx: c_int, n: i64) -> c_int {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawgeti(self.0, idx, n) }
    }

    /// `t[k] = v` without metamethods, `k` and `v` on top.  `[-2, +0, e]`: a nil or NaN key
    /// raises, and so does a failed allocation.
    #[inline(always)]
    pub fn raw_set(self, raise: CanRaise, idx: c_int) {
        self.raw_set_unchecked(raise.grow(), idx)
    }

    /// `t[k] = v` without metamethods, `k` and `v` on top, if `k` is a valid key (not nil,
    /// not NaN): returns false, popping nothing, for an invalid one.  `[-(2|0), +0, m]`
    #[inline(always)]
    pub fn raw_set_checked(self, grow: CanGrow, idx: c_int) -> bool {
        let valid = self.is_valid_key(-2);
        if valid {
            self.raw_set_unchecked(grow, idx);
        }
        valid
    }

    /// Whether the value at `idx` can be a table key (not nil, not NaN).  `[-0, +0, -]`
    #[inline(always)]
    pub fn is_valid_key(self, idx: c_int) -> bool {
        match self.type_of(idx) {
            ffi::LUA_TNIL => false,
            ffi::LUA_TNUMBER => !self.to_number(idx).is_nan(),
            _ => true,
        }
    }

    /// `raw_set` for a key known to be valid.  `[-2, +0, m]`
    #[inline(always)]
    fn raw_set_unchecked(self, _: CanGrow, idx: c_int) {
        // SAFETY: valid state; the value at `idx` is a table (caller); the key is valid and
        // allocation failures are harmless (token).
        unsafe { ffi::lua_rawset(self.0, idx) }
    }

    /// `t[n] = v` without metamethods, `v` on top.  `[-1, +0, m]`
    #[inline(always)]
    pub fn raw_set_i(self, _: CanGrow, idx: c_int, n: i64) {
        // SAFETY: valid state; the value at `idx` is a table (caller).
        unsafe { ffi::lua_rawseti(self.0, idx, n) }
    }

    /// Deletes the entry of key `k` (on top) from the table at `idx`, if it has one (returns
    /// whether it had): an existing key keeps its slot, so this allocates nothing and needs
    /// no capability.  Pops the key.  `[-1, +0, -]`
    pub fn raw_clear_present_key(self, idx: c_int) -> bool {
        let idx = self.abs_index(idx);
        self.push_value(-1);
        if self.raw_get(idx) == ffi::LUA_TNIL {
            self.pop(2);
            return false;
        }
        self.pop(1);
        self.push_nil();
        // SAFETY: an existing key keeps its slot: no allocation, and the key is valid.
        unsafe { ffi::lua_rawset(self.0, idx) };
        true
    }

    /// `t[k]` with metamethods, `k` on top.  `[-1, +1, e]`
    #[inline(always)]
    pub fn get_table(self, _: CanRaise, idx: c_int) -> c_int {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_gettable(self.0, idx) }
    }

    /// `t[k] = v` with metamethods, `k`, `v` on top.  `[-2, +0, e]`
    #[inline(always)]
    pub fn set_table(self, _: CanRaise, idx: c_int) {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_settable(self.0, idx) }
    }

    /// `t[name]` with metamethods.  `[-0, +1, e]`
    pub fn get_field(self, _: CanRaise, idx: c_int, name: &CStr) -> c_int {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_getfield(self.0, idx, name.as_ptr()) }
    }

    /// `t[name] = v` with metamethods, `v` on top.  `[-1, +0, e]`
    pub fn set_field(self, _: CanRaise, idx: c_int, name: &CStr) {
        // SAFETY: valid state (errors are the caller's business, see module docs).
        unsafe { ffi::lua_setfield(self.0, idx, name.as_ptr()) }
    }

    /// Gives the Lua function at `idx` the environment a chunk gets when it is loaded now:
    /// the thread's globals (Lua 5.1, LuaJIT and Luau; other versions have no function
    /// environments, and nothing happens).  `[-0, +0, -]`
    pub fn reset_environment(self, idx: c_int) {
        #[cfg(any(feature = "lua51", feature = "luajit", feature = "luau"))]
        {
            let idx = self.abs_index(idx);
            self.push_value(ffi::LUA_GLOBALSINDEX);
            // SAFETY: valid state; setting an environment allocates nothing (a function only
            // points to its environment table), and pops the table for any value at `idx`.
            unsafe { ffi::lua_setfenv(self.0, idx) };
        }
        #[cfg(not(any(feature = "lua51", feature = "luajit", feature = "luau")))]
        let _ = idx;
    }

    /// Pushes the global table.  `[-0, +1, -]`
    pub fn push_globals(self) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushglobaltable(self.0) };
    }

    /// `lua_next`: pops a key, pushes the next key and value; returns false at the end
    /// (pushing nothing).  `[-1, +(2|0), e]` (an invalid key raises).
    #[inline(always)]
    pub fn next(self, _: CanRaise, idx: c_int) -> bool {
        // SAFETY: valid state; table at `idx` (caller); errors are harmless (token).
        unsafe { ffi::lua_next(self.0, idx) != 0 }
    }

    /// `next` for a key that cannot make it raise: nil, or a key the table still has (a key
    /// that was removed, and rehashed away, raises "invalid key to 'next'").  Returns None,
    /// with the stack unchanged, for any other key.  `[-1, +(2|0), -]`
    #[inline(always)]
    pub fn next_if_valid(self, idx: c_int) -> Option<bool> {
        let idx = self.abs_index(idx);
        if self.type_of(-1) != ffi::LUA_TNIL {
            self.push_value(-1);
            let present = self.raw_get(idx) != ffi::LUA_TNIL;
            self.pop(1);
            if !present {
                return None;
            }
        }
        // SAFETY: a nil key or one the table has: `next` cannot raise.
        Some(unsafe { self.next_trusted(idx) })
    }

    /// `next` without the check of `next_if_valid`.  `[-1, +(2|0), -]`
    ///
    /// # Safety
    /// The key on top is nil or a key the table has: the caller knows that nothing changed
    /// the table since `next` returned it.
    #[inline(always)]
    pub unsafe fn next_trusted(self, idx: c_int) -> bool {
        // SAFETY: valid state; table at `idx`; a valid key (caller) cannot raise.
        unsafe { ffi::lua_next(self.0, idx) != 0 }
    }

    /// Pushes the metatable of the value at `idx`; returns false (pushing nothing) if it has
    /// none.  `[-0, +(0|1), -]`
    #[inline(always)]
    pub fn get_metatable(self, idx: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { ffi::lua_getmetatable(self.0, idx) != 0 }
    }

    /// Pops a table and makes it the metatable of the value at `idx`.  `[-1, +0, -]`
    pub fn set_metatable(self, idx: c_int) {
        // SAFETY: valid state; a table on top.
        unsafe { ffi::lua_setmetatable(self.0, idx) };
    }

    /// Pushes upvalue `n` of the function at `idx`; returns false (pushing nothing) if there
    /// is none.  `[-0, +(0|1), -]`
    pub fn get_upvalue(self, idx: c_int, n: c_int) -> bool {
        // SAFETY: valid state, acceptable index.
        unsafe { !ffi::lua_getupvalue(self.0, idx, n).is_null() }
    }

    // --- registry references ----------------------------------------------------------

    /// Releases a registry reference.  Directly with `grow`; otherwise (a memory limit is
    /// set) protected and with the limit lifted, so that it cannot raise.  `[-0, +0, -]`
    pub fn unreference_safely(self, r: c_int, grow: Option<CanGrow>) {
        if let Some(grow) = grow {
            self.unreference(grow, r);
            return;
        }
        let top = self.top();
        // A failure (out of memory) leaks one registry slot, which is all we can do.
        crate::memory::with_limit_lifted(self, || {
            self.protected(crate::Op::UNREFERENCE, r as usize as *mut c_void, 0, 0, 0)
        });
        self.set_top(top);
    }

    /// Pops the top value into a new registry reference.  `[-1, +0, m]`
    #[inline(always)]
    pub fn reference(self, _: CanGrow) -> c_int {
        // SAFETY: valid state with a value on top; allocation failures are harmless (token).
        unsafe { ffi::luaL_ref(self.0, ffi::LUA_REGISTRYINDEX) }
    }

    /// Releases a registry reference.  `[-0, +0, m]`: on Lua 5.1-5.3 and LuaJIT the free
    /// list's head slot may have to be recreated.
    #[inline(always)]
    pub fn unreference(self, _: CanGrow, r: c_int) {
        // SAFETY: valid state; `r` came from `reference` (or is LUA_NOREF/LUA_REFNIL);
        // allocation failures are harmless (token).
        unsafe { ffi::luaL_unref(self.0, ffi::LUA_REGISTRYINDEX, r) }
    }

    /// Pushes the value of a registry reference.  `[-0, +1, -]`
    #[inline(always)]
    pub fn push_reference(self, r: c_int) -> c_int {
        self.raw_get_i(ffi::LUA_REGISTRYINDEX, r as i64)
    }

    // --- calls ------------------------------------------------------------------------

    /// `lua_pcall`.  `[-(nargs+1), +(nresults|1), -]`
    #[inline(always)]
    pub fn pcall(self, nargs: c_int, nresults: c_int, msgh: c_int) -> c_int {
        // SAFETY: valid state with the function and arguments on top.
        unsafe { ffi::lua_pcall(self.0, nargs, nresults, msgh) }
    }

    /// Loads a chunk; pushes the function or an error message.  `[-0, +1, -]`
    ///
    /// Lua 5.2+ give the chunk the registry's globals entry as `_ENV`, which Lua code can
    /// replace (`debug.getregistry()`); Lua 5.5 requires a table there (it copies an
    /// uninitialised value otherwise).  Without one, the error is `Marker::RegistryTampered`.
    pub fn load(self, code: &[u8], chunk_name: &CStr, mode: Option<&CStr>) -> c_int {
        self.load_with_options(code, chunk_name, mode, &crate::CompileOptions::default())
    }

    /// `load` with the compiler settings of Luau (ignored by the other flavours, which
    /// compile their own way).  Returns the status: LUA_OK, or LUA_ERRSYNTAX or LUA_ERRMEM
    /// with the message (on Luau, maybe `Marker::OutOfMemory`) on top.  `[-0, +1, -]`
    pub fn load_with_options(
        self,
        code: &[u8],
        chunk_name: &CStr,
        mode: Option<&CStr>,
        options: &crate::CompileOptions,
    ) -> c_int {
        #[cfg(feature = "luau")]
        return self.luau_load(code, chunk_name, mode, options);
        #[cfg(not(feature = "luau"))]
        {
            let _ = options;
            #[cfg(not(any(feature = "lua51", feature = "luajit")))]
            {
                let globals = self.raw_get_i(ffi::LUA_REGISTRYINDEX, ffi::LUA_RIDX_GLOBALS);
                self.pop(1);
                if globals != ffi::LUA_TTABLE {
                    self.push_marker(Marker::RegistryTampered);
                    return ffi::LUA_ERRRUN;
                }
            }
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
    }

    /// Raises the value on top as a Lua error.
    ///
    /// # Safety
    /// Must be called from a C function called by Lua (or inside a protected call), with no
    /// Rust value that needs dropping alive in any frame between here and that call: the
    /// error unwinds (longjmp) across them.
    #[inline(always)]
    pub unsafe fn raise(self) -> ! {
        // SAFETY: guaranteed by the caller.
        unsafe { ffi::lua_error(self.0) }
    }

    /// A full garbage collection.  `[-0, +0, e]`: finalizers run (and may raise on Lua 5.1
    /// to 5.3).
    pub fn gc_collect(self, _: CanRaise) {
        // SAFETY: valid state; errors are harmless (token).
        unsafe { crate::flavour::gc(self.0, ffi::LUA_GCCOLLECT) };
    }

    /// Stops the garbage collector.  `[-0, +0, -]`
    pub fn gc_stop(self) {
        // SAFETY: valid state; stopping runs no collection.
        unsafe { crate::flavour::gc(self.0, ffi::LUA_GCSTOP) };
    }

    /// Restarts the garbage collector.  `[-0, +0, -]`
    pub fn gc_restart(self) {
        // SAFETY: valid state; restarting runs no collection.
        unsafe { crate::flavour::gc(self.0, ffi::LUA_GCRESTART) };
    }

    /// Resumes coroutine `self` with the `nargs` values on top of its stack.  Returns the
    /// status and the number of values it yielded or returned (on top of `self`'s stack; on
    /// error, the error object).  Lua errors are caught (`-`); the coroutine runs any code.
    ///
    /// # Safety
    /// `self` is a suspended or fresh coroutine of the same runtime as `from`, not running.
    #[inline]
    pub unsafe fn resume(self, from: State, nargs: c_int) -> (c_int, c_int) {
        match crate::StateData::of(self) {
            // SAFETY: guaranteed by the caller.
            Some(data) => unsafe { self.resume_with(&data.limits, from, nargs) },
            // SAFETY: guaranteed by the caller.
            None => unsafe { crate::flavour::resume(self.0, from.0, nargs) },
        }
    }

    /// `resume` for a caller that has the state's limits at hand (its `StateData`).
    ///
    /// # Safety
    /// As `resume`; `limits` are those of this state.
    #[inline]
    pub unsafe fn resume_with(
        self,
        limits: &crate::Limits,
        from: State,
        nargs: c_int,
    ) -> (c_int, c_int) {
        // SAFETY: guaranteed by the caller.
        unsafe { crate::limits::resume_tracked(limits, self.0, from.0, nargs) }
    }

    /// Closes a suspended coroutine's pending to-be-closed variables and resets it to a dead
    /// state (5.4+), returning the status (an error leaves its object on `self`'s stack).
    /// None on versions that cannot do it; the caller then just forgets the coroutine.
    ///
    /// # Safety
    /// `self` is a coroutine of the same runtime as `from` that is not running.
    pub unsafe fn close_thread(self, from: State) -> Option<c_int> {
        // SAFETY: guaranteed by the caller.
        let close = || unsafe { crate::flavour::close_thread(self.0, from.0) };
        // The `__close` handlers run on `self`: the limits must know (Lua 5.4's
        // `lua_resetthread` calls `lua_closethread` inside Lua, unseen by `limits/wrap.rs`).
        #[cfg(any(not(wrapped_lua), feature = "lua54"))]
        {
            let mut result = None;
            crate::limits::in_thread(self.0, || {
                result = close();
                result.unwrap_or(ffi::LUA_OK)
            });
            result
        }
        #[cfg(all(wrapped_lua, not(feature = "lua54")))]
        close()
    }
}

/// Error markers (see `State::push_marker`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Marker {
    /// An object needed to report an error could not be allocated.
    OutOfMemory,
    /// A script removed a registry entry that lupa needs (`debug.getregistry()`), and making
    /// it again could fail.
    RegistryTampered,
}

impl Marker {
    fn address(self) -> &'static u8 {
        static OUT_OF_MEMORY: u8 = 0;
        static REGISTRY_TAMPERED: u8 = 0;
        match self {
            Marker::OutOfMemory => &OUT_OF_MEMORY,
            Marker::RegistryTampered => &REGISTRY_TAMPERED,
        }
    }
}

/// A float as Lua writes it (`LUAI_NUMFFORMAT`, "%.14g"; Lua 5.5 "%.15g", or "%.17g" where
/// that does not read back; Lua 5.3+ add ".0" to integral values so that they read back as
/// floats; LuaJIT writes every NaN as "nan"; Luau writes the shortest form that reads back).
fn number_text(n: f64) -> Vec<u8> {
    if crate::flavour::IS_LUAU {
        #[cfg(feature = "luau")]
        return crate::luau::number_text(n);
    }
    if n.is_nan() {
        let negative = n.is_sign_negative() && !cfg!(feature = "luajit");
        return if negative {
            b"-nan".to_vec()
        } else {
            b"nan".to_vec()
        };
    }
    let format = |format: &CStr| {
        let mut buf = [0u8; 64];
        // SAFETY: the buffer is large enough for any "%.17g" output (at most 25 bytes) and
        // snprintf NUL-terminates within its size.
        let len = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), format.as_ptr(), n) };
        buf[..len.clamp(0, 63) as usize].to_vec()
    };
    let mut text = if cfg!(feature = "lua55") {
        let short = format(c"%.15g");
        let reads_back = std::str::from_utf8(&short)
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .is_some_and(|back| back == n);
        if reads_back { short } else { format(c"%.17g") }
    } else {
        format(c"%.14g")
    };
    if crate::flavour::HAS_INTEGERS && text.iter().all(|c| b"-0123456789".contains(c)) {
        text.extend_from_slice(b".0");
    }
    text
}
