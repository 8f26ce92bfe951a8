//! How values of one language are represented in the other, both ways.
//!
//! * `push.rs` / `pull.rs`: Python values pushed into Lua, Lua values pulled into Python, as
//!   methods of the `Lua` context (`lua.push(py, obj)`, `lua.to_python(py, idx)`).
//! * `userdata.rs`: a Python object in Lua is a userdata that owns a reference to it, one per
//!   object and protocol (`protocol.rs`: `as_attrgetter`/`as_itemgetter` choose it).
//! * `wrapper.rs`: a Lua value in Python is a wrapper object holding a registry reference
//!   (the wrapper classes' protocols are in `lua_value/`).
//! * `lua_error.rs`: a Lua error object as a Python exception.
//! * `overflow.rs`: ints too large for Lua, through the runtime's overflow handler.
//! * `table_from.rs`: Lua tables built from Python containers; `unpack.rs`: a Lua table read
//!   as call arguments.
//!
//! These need each other (a pushed wrapper is unwrapped, a pulled userdata gives its object,
//! a table becomes a wrapper), so they form one layer.

mod deep;
mod lua_error;
mod lua_frames;
mod overflow;
mod protocol;
mod pull;
mod push;
mod table_from;
mod unpack;
pub(crate) mod userdata;
mod wrapper;

pub(crate) use deep::{DeepOptions, EmptyTable, to_python_deep};
pub(crate) use lua_error::error_from;
pub(crate) use overflow::set_handler as set_overflow_handler;
pub(crate) use protocol::{PyProtocolWrapper, as_attrgetter, as_itemgetter};
pub(crate) use push::NoneAs;
pub(crate) use table_from::{table, table_from};
pub(crate) use unpack::{TableArguments, unpack_table};
pub(crate) use userdata::{Flags, UserdataInfo};
#[cfg(feature = "luau")]
pub(crate) use wrapper::wrap;
pub(crate) use wrapper::{
    LuaCoroutineFunction, LuaFunction, LuaObject, LuaTable, LuaThread, new_thread_wrapper,
};
