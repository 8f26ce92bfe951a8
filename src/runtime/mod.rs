//! A Lua runtime as the rest of the crate uses it: one Lua state with its lock, and the
//! context in which Python code may use it.
//!
//! * `core.rs`: `Core` (the state, its lock, how the GIL stands while Lua runs, the registry
//!   references of the runtime's own objects) and `LuaRuntime`, the Python object that owns a
//!   core (its methods are in `api/`).
//! * `lock.rs`: the reentrant runtime lock, waited on with the GIL released.
//! * `context.rs`: `Lua`, the context of a thread that holds the lock: protected operations,
//!   calls with the GIL released, the stack guard.
//! * `options.rs`: the constructor's arguments; `chunk_cache.rs`: compiled `eval`/`execute`
//!   code; `pyrefs.rs`: the Python objects Lua holds, for Python's cycle collector;
//!   `identity_cache.rs`: keeping the cache of Python object userdata small;
//!   `live_cores.rs`: which cores exist (Lua code can forge a pointer); `stack.rs`: the C stack
//!   guard of every entry into Lua; `limits.rs`: the budgets of entries (time, instructions),
//!   Ctrl-C, and the exceptions of limits; `deferred.rs`: Python objects of userdata that
//!   Luau's collector destroyed, released later.
//!
//! A Lua error object becomes a Python exception by the conversions above this layer (a
//! table becomes a wrapper); the core holds that conversion as a function (`ErrorConverter`).

mod chunk_cache;
mod context;
mod core;
mod deferred;
mod gil;
mod identity_cache;
mod limits;
mod live_cores;
mod lock;
mod options;
mod pyrefs;
mod stack;

pub(crate) use chunk_cache::{ChunkCache, ChunkKind};
pub(crate) use context::{BaseSlots, ErrorConverter, Lua};
pub(crate) use core::{Core, LuaRuntime, PyHandlers, Refs};
pub(crate) use deferred::DeferredReleases;
pub(crate) use gil::{GilCell, LuaGil};
pub(crate) use identity_cache::compact_cache_op;
pub(crate) use limits::{LimitValues, RuntimeLimits, remember_main_thread};
pub(crate) use live_cores::{forget_core, is_live_core, remember_core};
pub(crate) use lock::{Handoff, RuntimeLock};
pub(crate) use options::{Encoding, Options, RuntimeArgs, to_size_t};
pub(crate) use pyrefs::PyRefTable;
pub(crate) use stack::has_room as has_stack_room;
