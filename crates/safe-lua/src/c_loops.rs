//! Library functions that loop inside one C call, made to meet the limits.
//!
//! No hook fires while a C function runs, so a limit cannot stop a library function that
//! loops for long without calling Lua code (as `strlib` does for the pattern functions):
//!
//! * `table.move(t, 1, 2^52, 2)` (Lua 5.3+) moves 2^52 absent elements, one `lua_geti` and
//!   `lua_seti` each: `guarded_move` runs the library's own function on slices of at most
//!   `SLICE` elements, in the order it would have moved them, and polls the limits between
//!   slices.  The checks of the whole range (its messages) come first, as the library words
//!   them.  So are proxies (`table.move("abc", 1, 2^40, 1, {})` reads through the string
//!   metatable's `__index` table, running no Lua code).
//! * `table.insert(t, 1, v)` and `table.remove(t, 1)` (Lua 5.2+) shift `#t` elements, and
//!   `#t` is what the table's `__len` says (2^62, if it likes): `guarded_insert` and
//!   `guarded_remove` are the library's functions, with the same checks, messages and order
//!   of accesses, that poll the limits every `SLICE` elements.  A table without `__len` does
//!   not reach them (its border is bounded by its memory).
//! * `string.rep("", 2^52)` (Lua 5.2 to 5.4) copies an empty string 2^52 times: `guarded_rep`
//!   answers "" for it at once.  With a non-empty result, the memory it takes is the bound.
//!
//! LuaJIT's `table.move` is Lua code, and its `#` ignores `__len` on tables, as Lua 5.1's
//! does; Luau calls its interrupt callback itself.

#[cfg(any(
    feature = "lua52",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55"
))]
pub(crate) use imp::install;

/// Does nothing: this flavour has no such function.
#[cfg(not(any(
    feature = "lua52",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55"
)))]
pub(crate) fn install(_: crate::State, _: crate::CanRaise) {}

#[cfg(any(
    feature = "lua52",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55"
))]
mod imp {
    use std::ffi::{CStr, c_int};
    use std::sync::OnceLock;

    use mlua_sys as ffi;

    use crate::{CanRaise, State, StateData};

    /// Elements moved between two polls of the limits.
    const SLICE: ffi::lua_Integer = 1 << 14;

    /// The library's functions (the same for every state of the linked Lua).
    struct Library {
        move_: Option<ffi::lua_CFunction>,
        rep: Option<ffi::lua_CFunction>,
        insert: Option<ffi::lua_CFunction>,
        remove: Option<ffi::lua_CFunction>,
    }

    static LIBRARY: OnceLock<Library> = OnceLock::new();

    /// Replaces `table.move` and `string.rep`.  Called while the state is initialised
    /// (inside the protected call that opens the libraries).
    pub(crate) fn install(st: State, raise: CanRaise) {
        let top = st.top();
        let original = |table: &CStr, name: &CStr| {
            st.push_globals();
            let f = if st.get_field(raise, -1, table) == ffi::LUA_TTABLE {
                st.get_field(raise, -1, name);
                st.to_cfunction(-1)
            } else {
                None
            };
            st.set_top(top);
            f
        };
        // (Looked up in the first state only: every state has the same functions.  Not
        // inside `get_or_init`: a Lua error would leave the cell locked.)
        if LIBRARY.get().is_none() {
            let library = Library {
                move_: original(c"table", c"move"),
                rep: original(c"string", c"rep"),
                insert: original(c"table", c"insert"),
                remove: original(c"table", c"remove"),
            };
            let _ = LIBRARY.set(library);
        }
        let Some(library) = LIBRARY.get() else {
            return;
        };
        let replace = |table: &CStr, name: &CStr, f: ffi::lua_CFunction| {
            st.push_globals();
            if st.get_field(raise, -1, table) == ffi::LUA_TTABLE {
                st.push_cfunction(raise.create(), f);
                st.set_field(raise, -2, name);
            }
            st.set_top(top);
        };
        if library.move_.is_some() {
            replace(c"table", c"move", guarded_move);
        }
        if library.rep.is_some() {
            replace(c"string", c"rep", guarded_rep);
        }
        if library.insert.is_some() {
            replace(c"table", c"insert", guarded_insert);
        }
        if library.remove.is_some() {
            replace(c"table", c"remove", guarded_remove);
        }
    }

