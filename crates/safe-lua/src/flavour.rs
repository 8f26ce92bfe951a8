//! Everything that differs between the Lua flavours lives here, so that the rest of the code
//! reads the same for Lua 5.1 to 5.5 and LuaJIT.  One flavour is compiled per build (selected
//! with a cargo feature); `compile_error!` rejects any other combination.

use std::ffi::{c_int, c_uint, c_void};

use mlua_sys as ffi;

#[cfg(not(any(
    feature = "lua51",
    feature = "lua52",
    feature = "lua53",
    feature = "lua54",
    feature = "lua55",
    feature = "luajit",
    feature = "luau"
)))]
compile_error!(
    "enable exactly one Lua flavour feature: lua51, lua52, lua53, lua54, lua55, luajit or luau"
);

#[cfg(any(
    all(
        feature = "lua51",
        any(
            feature = "lua52",
            feature = "lua53",
            feature = "lua54",
            feature = "lua55",
            feature = "luajit"
        )
    ),
    all(
        feature = "lua52",
        any(
            feature = "lua53",
            feature = "lua54",
            feature = "lua55",
            feature = "luajit"
        )
    ),
    all(
        feature = "lua53",
        any(feature = "lua54", feature = "lua55", feature = "luajit")
    ),
    all(feature = "lua54", any(feature = "lua55", feature = "luajit")),
    all(feature = "lua55", feature = "luajit"),
    all(
        feature = "luau",
        any(
            feature = "lua51",
            feature = "lua52",
            feature = "lua53",
            feature = "lua54",
            feature = "lua55",
            feature = "luajit"
        )
    ),
))]
compile_error!(
    "enable exactly one Lua flavour feature: lua51, lua52, lua53, lua54, lua55, luajit or luau"
);

/// Luau (Roblox's Lua 5.1 derivative, see `crate::luau`).
pub const IS_LUAU: bool = cfg!(feature = "luau");

/// Lua 5.3+ has a separate integer subtype; older versions only have doubles.
pub const HAS_INTEGERS: bool = cfg!(any(feature = "lua53", feature = "lua54", feature = "lua55"));

/// Lua 5.3+ use a metatable's `__name` in error messages ("a POBJECT value" instead of "a
/// userdata value").
pub const METATABLE_NAMES_IN_ERRORS: bool = HAS_INTEGERS;

/// LuaJIT 2.1's `lua_pushlightuserdata` allocates the first time it sees a pointer from a new
/// 512 GB address range (`lj_lightud_intern`); under a memory limit that allocation can fail
/// where no error can be caught.  LuaJIT 2.0 (64-bit) raises "bad light userdata pointer" for
/// an address of 2^47 and above instead.  Pointers pushed outside protected calls therefore
/// travel as numbers on every LuaJIT (`State::push_pointer`); the addresses of this program's
/// statics (`State::push_static`) are below 2^47 wherever LuaJIT 2.0 runs (x86-64).
pub const PUSHLIGHTUSERDATA_ALLOCATES: bool = cfg!(feature = "luajit");

/// `lua_pushcfunction` allocates a closure on Lua 5.1, LuaJIT and Luau (it may raise out of
/// memory); on 5.2+ a C function without upvalues is a "light" value.
pub const PUSHCFUNCTION_ALLOCATES: bool =
    cfg!(any(feature = "lua51", feature = "luajit", feature = "luau"));

/// Whether an error in a `__gc` metamethod propagates out of the garbage collection step that
/// ran it.  Lua 5.1 to 5.3 re-throw it from whatever allocating API call ran the step (their
/// manuals' `m` includes "errors running a `__gc` metamethod"), so an allocation from Python
/// can raise any error a script's finalizer raises, with or without a memory limit.  Lua 5.4+
/// turn such errors into warnings, LuaJIT 2.1 reports them through its `ERRFIN` handler;
/// LuaJIT 2.0 re-throws, and a LuaJIT found on the system may be 2.0.  Luau has no `__gc`
/// metamethods (a userdata's destructor is C code that cannot raise).
pub const FINALIZER_ERRORS_PROPAGATE: bool = cfg!(any(
    feature = "lua51",
    feature = "lua52",
    feature = "lua53",
    all(feature = "luajit", not(feature = "vendored"))
));

/// Lua's error message for resuming a coroutine that died of an error.
pub const RESUME_DEAD_MESSAGE: &str = if cfg!(any(feature = "lua51", feature = "luajit")) {
    "cannot resume non-suspended coroutine"
} else {
    "cannot resume dead coroutine"
};

