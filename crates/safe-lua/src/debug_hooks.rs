//! `debug.sethook` and `debug.gethook` made safe against a tampered registry.
//!
//! The debug library keeps each thread's hook function in a table in the registry.  Its hook
//! (`hookf`, which Lua calls at every hooked event) indexes that table without checking that
//! it still is one on Lua 5.1, 5.3, 5.4 and 5.5, and so do 5.3's `sethook` and the `gethook`
//! of 5.3 to 5.5.  A script that replaced or removed the registry entry
//! (`debug.getregistry()`) after setting a hook made the next event dereference a non-table:
//! a crash, in Lua's own code.
//!
//! `install` therefore replaces a state's `debug.sethook` and `debug.gethook` with wrappers
//! around the library's own functions:
//!
//! * `sethook` first removes an entry that is not a table (the library then makes a new
//!   one), and afterwards installs `checked_hook` in place of `hookf`;
//! * `checked_hook` calls `hookf` only while the entry is a table (otherwise the script lost
//!   its hook function along with the table, and the event is ignored);
//! * `gethook` reports the hook function of a thread with `checked_hook`, which the library
//!   would call an "external hook".
//!
//! Lua 5.2 (whose library re-creates the table wherever it reads it), LuaJIT (which keeps
//! the hook function itself in the registry, and checks it) and Luau (which has neither
//! debug hooks nor `debug.getregistry`) need none of this.  Threads
//! created later inherit `checked_hook` like any hook.  The wrappers are raw C functions: they
//! own only plain data, so the errors that the library functions raise cross them harmlessly.

#[cfg(any(
    feature = "lua51",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55"
))]
pub(crate) use imp::install;

/// Does nothing: this flavour's debug library checks its hook table itself (or, on Luau, has
/// no hooks).
#[cfg(not(any(
    feature = "lua51",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55"
)))]
pub(crate) fn install(_: crate::State, _: crate::CanRaise) {}

#[cfg(any(
    feature = "lua51",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55"
))]
mod imp {
    use std::ffi::c_int;
    use std::sync::OnceLock;

    use mlua_sys as ffi;

    use crate::{CanRaise, State};

    /// What the Lua library linked into this module uses: the same for every state.
    struct Library {
        sethook: ffi::lua_CFunction,
        gethook: ffi::lua_CFunction,
        /// The library's `hookf`.
        hookf: ffi::lua_Hook,
        /// Lua 5.1 and 5.3: the light userdata key of the hook table (the address of a static
        /// of the library, found by `probe`).  Lua 5.4+ use the name `_HOOKKEY`.
        #[cfg_attr(any(feature = "lua54", feature = "lua55"), allow(dead_code))]
        key: usize,
    }

    static LIBRARY: OnceLock<Option<Library>> = OnceLock::new();

    /// Replaces `debug.sethook` and `debug.gethook` with the checked versions.  Called while
    /// the state is initialised (inside the protected call that opens the libraries).
    pub(crate) fn install(st: State, raise: CanRaise) {
        let top = st.top();
        st.push_globals();
        if st.get_field(raise, -1, c"debug") == ffi::LUA_TTABLE {
            // (In the first state only: every state has the same library.  Not inside
            // `get_or_init`: a Lua error would leave the cell locked.)
            if LIBRARY.get().is_none() {
                st.get_field(raise, -1, c"sethook");
                let sethook = st.to_cfunction(-1);
                st.get_field(raise, -2, c"gethook");
                let gethook = st.to_cfunction(-1);
                st.pop(2);
                let library = sethook
                    .zip(gethook)
                    .and_then(|(sethook, gethook)| probe(st, raise, sethook, gethook));
                let _ = LIBRARY.set(library);
            }
            if library().is_some() {
                st.push_cfunction(raise.create(), checked_sethook);
                st.set_field(raise, -2, c"sethook");
                st.push_cfunction(raise.create(), checked_gethook);
                st.set_field(raise, -2, c"gethook");
            }
        }
        st.set_top(top);
    }