    /// Units of work (see `Limits::should_stop_c_function`) charged per element moved: a
    /// `lua_geti` and a `lua_seti`, about two VM instructions' worth.
    const STEPS_PER_ELEMENT: u64 = 8;

    /// Polls the limits after `done` more elements of a loop; raises when they stop it.
    ///
    /// # Safety
    /// Called from a raw C function called by Lua, which owns nothing that needs dropping.
    unsafe fn poll(l: *mut ffi::lua_State, done: ffi::lua_Integer) {
        // SAFETY: the state of the running C function; raising from here is allowed (see
        // above).
        unsafe {
            let st = State::new(l);
            if let Some(data) = StateData::of(st)
                && data
                    .limits
                    .should_stop_c_function(data, st, done as u64 * STEPS_PER_ELEMENT)
            {
                crate::limits::raise_stopped(st, CanRaise::assume());
            }
        }
    }

    /// Counts the elements of a loop and polls the limits every `SLICE` of them.
    #[derive(Default)]
    struct Pacer(ffi::lua_Integer);

    impl Pacer {
        /// One more element done.
        ///
        /// # Safety
        /// As `poll`.
        #[inline]
        unsafe fn element(&mut self, l: *mut ffi::lua_State) {
            self.0 += 1;
            if self.0 == SLICE {
                self.0 = 0;
                // SAFETY: guaranteed by the caller.
                unsafe { poll(l, SLICE) };
            }
        }
    }

    /// Raises the library's message for a bad argument `arg` of `name`.
    ///
    /// # Safety
    /// Called from a raw C function called by Lua, which owns nothing that needs dropping.
    unsafe fn arg_error(l: *mut ffi::lua_State, arg: c_int, message: &CStr) -> ! {
        // SAFETY: guaranteed by the caller; luaL_argerror raises.
        unsafe {
            ffi::luaL_argerror(l, arg, message.as_ptr());
        }
        unreachable!("luaL_argerror raises")
    }

    /// `table.move(a1, f, e, t [, a2])`.
    unsafe extern "C-unwind" fn guarded_move(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing that needs
        // dropping, so the library's errors and the limits' may cross it.
        unsafe {
            let Some(original) = LIBRARY.get().and_then(|library| library.move_) else {
                return 0;
            };
            let f = ffi::luaL_checkinteger(l, 2);
            let e = ffi::luaL_checkinteger(l, 3);
            let t = ffi::luaL_checkinteger(l, 4);
            let tt = if ffi::lua_type(l, 5) > ffi::LUA_TNIL {
                5
            } else {
                1
            };
            // Few elements, or none, or what the library refuses (with its messages): the
            // library's function as it is.  Proxies are moved in slices too: a string reads
            // through its metatable's `__index` table without running any Lua code.
            let usable = |idx, field: &CStr| {
                ffi::lua_type(l, idx) == ffi::LUA_TTABLE || {
                    let found = ffi::luaL_getmetafield(l, idx, field.as_ptr()) != ffi::LUA_TNIL;
                    if found {
                        ffi::lua_pop(l, 1);
                    }
                    found
                }
            };
            if e < f
                || e.wrapping_sub(f) < SLICE
                || !usable(1, c"__index")
                || !usable(tt, c"__newindex")
            {
                return original(l);
            }
            // The library's checks of the whole range, with its messages.
            if !(f > 0 || e < ffi::lua_Integer::MAX + f) {
                arg_error(l, 3, c"too many elements to move");
            }
            let n = e - f + 1;
            if t > ffi::lua_Integer::MAX - n + 1 {
                arg_error(l, 4, c"destination wrap around");
            }
            let forward =
                t > e || t <= f || (tt != 1 && ffi::lua_compare(l, 1, tt, ffi::LUA_OPEQ) == 0);
            // Arguments 6..10: a slice for the library's function, which it gets as 1..5.
            ffi::lua_settop(l, 5);
            ffi::lua_pushvalue(l, tt);
            ffi::lua_replace(l, 5);
            let slices = (n + SLICE - 1) / SLICE;
            for k in 0..slices {
                let k = if forward { k } else { slices - 1 - k };
                let start = f + k * SLICE;
                let end = (start + SLICE - 1).min(e);
                let base = ffi::lua_gettop(l);
                ffi::lua_pushvalue(l, 1);
                ffi::lua_pushinteger(l, start);
                ffi::lua_pushinteger(l, end);
                ffi::lua_pushinteger(l, t + (start - f));
                ffi::lua_pushvalue(l, 5);
                ffi::lua_pushcclosure(l, original, 0);
                ffi::lua_insert(l, base + 1);
                ffi::lua_call(l, 5, 0);
                poll(l, SLICE);
            }
            ffi::lua_pushvalue(l, 5);
            1
        }
    }

