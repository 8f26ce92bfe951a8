//! Lua values seen from Python: the protocols of the wrapper classes (`convert/wrapper.rs`
//! defines them): `_LuaObject` (call, `len`, `bool`, `repr`, `str`, attribute and item
//! reads), `_LuaTable` (a mapping), `_LuaFunction`, `_LuaCoroutineFunction`, `_LuaThread` (a
//! generator), and `_LuaIter`, the iterator over tables.
//!
//! The hottest operations also have hand-written type slots (`*_slot`), which api/ installs.

mod function;
mod iter;
mod object;
mod table;
mod thread;

pub(crate) use iter::{LuaIter, next_slot};
pub(crate) use object::{
    call_slot, getattr_method, getattr_slot, init_attribute_lookup, item_slot, length_slot,
};
pub(crate) use table::setitem_slot;
