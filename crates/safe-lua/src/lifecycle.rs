//! Creating and closing Lua states.

use std::ffi::{c_int, c_void};

use mlua_sys as ffi;

use crate::flavour;
use crate::memory::{accounting_alloc, forwarding_alloc};
use crate::protect::REGISTERED_FUNCTIONS;
use crate::{CanRaise, State, StateData};

/// How to create a state.
pub struct StateConfig<'a> {
    /// The state's data (see `StateData`); it must outlive the state.
    pub data: &'a StateData,
    /// Count allocations in `data.memory` (and apply its limit); otherwise Lua's (or
    /// LuaJIT's) own allocator does the work.
    pub count_memory: bool,
    /// The string hash seed (honoured by Lua 5.5 only).
    pub hash_seed: Option<u32>,
    /// C functions outside this crate that are pushed with `State::push_registered` (ops
    /// and hot C functions).
    pub registered: &'a [ffi::lua_CFunction],
}

/// Lua's last resort for errors outside any protected call.  This crate protects every call
/// that can raise, so reaching this is a bug; Lua aborts the process when it returns.
#[cfg(not(feature = "luau"))]
unsafe extern "C-unwind" fn panic_handler(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls the panic handler with a valid state and the error on top.
    let st = unsafe { State::new(l) };
    let message = match st.to_text(-1) {
        Some(text) => String::from_utf8_lossy(&text).into_owned(),
        None => format!("error object is a {} value", st.type_name(st.type_of(-1))),
    };
    eprintln!("PANIC: unprotected error in call to Lua API ({message})");
    0
}

unsafe extern "C-unwind" fn open_libraries(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by lua_pcall with a valid state.
    unsafe { ffi::luaL_openlibs(l) };
    #[cfg(feature = "luau")]
    // SAFETY: as above; this function owns nothing that needs dropping.
    crate::luau::open_package_library(unsafe { State::new(l) }, unsafe { CanRaise::assume() });
    #[cfg(feature = "luau")]
    // SAFETY: as above.
    crate::luau::replace_traceback(unsafe { State::new(l) }, unsafe { CanRaise::assume() });
    #[cfg(feature = "luau")]
    // SAFETY: as above.
    crate::luau_hook::install(unsafe { State::new(l) }, unsafe { CanRaise::assume() });
    if !flavour::COMPAT_MATH_FUNCTIONS.is_empty() {
        // SAFETY: as above; this function owns nothing that needs dropping.
        drop_compat_math_functions(unsafe { State::new(l) }, unsafe { CanRaise::assume() });
    }
    // SAFETY: as above.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    // (The checked `debug.sethook` first: the limits' guard wraps whatever is installed.)
    crate::debug_hooks::install(st, raise);
    crate::limits::guard_debug_sethook(st, raise);
    crate::main_thread::install(st, raise);
    crate::coroutine_depth::install(st, raise);
    #[cfg(not(feature = "luau"))]
    crate::strlib::install(st, raise);
    crate::c_loops::install(st, raise);
    #[cfg(feature = "luajit")]
    crate::jit::guard_jit_on(st, raise);
    0
}

/// Removes `flavour::COMPAT_MATH_FUNCTIONS` from `math` (runs inside `open_libraries`'
/// protected call).
fn drop_compat_math_functions(st: State, raise: CanRaise) {
    st.push_globals();
    st.get_field(raise, -1, c"math");
    for name in flavour::COMPAT_MATH_FUNCTIONS {
        st.push_bytes(raise.create(), name);
        st.push_nil();
        st.raw_set(raise, -3);
    }
    st.pop(2);
}

