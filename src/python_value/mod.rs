//! Python values seen from Lua: what Lua code can do with the userdata of a Python object
//! (`convert/userdata.rs` makes them).
//!
//! * `metatable.rs`: the shared metatable (`__index`, `__newindex`, `__call`, `__tostring`,
//!   `__gc`), with upstream's choice between the item and attribute protocols.
//! * `bridge.rs`: the Python side of every C function Lua calls (the GIL, exceptions), and
//!   calls of Python callables with Lua arguments.
//! * `pylib.rs`: the `python` module in Lua; `args.rs`: `python.args{...}`.

mod args;
mod bridge;
mod metatable;
mod pylib;

pub(crate) use args::PyArguments;
pub(crate) use metatable::create_metatable;
pub(crate) use pylib::{iter_next, open as open_python_module};