/// Whether the accounting allocator must not refuse a new block whose object type Lua gives
/// as `kind` (the `osize` of a new block), whatever the memory limit.
///
/// Lua 5.2's `luaF_findupval` keeps a pointer into the thread's list of open upvalues while
/// it allocates a new upvalue; when that allocation fails, the emergency collection that Lua
/// runs before it retries can free the dead upvalue the pointer is in, and the new upvalue is
/// then linked through freed memory (a use after free in plain Lua 5.2.4 with any allocator
/// that fails).  Upvalues are therefore never refused there: an upvalue is made only for a
/// closure that was allocated within the limit, so this goes at most 255 upvalues (10 kB)
/// beyond it.
#[inline(always)]
pub(crate) fn new_block_must_not_fail(kind: usize) -> bool {
    // LUA_TUPVAL of Lua 5.2 (LUA_NUMTAGS + 1).
    cfg!(feature = "lua52") && kind == 10
}

/// Version of the Lua library actually linked, as `(major, minor)`: read from the library
/// itself where the C API offers it (5.2+), like upstream `LUA_VERSION`.  Lua 5.1 and
/// LuaJIT 2.0 have no `lua_version`; LuaJIT speaks Lua 5.1.
pub fn library_version() -> (u32, u32) {
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    // SAFETY: lua_version ignores its state argument on 5.4+ (it returns LUA_VERSION_NUM).
    let num = unsafe { ffi::lua_version(std::ptr::null_mut()) } as u32;
    #[cfg(any(feature = "lua52", feature = "lua53"))]
    // SAFETY: with a NULL state, lua_version returns a pointer to a static constant.
    let num = unsafe { *ffi::lua_version(std::ptr::null_mut()) } as u32;
    // Luau speaks Lua 5.1 (plus its own additions), and says so, as LuaJIT does.
    #[cfg(any(feature = "lua51", feature = "luajit", feature = "luau"))]
    let num = 501u32;
    (num / 100, num % 100)
}

// `luajit20` names the LuaJIT linked from outside (setup.py builds it from a LuaJIT 2.0 tree);
// the vendored LuaJIT (luajit-src) is 2.1.
#[cfg(all(feature = "luajit20", feature = "vendored"))]
compile_error!("luajit20 links a LuaJIT 2.0 built outside cargo: it cannot be `vendored` (2.1)");

/// Whether `lua_newstate` accepts a custom allocator (the one behind `max_memory`).  64-bit
/// LuaJIT 2.0 allocates its objects in the lowest 2 GB with its own allocator and refuses any
/// other: its `lua_newstate` prints "Must use luaL_newstate() for 64 bit target" and fails.
pub const CUSTOM_ALLOCATOR: bool = !cfg!(all(feature = "luajit20", target_pointer_width = "64"));

/// Creates a state with the given allocator.  `seed` is the string hash seed, which only
/// Lua 5.5 takes; the other versions ignore it (as upstream does).  NULL where the flavour
/// cannot use a custom allocator ([`CUSTOM_ALLOCATOR`]), without asking it (upstream's
/// LuaJIT 2.0 prints the message above to stderr).
///
/// # Safety
/// `alloc` must be a valid allocator for `ud` for the whole lifetime of the state.
pub(crate) unsafe fn new_state(
    alloc: ffi::lua_Alloc,
    ud: *mut c_void,
    seed: Option<c_uint>,
) -> *mut ffi::lua_State {
    #[cfg(feature = "lua55")]
    {
        let seed = match seed {
            Some(seed) => seed,
            // SAFETY: luaL_makeseed accepts a NULL state (it only mixes addresses and time).
            None => unsafe { ffi::luaL_makeseed(std::ptr::null_mut()) },
        };
        // SAFETY: guaranteed by the caller.
        unsafe { ffi::lua_newstate(alloc, ud, seed) }
    }
    #[cfg(not(feature = "lua55"))]
    {
        // (Luau seeds its string hashes itself.)
        let _ = seed;
        if !CUSTOM_ALLOCATOR {
            return std::ptr::null_mut();
        }
        // SAFETY: guaranteed by the caller.
        unsafe { ffi::lua_newstate(alloc, ud) }
    }
}

/// C functions of this module's flavour-specific parts that `open_state` registers for
/// `State::protected` (see `State::push_registered`).
#[cfg(feature = "luau")]
pub(crate) const REGISTERED_FUNCTIONS: &[ffi::lua_CFunction] = crate::luau::REGISTERED_FUNCTIONS;
#[cfg(not(feature = "luau"))]
pub(crate) const REGISTERED_FUNCTIONS: &[ffi::lua_CFunction] = &[];

/// Whether the collector calls a userdata's `__gc` metamethod.  Luau never does: it calls a
/// C destructor chosen by the userdata's tag instead (`State::set_userdata_destructor`).
pub const USERDATA_GC_METAMETHOD: bool = !cfg!(feature = "luau");