    /// Learns `hookf` and the hook table's key: sets a hook on the main thread with the
    /// library's `sethook`, looks at what it made, and removes the hook again.
    fn probe(
        st: State,
        raise: CanRaise,
        sethook: ffi::lua_CFunction,
        gethook: ffi::lua_CFunction,
    ) -> Option<Library> {
        let l = st.as_ptr();
        let top = st.top();
        st.push_cfunction(raise.create(), sethook);
        st.push_cfunction(raise.create(), probe_hook);
        st.push_str(raise.create(), "c");
        // SAFETY: initialisation (see `CanRaise`): the library's `sethook` with a function
        // and a mask.
        unsafe { ffi::lua_call(l, 2, 0) };
        // SAFETY: valid state.
        let hookf = unsafe { ffi::lua_gethook(l) };
        let key = find_hook_table_key(st, raise);
        st.push_cfunction(raise.create(), sethook);
        // SAFETY: as above; without arguments it turns the hook off.
        unsafe { ffi::lua_call(l, 0, 0) };
        st.set_top(top);
        let hookf = hookf?;
        if cfg!(any(feature = "lua51", feature = "lua53")) && key == 0 {
            return None;
        }
        Some(Library {
            sethook,
            gethook,
            hookf,
            key,
        })
    }

    /// The function `probe` sets as a hook (it may run while probing).
    unsafe extern "C-unwind" fn probe_hook(_: *mut ffi::lua_State) -> c_int {
        0
    }

    /// Lua 5.1 and 5.3: the light userdata key of the registry table that maps the running
    /// thread to `probe_hook` (0 if there is none).  Lua 5.4+: 0 (the key is a name).
    fn find_hook_table_key(st: State, raise: CanRaise) -> usize {
        let mut found = 0;
        if cfg!(any(feature = "lua51", feature = "lua53")) {
            st.push_nil();
            while st.next(raise, ffi::LUA_REGISTRYINDEX) {
                if st.type_of(-2) == ffi::LUA_TLIGHTUSERDATA && st.type_of(-1) == ffi::LUA_TTABLE {
                    push_thread_key(st, st);
                    st.raw_get(-2);
                    if st.to_cfunction(-1).map(|f| f as usize)
                        == Some(probe_hook as ffi::lua_CFunction as usize)
                    {
                        found = st.to_userdata(-3) as usize;
                    }
                    st.pop(1);
                }
                st.pop(1);
            }
        }
        found
    }

