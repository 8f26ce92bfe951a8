//! lupa-rs: Lua and LuaJIT inside CPython, a drop-in replacement for the `lupa` package.
//!
//! This crate is compiled once per Lua flavour into the extension module `lupa.<flavour>`
//! (see `setup.py` and ARCHITECTURE.md).  Module map:
//!
//! * `lua/`: the Lua safety layer, the only place that calls the raw Lua C API.
//! * `flavour.rs`: everything that differs between Lua versions.
//! * `core.rs`, `lock.rs`, `context.rs`: a runtime's state, its lock, and the context in which
//!   Python code may use it.
//! * `runtime.rs`, `options.rs`, `table_from.rs`, `memory.rs`: the `LuaRuntime` class.
//! * `convert.rs`, `overflow.rs`: value conversion.
//! * `lua_value/`: Lua values seen from Python.
//! * `pyobject.rs`, `metamethods.rs`, `callback.rs`, `pyprotocol.rs`, `pyargs.rs`: Python
//!   values seen from Lua.
//! * `pylib.rs`: the `python` module inside Lua.
//! * `errors.rs`: exception classes and the mapping of Lua errors.

mod callback;
mod chunk_cache;
mod context;
mod convert;
mod core;
mod errors;
mod flavour;
mod lock;
mod lua;
mod lua_value;
mod memory;
mod metamethods;
mod module;
mod options;
mod overflow;
mod pyargs;
mod pyhelpers;
mod pylib;
mod pyobject;
mod pyprotocol;
mod runtime;
mod stack;
mod table_from;

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
    all(not(feature = "module-name-lua"), feature = "luajit"),
    pyo3::pymodule(gil_used = true, name = "luajit21")
)]
fn lupa_flavour(m: &Bound<'_, PyModule>) -> PyResult<()> {
    module::init(m)
}