/// Creates a state with Lua's own allocator (`luaL_newstate`).
#[cfg(not(feature = "luau"))]
pub(crate) fn new_default_state() -> *mut ffi::lua_State {
    // SAFETY: luaL_newstate has no preconditions; it returns NULL on failure.
    unsafe { ffi::luaL_newstate() }
}

/// Allocates a full userdata of `size` bytes without user values.
/// Stack: `[-0, +1]`; raises on memory errors.
///
/// # Safety
/// `l` is a valid state with one free stack slot.
#[inline(always)]
pub(crate) unsafe fn new_userdata(l: *mut ffi::lua_State, size: usize) -> *mut c_void {
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    // SAFETY: guaranteed by the caller.
    unsafe {
        ffi::lua_newuserdatauv(l, size, 0)
    }
    #[cfg(not(any(feature = "lua54", feature = "lua55")))]
    // SAFETY: guaranteed by the caller.
    unsafe {
        ffi::lua_newuserdata(l, size)
    }
}

/// `lua_gc` for the options that take no extra argument.
///
/// # Safety
/// `l` is a valid state.
#[inline]
pub(crate) unsafe fn gc(l: *mut ffi::lua_State, what: c_int) -> c_int {
    #[cfg(any(feature = "lua54", feature = "lua55"))]
    // SAFETY: guaranteed by the caller; these options read no variadic argument.
    unsafe {
        ffi::lua_gc(l, what)
    }
    #[cfg(not(any(feature = "lua54", feature = "lua55")))]
    // SAFETY: guaranteed by the caller.
    unsafe {
        ffi::lua_gc(l, what, 0)
    }
}

/// Resumes coroutine `co` with `nargs` arguments on its stack.  Returns the status and the
/// number of values it yielded or returned (on top of `co`'s stack).
///
/// # Safety
/// `co` is a suspended or fresh coroutine of the same global state as `from`.
#[inline]
pub(crate) unsafe fn resume(
    co: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
    nargs: c_int,
) -> (c_int, c_int) {
    #[cfg(feature = "luau")]
    if nargs == 0 && crate::inject::take_parked_error(co) {
        // SAFETY: guaranteed by the caller; the error object is on top of `co`.
        return unsafe { luau_resume_result(co, ffi::lua_resumeerror(co, from)) };
    }
    #[cfg(feature = "luau")]
    // SAFETY: guaranteed by the caller.
    return unsafe { luau_resume_result(co, ffi::lua_resume_(co, from, nargs)) };
    #[cfg(not(feature = "luau"))]
    {
        let mut nres: c_int = 0;
        // SAFETY: guaranteed by the caller; `nres` is a valid out pointer.
        let status = unsafe { ffi::lua_resume(co, from, nargs, &mut nres) };
        (status, nres)
    }
}

/// Luau's `lua_resume` returns only the status: what the coroutine yielded or returned is
/// all of its stack.
///
/// # Safety
/// `co` is a valid thread.
#[cfg(feature = "luau")]
unsafe fn luau_resume_result(co: *mut ffi::lua_State, status: c_int) -> (c_int, c_int) {
    let nres = if status == ffi::LUA_OK || status == ffi::LUA_YIELD {
        // SAFETY: guaranteed by the caller.
        unsafe { ffi::lua_gettop(co) }
    } else {
        0
    };
    (status, nres)
}

/// Closes a coroutine's pending to-be-closed variables and resets it to a dead state (5.4+;
/// Luau resets it, having no such variables), returning the status (an error leaves its object on `co`'s stack).  None on versions that
/// cannot do it; the caller then just forgets the coroutine.
///
/// # Safety
/// `co` is a coroutine that is not running.
pub(crate) unsafe fn close_thread(
    co: *mut ffi::lua_State,
    from: *mut ffi::lua_State,
) -> Option<c_int> {
    // `lua_closethread` only exists from Lua 5.4.6 on; `lua_resetthread` is in every 5.4
    // release (installed Lua libraries are often older, e.g. Debian 12 has 5.4.4).
    #[cfg(feature = "lua54")]
    {
        let _ = from;
        // SAFETY: guaranteed by the caller.
        Some(unsafe { ffi::lua_resetthread(co) })
    }
    #[cfg(feature = "lua55")]
    {
        // SAFETY: guaranteed by the caller.
        Some(unsafe { ffi::lua_closethread(co, from) })
    }
    #[cfg(feature = "luau")]
    {
        // No to-be-closed variables; resetting frees the coroutine's stack and frames.
        let _ = from;
        // SAFETY: guaranteed by the caller (a suspended coroutine is not active).
        unsafe { ffi::lua_resetthread(co) };
        Some(ffi::LUA_OK)
    }
    #[cfg(not(any(feature = "lua54", feature = "lua55", feature = "luau")))]
    {
        let _ = (co, from);
        None
    }
}

