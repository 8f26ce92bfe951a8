//! `coroutine.resume`, `coroutine.status` and `coroutine.close` treat the main thread as Lua
//! does while a coroutine runs: as a thread that resumed another one ("normal").
//!
//! In Lua, the main thread has a frame below any coroutine it resumed.  Coroutines that Python
//! resumes run while the main thread sits at its base level with the values of the host on its
//! stack, which `lua_resume` takes for a coroutine that has not started.  Lua code can reach
//! the main thread on Lua 5.2+ (`coroutine.running()` in the main chunk, `registry[1]`):
//! `coroutine.resume` of it called one of those values and left the main thread dead (the
//! next call into the runtime failed Lua's API check), and `coroutine.close` (5.4+) reset its
//! stack under the host (a crash); `coroutine.status` called it "suspended".  The wrappers
//! below answer for the main thread (when another thread asks) as Lua answers for a "normal"
//! coroutine, and leave every other thread to the library's own functions, which they call on
//! their own frame.  Resuming from C (`State::resume`) is the host's business: the extension
//! refuses the main thread there itself.
//!
//! Lua 5.1, LuaJIT and Luau hand out no main thread (`coroutine.running()` returns nil there,
//! and Luau has no `debug.getregistry`), so nothing is wrapped.  The wrappers are raw C functions: they own only plain data, so the
//! errors that the library functions raise cross them harmlessly.

#[cfg(not(any(feature = "lua51", feature = "luajit", feature = "luau")))]
pub(crate) use imp::install;

/// Does nothing: Lua code cannot reach the main thread of this flavour.
#[cfg(any(feature = "lua51", feature = "luajit", feature = "luau"))]
pub(crate) fn install(_: crate::State, _: crate::CanRaise) {}

#[cfg(not(any(feature = "lua51", feature = "luajit", feature = "luau")))]
mod imp {
    use std::ffi::{CStr, c_int};
    use std::sync::OnceLock;

    use mlua_sys as ffi;

    use crate::{CanRaise, State};

    /// The coroutine library's functions (the same for every state of the linked Lua).
    struct Library {
        resume: ffi::lua_CFunction,
        status: ffi::lua_CFunction,
        close: Option<ffi::lua_CFunction>,
    }

    static LIBRARY: OnceLock<Option<Library>> = OnceLock::new();

    /// Replaces the functions of the `coroutine` table.  Called while the state is
    /// initialised (inside the protected call that opens the libraries).
    pub(crate) fn install(st: State, raise: CanRaise) {
        let top = st.top();
        st.push_globals();
        if st.get_field(raise, -1, c"coroutine") == ffi::LUA_TTABLE {
            // (Looked up in the first state only: every state has the same functions.  Not
            // inside `get_or_init`: a Lua error would leave the cell locked.)
            if LIBRARY.get().is_none() {
                let function = |name: &CStr| {
                    st.get_field(raise, -1, name);
                    let f = st.to_cfunction(-1);
                    st.pop(1);
                    f
                };
                let (resume, status) = (function(c"resume"), function(c"status"));
                let close = function(c"close");
                let library = resume.zip(status).map(|(resume, status)| Library {
                    resume,
                    status,
                    close,
                });
                let _ = LIBRARY.set(library);
            }
            if let Some(library) = library() {
                st.push_cfunction(raise.create(), checked_resume);
                st.set_field(raise, -2, c"resume");
                st.push_cfunction(raise.create(), checked_status);
                st.set_field(raise, -2, c"status");
                if library.close.is_some() {
                    st.push_cfunction(raise.create(), checked_close);
                    st.set_field(raise, -2, c"close");
                }
            }
        }
        st.set_top(top);
    }

    fn library() -> Option<&'static Library> {
        LIBRARY.get().and_then(Option::as_ref)
    }

    /// Whether argument 1 is the main thread and not the thread that calls.
    fn is_main_thread_of_another(st: State) -> bool {
        if st.type_of(1) != ffi::LUA_TTHREAD {
            return false;
        }
        // SAFETY: a thread of this state.
        let co = unsafe { State::new(st.to_thread(1)) };
        if co == st || !co.ensure_stack(1) {
            return false;
        }
        // SAFETY: a valid thread with a free slot; `lua_pushthread` says whether it is the
        // main thread (which no script can change).
        let main = unsafe { ffi::lua_pushthread(co.as_ptr()) } == 1;
        co.pop(1);
        main
    }

    /// Pushes a message (it may raise out of memory: a raw C function may).  `[-0, +1]`
    fn push_message(st: State, message: &CStr) {
        // SAFETY: valid state with a free slot (C functions get LUA_MINSTACK of them).
        unsafe { ffi::lua_pushstring(st.as_ptr(), message.as_ptr()) };
    }

    /// `coroutine.resume`: false and Lua's message for the main thread.
    unsafe extern "C-unwind" fn checked_resume(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state.
        let st = unsafe { State::new(l) };
        let Some(library) = library() else {
            return 0;
        };
        if is_main_thread_of_another(st) {
            st.push_bool(false);
            push_message(st, c"cannot resume non-suspended coroutine");
            return 2;
        }
        // SAFETY: the library's function on this C function's own frame and arguments; what it
        // raises crosses no frame that owns anything.
        unsafe { (library.resume)(l) }
    }

    /// `coroutine.status`: "normal" for the main thread.
    unsafe extern "C-unwind" fn checked_status(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state.
        let st = unsafe { State::new(l) };
        let Some(library) = library() else {
            return 0;
        };
        if is_main_thread_of_another(st) {
            push_message(st, c"normal");
            return 1;
        }
        // SAFETY: as in `checked_resume`.
        unsafe { (library.status)(l) }
    }

    /// `coroutine.close` (Lua 5.4+): Lua's error for the main thread.
    unsafe extern "C-unwind" fn checked_close(l: *mut ffi::lua_State) -> c_int {
        // SAFETY: called by Lua with a valid state.
        let st = unsafe { State::new(l) };
        let Some(close) = library().and_then(|library| library.close) else {
            return 0;
        };
        if is_main_thread_of_another(st) {
            // As `luaL_error` would: the position of the caller, then the message.
            // SAFETY: valid state with free slots; a raw C function may raise.
            unsafe { ffi::luaL_where(l, 1) };
            push_message(st, c"cannot close a normal coroutine");
            // SAFETY: as above.
            unsafe { ffi::lua_concat(l, 2) };
            // SAFETY: a raw C function called by Lua, which owns nothing that needs dropping.
            unsafe { st.raise() };
        }
        // SAFETY: as in `checked_resume`.
        unsafe { close(l) }
    }
}
