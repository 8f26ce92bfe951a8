//! `LuaRuntime(sandbox=True)`: a runtime whose Lua code is all untrusted.
//!
//! `sandbox.lua` trims the globals to the documented set (no `io`, `debug`, `package`,
//! `require`, `dofile`, `loadfile`, `collectgarbage`, `print`, the 5.1 environment functions,
//! `jit`, `ffi`, nor the `python` module; `string` without `dump`; `os` with only `time`,
//! `clock`, `date` and `difftime`), makes `load` (and `loadstring`) refuse bytecode, and hides
//! the metatables of strings and Python objects from scripts.  The other parts are elsewhere:
//! the host's `eval`/`execute`/`compile` refuse bytecode (api/runtime.rs), and Lua cannot
//! reach Python attributes whose names start with `_` (python_value/metatable.rs).
//!
//! On Luau, the script trims the globals the same way (Luau has no `load`, `loadstring` or
//! `string.dump` to begin with, and keeps `typeof`, `buffer` and `vector`), and then Luau's own
//! sandbox follows (`Op::SANDBOX`: `luaL_sandbox` and `luaL_sandboxthread`): the libraries,
//! the string metatable and the original global table become read-only, and the runtime's
//! global table is a new writable one that reads through to them.

use pyo3::prelude::*;
use safe_lua::sys::LUA_OK;

use crate::exceptions;
use crate::runtime::Lua;

/// Lua's own message for a binary chunk loaded in text mode.
pub(crate) const BINARY_CHUNK_REFUSED: &[u8] = b"attempt to load a binary chunk (mode is 't')";

const SCRIPT: &str = include_str!("sandbox.lua");

/// Applies the sandbox to a runtime being initialised (before any other Lua code runs).
pub(crate) fn apply(py: Python<'_>, lua: &Lua<'_>) -> PyResult<()> {
    let st = lua.st;
    let top = st.top();
    let mut status = st.load(SCRIPT.as_bytes(), c"=sandbox", Some(c"t"));
    if status == LUA_OK {
        st.push_reference(lua.core.refs.get().pobject_metatable);
        status = st.pcall(1, 0, 0);
    }
    #[cfg(feature = "luau")]
    if status == LUA_OK {
        st.set_top(top);
        status = st.protected(safe_lua::Op::SANDBOX, std::ptr::null_mut(), 0, 0, 0);
    }
    if status != LUA_OK {
        let message = String::from_utf8_lossy(&st.to_text(-1).unwrap_or_default()).into_owned();
        st.set_top(top);
        return Err(exceptions::lua_error(
            py,
            format!("cannot set up the sandbox: {message}"),
        ));
    }
    st.set_top(top);
    Ok(())
}
