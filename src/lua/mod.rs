//! The Lua safety layer: the only place that calls the raw Lua C API.
//!
//! * `state.rs`: `State`, a handle with one method per C API call we use, each documented with
//!   its stack effect and whether it can raise.
//! * `protect.rs`: operations that can raise a Lua error, run inside `lua_pcall` when they are
//!   started from Python (ARCHITECTURE.md, rules 2 and 3).
//! * `callback.rs`: the trampoline every `lua_CFunction` of this crate goes through (rule 1):
//!   Rust code runs under `catch_unwind`, and the Lua error is raised only after every Rust
//!   value has been dropped.
//! * `lifecycle.rs`: creating and closing states.
//! * `inject.rs`: raising an error inside a suspended coroutine (`throw()`).

pub(crate) use mlua_sys as ffi;

mod callback;
mod inject;
mod lifecycle;
mod protect;
mod state;

pub(crate) use callback::{Message, Raise, run_c_function};
pub(crate) use lifecycle::{StateConfig, close_state, open_state};
pub(crate) use protect::ByteSlice;
pub(crate) use protect::{Op, keep_error};
pub(crate) use state::State;