    fn library() -> Option<&'static Library> {
        LIBRARY.get().and_then(Option::as_ref)
    }

    /// Pushes the registry's hook table entry (any value); returns its type.  `[-0, +1]`; on
    /// Lua 5.4+ it may raise out of memory (it makes the key).
    fn push_hook_table(st: State, library: &Library) -> c_int {
        push_hook_table_key(st, library);
        st.raw_get(ffi::LUA_REGISTRYINDEX)
    }

    /// Pushes the key under which the hook table keeps the hook function of `thread`: the
    /// thread itself (Lua 5.2+) or its address (Lua 5.1).  `[-0, +1]`; pushes nil if
    /// `thread` has no room for it.
    fn push_thread_key(st: State, thread: State) {
        #[cfg(feature = "lua51")]
        // SAFETY: valid state with a free slot; a light userdata allocates nothing.
        unsafe {
            let _ = st;
            ffi::lua_pushlightuserdata(st.as_ptr(), thread.as_ptr().cast())
        };
        #[cfg(not(feature = "lua51"))]
        {
            if thread == st {
                // SAFETY: valid state with a free slot.
                unsafe { ffi::lua_pushthread(st.as_ptr()) };
            } else if thread.ensure_stack(1) {
                // SAFETY: valid threads of one state, a free slot on `thread`.
                unsafe { ffi::lua_pushthread(thread.as_ptr()) };
                thread.xmove(st, 1);
            } else {
                st.push_nil();
            }
        }
    }

    /// The thread that `sethook`/`gethook` act on: their first argument if it is a thread.
    fn target_thread(st: State) -> State {
        if st.type_of(1) == ffi::LUA_TTHREAD {
            // SAFETY: a thread of this state.
            unsafe { State::new(st.to_thread(1)) }
        } else {
            st
        }
    }

    /// Whether the registry's hook table entry is a table.  `[-0, +0]`
    fn hook_table_present(st: State, library: &Library) -> bool {
        let present = push_hook_table(st, library) == ffi::LUA_TTABLE;
        st.pop(1);
        present
    }

    /// `hookf` while the hook table is a table.
    unsafe extern "C-unwind" fn checked_hook(l: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
        // SAFETY: called by Lua with a valid state (with LUA_MINSTACK free slots).
        let st = unsafe { State::new(l) };
        if let Some(library) = library()
            && hook_table_present(st, library)
        {
            // SAFETY: the library's hook, called as Lua would call it; it finds its table.
            unsafe { (library.hookf)(l, ar) };
        }
    }

    /// `debug.sethook` (see the module docs).
    unsafe extern "C-unwind" fn checked_sethook(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state.
        let st = unsafe { State::new(l) };
        let Some(library) = library() else {
            return 0;
        };
        let thread = target_thread(st);
        if push_hook_table(st, library) > ffi::LUA_TNIL && st.type_of(-1) != ffi::LUA_TTABLE {
            // [.., entry] -> [..]: the library makes a new table where it finds none.
            st.pop(1);
            push_hook_table_key(st, library);
            st.push_nil();
            // SAFETY: a raw C function (module docs); a key that is present is replaced
            // without allocating.
            st.raw_set(unsafe { CanRaise::assume() }, ffi::LUA_REGISTRYINDEX);
        } else {
            st.pop(1);
        }
        // SAFETY: the library's `sethook`, on this C function's own frame and arguments; it
        // may raise (argument errors, memory), which crosses no frame that owns anything.
        unsafe { (library.sethook)(l) };
        // SAFETY: valid threads.
        unsafe {
            let hook = ffi::lua_gethook(thread.as_ptr());
            if hook.is_some_and(|hook| hook as usize == library.hookf as usize) {
                let mask = ffi::lua_gethookmask(thread.as_ptr());
                let count = ffi::lua_gethookcount(thread.as_ptr());
                ffi::lua_sethook(thread.as_ptr(), Some(checked_hook), mask, count);
            }
        }
        0
    }

    /// Pushes the registry key of the hook table.  `[-0, +1]`; on Lua 5.4+ it may raise out
    /// of memory (a raw C function or hook may).
    fn push_hook_table_key(st: State, library: &Library) {
        #[cfg(any(feature = "lua54", feature = "lua55"))]
        {
            let _ = library;
            // SAFETY: a raw C function or hook (see the module docs): it may raise.
            unsafe { ffi::lua_pushstring(st.as_ptr(), c"_HOOKKEY".as_ptr()) };
        }
        #[cfg(not(any(feature = "lua54", feature = "lua55")))]
        // SAFETY: valid state with a free slot; a light userdata allocates nothing on PUC Lua.
        unsafe {
            ffi::lua_pushlightuserdata(st.as_ptr(), library.key as *mut std::ffi::c_void)
        };
    }

    /// `debug.gethook` (see the module docs).
    unsafe extern "C-unwind" fn checked_gethook(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state.
        let st = unsafe { State::new(l) };
        let Some(library) = library() else {
            return 0;
        };
        let thread = target_thread(st);
        // SAFETY: a valid thread.
        let hook = unsafe { ffi::lua_gethook(thread.as_ptr()) };
        let checked =
            hook.is_some_and(|hook| hook as usize == checked_hook as ffi::lua_Hook as usize);
        // SAFETY: the library's `gethook` on this frame.  It reads the table only for a
        // thread with `hookf` (which `checked_sethook` replaces everywhere) and, on 5.1, for
        // one without a hook (5.1 re-creates a table that is not one); for `checked_hook` it
        // reports an "external hook".
        let results = unsafe { (library.gethook)(l) };
        if checked && results == 3 {
            // [.., "external hook", mask, count]: the hook function instead.
            let first = st.top() - 2;
            if push_hook_table(st, library) == ffi::LUA_TTABLE {
                push_thread_key(st, thread);
                st.raw_get(-2);
                st.remove(-2);
            } else {
                st.pop(1);
                st.push_nil();
            }
            st.replace(first);
        }
        results
    }
}