    /// `table.insert(t, [pos,] v)`: the library's function, polling while it shifts.
    unsafe extern "C-unwind" fn guarded_insert(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing that needs
        // dropping, so the library's errors and the limits' may cross it.
        unsafe {
            let Some(original) = LIBRARY.get().and_then(|library| library.insert) else {
                return 0;
            };
            // Appending loops over nothing; other counts of arguments are errors; proxies
            // (not tables) are checked by the library.  The library's function, which has
            // not called `__len` yet.
            if ffi::lua_gettop(l) != 3 || ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
                return original(l);
            }
            let e = shift::length(l).wrapping_add(1);
            let pos = shift::check(l, 2);
            if !shift::insert_position_ok(pos, e) {
                arg_error(l, 2, c"position out of bounds");
            }
            let mut pacer = Pacer::default();
            let mut i = e;
            while i > pos {
                shift::get(l, i - 1);
                shift::set(l, i);
                i -= 1;
                pacer.element(l);
            }
            shift::set(l, pos);
            0
        }
    }

    /// `table.remove(t [, pos])`: the library's function, polling while it shifts.
    unsafe extern "C-unwind" fn guarded_remove(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing that needs
        // dropping, so the library's errors and the limits' may cross it.
        unsafe {
            let Some(original) = LIBRARY.get().and_then(|library| library.remove) else {
                return 0;
            };
            if ffi::lua_type(l, 1) != ffi::LUA_TTABLE {
                return original(l);
            }
            let size = shift::length(l);
            let mut pos = shift::optional(l, 2, size);
            if pos != size {
                let (ok, arg) = shift::remove_position_ok(pos, size);
                if !ok {
                    arg_error(l, arg, c"position out of bounds");
                }
            }
            shift::get(l, pos);
            let mut pacer = Pacer::default();
            while pos < size {
                shift::get(l, pos + 1);
                shift::set(l, pos);
                pos += 1;
                pacer.element(l);
            }
            ffi::lua_pushnil(l);
            shift::set(l, pos);
            1
        }
    }

    /// `string.rep(s, n [, sep])`: "" at once when there is nothing to repeat.
    unsafe extern "C-unwind" fn guarded_rep(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state; this frame owns nothing that needs
        // dropping, so the library's errors may cross it.
        unsafe {
            let Some(original) = LIBRARY.get().and_then(|library| library.rep) else {
                return 0;
            };
            let mut length = 0;
            ffi::luaL_checklstring(l, 1, &mut length);
            ffi::luaL_checkinteger(l, 2);
            let mut separator = 0;
            ffi::luaL_optlstring(l, 3, c"".as_ptr(), &mut separator);
            if length == 0 && separator == 0 {
                ffi::lua_pushstring(l, c"".as_ptr());
                return 1;
            }
            original(l)
        }
    }

    /// The element access and positions of `table.insert` and `table.remove`, per version: Lua 5.2
    /// uses raw access and C `int` positions, 5.3 checks positions as signed numbers, 5.4 and 5.5
    /// as unsigned ones (and 5.3 blames argument 1 for a bad position of `remove`).
    mod shift {
        use std::ffi::c_int;

        use mlua_sys as ffi;

        #[cfg(feature = "lua52")]
        pub(super) type Position = c_int;
        #[cfg(not(feature = "lua52"))]
        pub(super) type Position = ffi::lua_Integer;

        /// `t[i]` onto the stack, for the table at index 1.  `[-0, +1, e]`
        ///
        /// # Safety
        /// A valid state with room for one value; may raise (metamethods).
        #[inline]
        pub(super) unsafe fn get(l: *mut ffi::lua_State, i: Position) {
            // SAFETY: guaranteed by the caller.
            unsafe {
                #[cfg(feature = "lua52")]
                ffi::lua_rawgeti_(l, 1, i);
                #[cfg(not(feature = "lua52"))]
                ffi::lua_geti(l, 1, i);
            }
        }

        /// `t[i] = ` the value on top of the stack (popped), for the table at index 1.
        /// `[-1, +0, e]`
        ///
        /// # Safety
        /// A valid state; may raise (metamethods, memory).
        #[inline]
        pub(super) unsafe fn set(l: *mut ffi::lua_State, i: Position) {
            // SAFETY: guaranteed by the caller.
            unsafe {
                #[cfg(feature = "lua52")]
                ffi::lua_rawseti_(l, 1, i);
                #[cfg(not(feature = "lua52"))]
                ffi::lua_seti(l, 1, i);
            }
        }

        /// `#t` (through `__len`), for the table at index 1.  `[-0, +0, e]`
        ///
        /// # Safety
        /// A valid state; may raise.
        pub(super) unsafe fn length(l: *mut ffi::lua_State) -> Position {
            // SAFETY: guaranteed by the caller.
            unsafe { ffi::luaL_len(l, 1) }
        }

        /// Argument `arg` as a position (`luaL_checkint` on Lua 5.2, a C cast).  `[-0, +0, v]`
        ///
        /// # Safety
        /// A valid state; may raise.
        pub(super) unsafe fn check(l: *mut ffi::lua_State, arg: c_int) -> Position {
            // SAFETY: guaranteed by the caller.
            unsafe { ffi::luaL_checkinteger(l, arg) as Position }
        }

        /// Argument `arg` as a position, `default` when absent.  `[-0, +0, v]`
        ///
        /// # Safety
        /// A valid state; may raise.
        pub(super) unsafe fn optional(
            l: *mut ffi::lua_State,
            arg: c_int,
            default: Position,
        ) -> Position {
            // SAFETY: guaranteed by the caller.
            unsafe { ffi::luaL_optinteger(l, arg, default as _) as Position }
        }

        /// Whether `insert` may put a value at `pos`, where `e` is the first empty element.
        pub(super) fn insert_position_ok(pos: Position, e: Position) -> bool {
            if cfg!(any(feature = "lua52", feature = "lua53")) {
                1 <= pos && pos <= e
            } else {
                (pos as u64).wrapping_sub(1) < e as u64
            }
        }

        /// Whether `remove` may remove at `pos` (given, so not `size`); and the argument blamed.
        pub(super) fn remove_position_ok(pos: Position, size: Position) -> (bool, c_int) {
            if cfg!(any(feature = "lua52", feature = "lua53")) {
                (1 <= pos && pos <= size.wrapping_add(1), 1)
            } else {
                ((pos as u64).wrapping_sub(1) <= size as u64, 2)
            }
        }
    }
}