/// Creates a state with the standard libraries opened.  Returns None if Lua cannot create it
/// (out of memory, or an allocator the Lua build rejects).
///
/// The garbage collector is left stopped: restart it (`State::gc_restart`) once the state is
/// set up.  Until then, nothing but an exhausted process can make a call raise.
pub fn open_state(config: &StateConfig<'_>) -> Option<State> {
    let data = config.data as *const StateData as *mut c_void;
    config.data.set_counts_memory(config.count_memory);
    #[cfg(feature = "luau")]
    if !config.count_memory {
        // Luau cannot replace a state's allocator afterwards (no `lua_setallocf`): the state
        // is made with ours in front of the C library's, as `luaL_newstate` would use.
        config
            .data
            .set_inner_alloc(crate::memory::system_alloc, std::ptr::null_mut());
    }
    let l = if config.count_memory {
        // SAFETY: the data outlives the state (its owner closes the state first).
        unsafe { flavour::new_state(accounting_alloc, data, config.hash_seed) }
    } else {
        #[cfg(feature = "luau")]
        // SAFETY: as above; the inner allocator is set.
        let l = unsafe { flavour::new_state(forwarding_alloc, data, config.hash_seed) };
        #[cfg(not(feature = "luau"))]
        let l = flavour::new_default_state();
        l
    };
    if l.is_null() {
        return None;
    }
    #[cfg(not(feature = "luau"))]
    if !config.count_memory {
        // Lua's own allocator, reached through ours, which makes the data findable.
        let mut inner = std::ptr::null_mut();
        // SAFETY: a fresh, valid state, not shared yet; the data outlives it.
        unsafe {
            let alloc = ffi::lua_getallocf(l, &mut inner);
            config.data.set_inner_alloc(alloc, inner);
            ffi::lua_setallocf(l, forwarding_alloc, data);
        }
    }
    // SAFETY: a fresh, valid state; it is not shared with anyone yet.
    let st = unsafe { State::new(l) };
    // SAFETY: valid state and handler.  (Luau, built with C++ exceptions, has no panic
    // function: an unprotected error terminates the process.)
    #[cfg(not(feature = "luau"))]
    unsafe {
        ffi::lua_atpanic(l, panic_handler)
    };
    // Everything made during initialisation stays alive: collecting while the libraries are
    // opened (Lua 5.4 ran several incremental cycles) is wasted work, about a tenth of the
    // cost of a runtime.  The creator restarts the collector when it is done.
    st.gc_stop();
    // SAFETY: initialisation, with the collector stopped and no limit (see `CanRaise`).
    let raise = unsafe { CanRaise::assume() };
    // LuaJIT learns the address range of this program's statics (`State::push_static`).
    st.push_static(&STATIC_ANCHOR);
    st.pop(1);

    st.push_cfunction(raise.create(), open_libraries);
    if st.pcall(0, 0, 0) != ffi::LUA_OK {
        // SAFETY: nobody else knows the state.
        unsafe { close_state(st) };
        return None;
    }
    if config.count_memory || flavour::FINALIZER_ERRORS_PROPAGATE {
        // A memory limit may be set later, or any allocation may raise a finalizer's error:
        // make `push_registered` allocation-free.  (Other states register on first use and
        // save the memory.)
        for f in REGISTERED_FUNCTIONS
            .iter()
            .chain(crate::flavour::REGISTERED_FUNCTIONS)
            .chain(config.registered)
        {
            st.register_cfunction(raise.create(), *f);
        }
    }
    st.set_top(0);
    Some(st)
}

/// A static of this program, pushed once per state (see `open_state`).
static STATIC_ANCHOR: u8 = 0;

/// Closes a state, running all pending finalizers.  From now on no other thread reaches the
/// state (`Limits::shut`); to give the finalizers a budget, `begin` one before.
///
/// # Safety
/// `st` is a main state (from `open_state`) that nobody uses afterwards.
pub unsafe fn close_state(st: State) {
    let Some(data) = StateData::of(st) else {
        flavour::prepare_close(st);
        // SAFETY: guaranteed by the caller.
        unsafe { ffi::lua_close(st.as_ptr()) };
        return;
    };
    flavour::prepare_close(st);
    data.limits.shut();
    // (Luau never gets its allocator swapped: it has no `lua_setallocf`.)
    #[cfg(feature = "luau")]
    // SAFETY: guaranteed by the caller.
    unsafe {
        ffi::lua_close(st.as_ptr())
    };
    #[cfg(not(feature = "luau"))]
    match data.forwarded_alloc() {
        // LuaJIT frees its arena only with its own allocator (see `shared::closing`).
        Some((alloc, ud)) if cfg!(feature = "luajit") => {
            crate::shared::closing::during(ud, data, || {
                // SAFETY: the state's original allocator; guaranteed by the caller.
                unsafe {
                    ffi::lua_setallocf(st.as_ptr(), alloc, ud);
                    ffi::lua_close(st.as_ptr());
                }
            });
        }
        // SAFETY: guaranteed by the caller.
        _ => unsafe { ffi::lua_close(st.as_ptr()) },
    }
}
