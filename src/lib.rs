//! lupa-rs: Lua, LuaJIT and Luau inside CPython, a drop-in replacement for the `lupa` package.
//!
//! This crate is compiled once per Lua flavour into the extension module `lupa.<flavour>`
//! (see `setup.py` and ARCHITECTURE.md).  The Lua C API is reached only through the
//! `safe-lua` crate.  The modules form layers; each uses only the ones listed before it
//! (`.ci/check_layers.py` fails on a cycle):
//!
//! * `module_name`, `pyhelpers`, `text`, `gc`, `exceptions`: small leaves (the flavour's
//!   module name, CPython calls, codecs, the cycle collector's traversal, exception classes).
//! * `runtime/`: a Lua state with its lock, the context in which Python uses it, options,
//!   compiled-chunk cache and the table of Python objects that Lua holds.
//! * `convert/`: how values of one language are represented in the other, both ways: pushing
//!   and pulling values, the userdata of Python objects, the wrapper objects of Lua values,
//!   Lua errors as Python exceptions, `table_from`.
//! * `lua_value/`: Lua values seen from Python: the protocols of the wrapper classes.
//! * `python_value/`: Python values seen from Lua: the metatable of Python objects, the call
//!   bridge, the `python` module in Lua.
//! * `api/`: the module's contents as Python sees them: `LuaRuntime`, `FastRLock`, functions.

mod api;
mod convert;
mod exceptions;
mod gc;
mod lua_value;
mod module_name;
mod pyhelpers;
mod python_value;
mod runtime;
mod text;

use pyo3::prelude::*;

#[cfg_attr(
    feature = "module-name-lua",
    pyo3::pymodule(gil_used = true, name = "lua")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "lua51"),
    pyo3::pymodule(gil_used = true, name = "lua51")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "lua52"),
    pyo3::pymodule(gil_used = true, name = "lua52")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "lua53"),
    pyo3::pymodule(gil_used = true, name = "lua53")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "lua54"),
    pyo3::pymodule(gil_used = true, name = "lua54")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "lua55"),
    pyo3::pymodule(gil_used = true, name = "lua55")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "luajit20"),
    pyo3::pymodule(gil_used = true, name = "luajit20")
)]
#[cfg_attr(
    all(
        not(feature = "module-name-lua"),
        feature = "luajit",
        not(feature = "luajit20")
    ),
    pyo3::pymodule(gil_used = true, name = "luajit21")
)]
#[cfg_attr(
    all(not(feature = "module-name-lua"), feature = "luau"),
    pyo3::pymodule(gil_used = true, name = "luau")
)]
fn lupa_flavour(m: &Bound<'_, PyModule>) -> PyResult<()> {
    api::init(m)
}
