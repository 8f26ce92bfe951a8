//! Creating and closing Lua states.

use std::ffi::{c_int, c_void};

use super::protect::REGISTERED_FUNCTIONS;
use super::{State, ffi};
use crate::flavour;
use crate::memory::{MemoryAccount, accounting_alloc};

/// How to create a state.
pub(crate) struct StateConfig<'a> {
    /// Count allocations in this account (and apply its limit); None: Lua's own allocator.
    pub(crate) memory: Option<&'a MemoryAccount>,
    /// The string hash seed (honoured by Lua 5.5 only).
    pub(crate) hash_seed: Option<u32>,
    /// C functions outside this layer that are pushed with `push_cfunction_noalloc`.
    pub(crate) extra_functions: &'a [ffi::lua_CFunction],
}

/// Lua's last resort for errors outside any protected call.  This crate protects every call
/// that can raise, so reaching this is a bug; Lua aborts the process when it returns.
unsafe extern "C-unwind" fn panic_handler(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls the panic handler with a valid state and the error on top.
    let st = unsafe { State::new(l) };
    let message = match st.type_of(-1) {
        ffi::LUA_TSTRING => String::from_utf8_lossy(st.to_bytes(-1)).into_owned(),
        tag => format!("error object is a {} value", st.type_name(tag)),
    };
    eprintln!("PANIC: unprotected error in call to Lua API ({message})");
    0
}

unsafe extern "C-unwind" fn open_libraries(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by lua_pcall with a valid state.
    unsafe { ffi::luaL_openlibs(l) };
    if !flavour::COMPAT_MATH_FUNCTIONS.is_empty() {
        // SAFETY: as above.
        drop_compat_math_functions(unsafe { State::new(l) });
    }
    0
}

/// Removes `flavour::COMPAT_MATH_FUNCTIONS` from `math` (runs inside `open_libraries`'
/// protected call; owns no values that need dropping).
fn drop_compat_math_functions(st: State) {
    st.push_globals();
    st.get_field(-1, c"math");
    for name in flavour::COMPAT_MATH_FUNCTIONS {
        st.push_bytes(name);
        st.push_nil();
        st.raw_set(-3);
    }
    st.pop(2);
}

/// Creates a state with the standard libraries opened.  Returns None if Lua cannot create it
/// (out of memory, or an allocator the Lua build rejects).
///
/// The garbage collector is left stopped: restart it (`LUA_GCRESTART`) once the state is set
/// up.
pub(crate) fn open_state(config: &StateConfig<'_>) -> Option<State> {
    let l = match config.memory {
        // SAFETY: the account outlives the state (the runtime closes the state first).
        Some(account) => unsafe {
            flavour::new_state(
                accounting_alloc,
                account as *const MemoryAccount as *mut c_void,
                config.hash_seed,
            )
        },
        None => flavour::new_default_state(),
    };
    if l.is_null() {
        return None;
    }
    // SAFETY: a fresh, valid state; it is not shared with anyone yet.
    let st = unsafe { State::new(l) };
    // SAFETY: valid state and handler.
    unsafe { ffi::lua_atpanic(l, panic_handler) };
    // Everything made during initialisation stays alive: collecting while the libraries are
    // opened (Lua 5.4 ran several incremental cycles) is wasted work, about a tenth of the
    // cost of a runtime.  The creator restarts the collector when it is done.
    st.gc(ffi::LUA_GCSTOP);

    st.push_cfunction(open_libraries);
    if st.pcall(0, 0, 0) != ffi::LUA_OK {
        close_state(l);
        return None;
    }
    if config.memory.is_some() || flavour::FINALIZER_ERRORS_PROPAGATE {
        // A memory limit may be set later, or any allocation may raise a finalizer's error:
        // make `push_cfunction_noalloc` allocation-free.  (Other states register on first
        // use and save the memory.)
        for f in REGISTERED_FUNCTIONS.iter().chain(config.extra_functions) {
            st.register_cfunction(*f);
        }
    }
    st.set_top(0);
    Some(st)
}

/// Closes a state, running all pending finalizers.
pub(crate) fn close_state(l: *mut ffi::lua_State) {
    // SAFETY: `l` is a main state that nobody uses any more (callers hold the lock and forget
    // the pointer afterwards).
    unsafe { ffi::lua_close(l) }
}
