//! The Lua C API for Rust code that must never be unwound through.
//!
//! Lua reports errors with `longjmp` (PUC Lua) or a foreign unwind (LuaJIT).  Either one
//! skips the destructors of any Rust frame it crosses, and a foreign unwind that reaches a
//! `catch_unwind` aborts the process.  This crate is the only code that names the raw API
//! (`mlua-sys`); it makes the raising calls impossible to make by accident:
//!
//! * [`State`] offers the calls that never raise, each documented with its stack effect in
//!   the manual's notation `[-o, +p, x]`.
//! * Calls that can raise need a capability token ([`token`]): [`CanRaise`] for any error
//!   (metamethods, `next`, a collection), [`CanCreate`] for creating objects (strings, tables,
//!   userdata, closures, threads), [`CanGrow`] for growing existing ones (table slots,
//!   references, the stack).  `CanRaise` is only handed to code that runs with no Rust frame
//!   to skip: the protected operations ([`Op`], run by `lua_pcall`) and other raw C functions,
//!   which claim it with `unsafe`.  The other two come from a check of the runtime's memory
//!   account ([`MemoryAccount::can_create`]): without a memory limit, and where a collection
//!   step cannot re-throw a finalizer's error, an allocation only fails when the whole process
//!   is out of memory, which ends like any other failed allocation.
//! * Every other Lua C function of a program goes through [`run_c_function`]: its Rust body
//!   runs to completion under `catch_unwind` and reports failure as a [`Raise`], which owns
//!   nothing; only then is the Lua error raised.
//!
//! Also here: `string.find`, `match`, `gmatch` and `gsub` with `lua-patterns`' matcher, which
//! the limits can stop (`strlib`, installed by [`open_state`]); what differs between the Lua
//! flavours ([`flavour`]), creating and closing states
//! ([`open_state`]), the accounting allocator behind memory limits ([`memory`]) and raising an
//! error inside a suspended coroutine ([`State::raise_on_resume`]).  No Python in sight: the
//! crate has its own tests (`cargo test -p safe-lua --features lua54,vendored`).

// (For `strlib` only, which Luau does without.)
#[cfg(not(feature = "luau"))]
mod auxlib;
mod c_loops;
mod cfunction;
mod coroutine_depth;
pub mod cstack;
mod debug_hooks;
pub mod flavour;
mod inject;
pub mod jit;
mod lifecycle;
pub mod limits;
#[cfg(feature = "luau")]
mod luau;
#[cfg(feature = "luau")]
mod luau_hook;
mod main_thread;
pub mod memory;
mod protect;
mod shared;
mod state;
// Luau keeps its own pattern functions: its matcher calls the interrupt callback at every
// step, which is where the limits live on Luau (`limits/interrupt.rs`).
#[cfg(not(feature = "luau"))]
mod strlib;
pub mod sys;
pub mod token;

pub use cfunction::{Message, Raise, run_c_function};
pub use lifecycle::{StateConfig, close_state, open_state};
pub use limits::{Budget, Limits, Trip};
#[cfg(feature = "luau")]
pub use luau::CompileOptions;
pub use memory::MemoryAccount;
#[cfg(not(feature = "luau"))]
pub use options::CompileOptions;
pub use protect::{ByteSlice, Op, keep_error};
pub use shared::StateData;
pub use state::{Marker, State};
pub use token::{CanCreate, CanGrow, CanRaise};

/// The destructor of a finalized userdata (see `State::set_userdata_destructor`): called with
/// the state and the userdata's memory.  It must not unwind.
pub type Destructor = unsafe extern "C" fn(*mut sys::lua_State, *mut std::ffi::c_void);

#[cfg(not(feature = "luau"))]
mod options {
    /// Luau's compiler settings (see the `luau` flavour); the other flavours have none and
    /// ignore them.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CompileOptions {
        pub optimization_level: u8,
        pub debug_level: u8,
    }

    impl Default for CompileOptions {
        /// Luau's defaults, as on the `luau` flavour.
        fn default() -> Self {
            CompileOptions {
                optimization_level: 1,
                debug_level: 1,
            }
        }
    }

    impl CompileOptions {
        /// The highest level of either setting.
        pub const MAX_LEVEL: u8 = 2;
    }
}