/// Functions that the vendored Lua 5.4 has only because `lua-src` builds it with
/// `LUA_COMPAT_5_3` (`LUA_COMPAT_MATHLIB`).  Upstream lupa's Lua 5.4 does not have them, so
/// `open_state` removes them from `math`.
pub const COMPAT_MATH_FUNCTIONS: &[&[u8]] = if cfg!(all(feature = "lua54", feature = "vendored")) {
    &[
        b"atan2", b"cosh", b"frexp", b"ldexp", b"log10", b"pow", b"sinh", b"tanh",
    ]
} else {
    &[]
};

/// Whether the `mode` argument of `load` is honoured (Lua 5.2+; ignored by 5.1 and LuaJIT,
/// exactly like upstream).
pub const HONOURS_LOAD_MODE: bool = !cfg!(any(feature = "lua51", feature = "luajit"));

/// Whether `chunk` is a binary (precompiled) chunk rather than source text: it starts with
/// the escape character on Lua and LuaJIT, with a bytecode version byte on Luau
/// (`luau::is_bytecode`).  The loader does not verify bytecode: a crafted chunk can corrupt
/// memory, so a sandbox refuses it.
pub fn is_binary_chunk(chunk: &[u8]) -> bool {
    #[cfg(feature = "luau")]
    return crate::luau::is_bytecode(chunk);
    #[cfg(not(feature = "luau"))]
    return chunk.first() == Some(&0x1b);
}

/// The `start` argument of `python.enumerate` (and the control value of its loop), as
/// upstream reads it (`lua_tointegerx`):
/// Lua 5.1, 5.2, LuaJIT and Luau truncate numbers, 5.3+ require integral ones; numeric
/// strings are accepted.  None for anything else.
pub fn enumerate_start(st: crate::State, idx: c_int) -> Option<i64> {
    #[cfg(feature = "lua52")]
    {
        let mut isnum: c_int = 0;
        // SAFETY: valid state and index (the caller is a C function with that argument).
        let value = unsafe { ffi::lua_tointegerx_(st.as_ptr(), idx, &mut isnum) };
        (isnum != 0).then_some(value)
    }
    #[cfg(any(feature = "lua51", feature = "luajit"))]
    {
        let l = st.as_ptr();
        // SAFETY: valid state and index (the caller is a C function with that argument).
        if unsafe { ffi::lua_isnumber(l, idx) } == 0 {
            return None;
        }
        // SAFETY: as above.
        Some(unsafe { ffi::lua_tointeger_(l, idx) })
    }
    #[cfg(feature = "luau")]
    {
        let mut isnum: c_int = 0;
        // SAFETY: valid state and index (the caller is a C function with that argument).
        let n = unsafe { ffi::lua_tonumberx(st.as_ptr(), idx, &mut isnum) };
        // (`as` saturates: Luau's own lua_tointeger is only 32 bits wide.)
        (isnum != 0).then_some(n as i64)
    }
    #[cfg(not(any(
        feature = "lua51",
        feature = "lua52",
        feature = "luajit",
        feature = "luau"
    )))]
    {
        st.to_integer_x(idx)
    }
}

/// Prepares a state for `lua_close` (a no-op except on Lua 5.3).
///
/// Lua 5.3's `lua_close` hangs when a finalizer it runs starts a full collection
/// (`collectgarbage()`, or `gccollect()` from Python) while the collector is in its
/// propagation phase and its count of finalizers to run per step (`gcfinnum`) is 0: the
/// collection skips the atomic phase (which would set the count) and then loops forever in
/// its finalizer phase, calling 0 finalizers per step, as `lua_close` left every object with
/// a finalizer pending.  The count is 0 in the first cycle of a state and after any cycle
/// that ran finalizers, so any script can arrange it.  A full collection right before closing
/// leaves the collector paused (outside that phase): a collection started by a finalizer
/// then runs its atomic phase.  Finalizers may raise there (Lua 5.3 re-throws their errors),
/// so it runs protected, with the memory limit lifted and without the script's hooks; an
/// error from a finalizer leaves the collector in its finalizer phase with a count above 0,
/// which is as safe.
pub fn prepare_close(st: crate::State) {
    #[cfg(feature = "lua53")]
    {
        let top = st.top();
        if st.ensure_stack(2) {
            // A script's hook could make the call fail before it collects (and `lua_close`
            // runs no hooks anyway); the crate's hook stays (the close has limits).
            crate::limits::remove_script_hook(st);
            crate::memory::with_limit_lifted(st, || {
                st.protected(crate::Op::GC_COLLECT, std::ptr::null_mut(), 0, 0, 0)
            });
        }
        st.set_top(top);
    }
    #[cfg(not(feature = "lua53"))]
    let _ = st;
}
