//! `LuaRuntime`'s Python methods, and how a runtime is created.

use std::ffi::CString;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString, PyTuple};
use pyo3::{PyTraverseError, gc::PyVisit};
use safe_lua::sys::{LUA_OK, LUA_TNIL, LUA_TTABLE, lua_CFunction};
use safe_lua::{CanRaise, MemoryAccount, Op, StateConfig, open_state};

use super::limits::LuaLimits;
use super::sandbox;

use crate::convert::{self, Flags, userdata};
use crate::exceptions::{self, ErrorKind};
use crate::gc::Traverse;
use crate::pyhelpers::Flag;
use crate::python_value;
use crate::runtime::{
    BaseSlots, ChunkCache, ChunkKind, Core, Lua, LuaRuntime, PyHandlers, Refs, RuntimeArgs,
    RuntimeLimits,
};

/// The C functions outside safe-lua that are pushed with `State::push_registered`: the
/// protected operations of the layers above it and the step function of `python.iter` loops.
const REGISTERED: &[lua_CFunction] = &[
    userdata::new_userdata_op,
    crate::runtime::compact_cache_op,
    python_value::iter_next,
];

/// Creates the Lua state of a new runtime and sets up the `python` module.
fn create_core(py: Python<'_>, args: RuntimeArgs) -> PyResult<Box<Core>> {
    let core = Core::new(
        args.options,
        RuntimeLimits::new(args.limits),
        convert::error_from,
    );
    let config = StateConfig {
        registered: REGISTERED,
        data: &core.data,
        count_memory: args.max_memory.is_some() || args.string_hash_seed.is_some(),
        hash_seed: args.string_hash_seed,
    };
    let st = open_state(&config)
        .ok_or_else(|| exceptions::lua_error(py, "Failed to initialise Lua runtime"))?;
    core.set_main_state(st.as_ptr());
    // LuaJIT's compiler does not survive failing allocations, and its traces escape limits.
    if core.data.account().is_some() || core.limits.any() {
        safe_lua::jit::forbid(st, &core.data, true);
    }
    core.handlers.replace(
        py,
        PyHandlers {
            attribute_filter: args.attribute_filter,
            attribute_getter: args.attribute_getter,
            attribute_setter: args.attribute_setter,
        },
    );
    let initialised = core.enter(py).and_then(|lua| {
        // SAFETY: initialisation of a state nobody else knows yet, with its collector stopped
        // (`open_state`) and no memory limit (it is applied below): nothing raises.
        initialise(py, &lua, unsafe { CanRaise::assume() })?;
        if let Some(handler) = &args.overflow_handler {
            convert::set_overflow_handler(py, &lua, Some(handler.bind(py)))?;
        }
        if lua.core.options.sandbox {
            sandbox::apply(py, &lua)?;
        }
        lua.st.gc_restart();
        Ok(())
    });
    if let Err(err) = initialised {
        // Nobody else knows the state yet: close it, releasing what it holds.
        core.close(py);
        return Err(err);
    }
    if let (Some(memory), Some(max_memory)) = (core.data.account(), args.max_memory) {
        memory.finish_initialisation(max_memory);
    }
    Ok(core)
}

/// Registry entries, the Python object metatable and the `python` module.
fn initialise(py: Python<'_>, lua: &Lua<'_>, raise: CanRaise) -> PyResult<()> {
    let st = lua.st;
    // (Luau destroys userdata with a destructor instead of `__gc`.)
    st.set_userdata_destructor(userdata::destroy_userdata);
    let pobject_metatable = python_value::create_metatable(st, raise);
    // The identity cache: weak values, so that it never keeps a userdata alive.
    st.new_table(raise.create(), 0, 0);
    st.new_table(raise.create(), 0, 1);
    st.push_str(raise.create(), "v");
    st.set_field(raise, -2, c"__mode");
    st.set_metatable(-2);
    let identity_cache = st.reference(raise.grow());
    st.push_bool(false);
    let overflow_handler = st.reference(raise.grow());
    lua.core.refs.set(Refs {
        pobject_metatable,
        identity_cache,
        overflow_handler,
        ..Refs::default()
    });
    userdata::push_pyobject(py, lua, &py.None().into_bound(py), Flags::NONE)?;
    let none = st.reference(raise.grow());
    lua.core.refs.set(Refs {
        none,
        ..lua.core.refs.get()
    });
    python_value::open_python_module(py, lua, raise)?;
    BaseSlots::push(st, raise.create());
    Ok(())
}

/// Lua source code or a chunk name: `str` (encoded with the source encoding), `bytes` or
/// `bytearray`.
fn source_bytes(core: &Core, value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(s) = value.cast::<PyString>() {
        let codec = core.options.source_encoding.codec().unwrap_or(c"utf-8");
        return Ok(if codec == c"utf-8" {
            s.to_str()?.as_bytes().to_vec()
        } else {
            crate::text::encode_with(s, codec)?.as_bytes().to_vec()
        });
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(b) = value.cast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    Err(PyTypeError::new_err(format!(
        "Expected string, got {}",
        value.get_type().repr()?
    )))
}

/// The `mode=` argument: an ASCII string (validated like an encoding name).
fn load_mode(mode: Option<&Bound<'_, PyAny>>) -> PyResult<Option<CString>> {
    let Some(mode) = mode.filter(|m| !m.is_none()) else {
        return Ok(None);
    };
    let raw = crate::text::ascii_name(mode)?;
    Ok(Some(CString::new(raw).map_err(|_| {
        PyValueError::new_err("embedded null character")
    })?))
}

/// How load errors are reported.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LoadErrors {
    /// `eval`/`execute`: `LuaSyntaxError("error loading code: ...")`.
    Prefixed,
    /// `compile`: `LuaSyntaxError(message)`, with a bytes message when `encoding=None`.
    Plain,
}

impl LuaRuntime {
    /// Enters the runtime from Python (records the Python object for wrappers).
    #[inline]
    fn enter<'a>(slf: &'a Bound<'_, Self>) -> PyResult<Lua<'a>> {
        let core = &slf.get().core;
        core.set_owner(slf.as_ptr());
        core.enter(slf.py())
    }

    /// Loads a chunk and pushes the function.  `[-0, +1]`
    fn load(
        lua: &Lua<'_>,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        prefix: &[u8],
        name: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
        errors_as: LoadErrors,
    ) -> PyResult<()> {
        let core = lua.core;
        let code = source_bytes(core, code)?;
        // In a sandbox, bytecode is refused (Lua does not verify it: a crafted chunk can
        // corrupt memory); `eval`'s prefix would only hide it.
        let binary = core.options.sandbox && safe_lua::flavour::is_binary_chunk(&code);
        let mut source = prefix.to_vec();
        source.extend_from_slice(&code);
        let name = match name.filter(|n| !n.is_none()) {
            Some(name) => source_bytes(core, name)?,
            None => b"<python>".to_vec(),
        };
        // Cut at a NUL byte, as upstream's C string does.
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        let name = CString::new(&name[..end]).expect("no NUL byte left");
        let mode = load_mode(mode)?;
        let mode = if safe_lua::flavour::HONOURS_LOAD_MODE {
            mode
        } else {
            None
        };
        lua.ensure_stack(py, 1)?;
        let st = lua.st;
        let bytes = if binary {
            sandbox::BINARY_CHUNK_REFUSED.to_vec()
        } else {
            let compile = &core.options.compile;
            let status = st.load_with_options(&source, &name, mode.as_deref(), compile);
            if status == LUA_OK {
                return Ok(());
            }
            if st.marker_at(-1).is_some() {
                return Err(lua.pop_error(py, status));
            }
            let bytes = st.to_text(-1).unwrap_or_default();
            st.pop(1);
            bytes
        };
        let message = lua.decode_message(py, &bytes);
        let memory = match errors_as {
            LoadErrors::Prefixed => message.starts_with("not enough memory"),
            LoadErrors::Plain => exceptions::is_memory_message(&message),
        };
        let bytes_message = errors_as == LoadErrors::Plain
            && core.options.encoding == crate::runtime::Encoding::Bytes;
        if memory && bytes_message {
            let message = PyBytes::new(py, &bytes).unbind();
            return Err(exceptions::new_error(py, ErrorKind::Memory, message));
        }
        if memory {
            return Err(exceptions::new_error(py, ErrorKind::Memory, message));
        }
        let lineno = if binary {
            None
        } else {
            Self::syntax_error_line(lua, &source, mode.as_deref())
        };
        #[cfg(not(feature = "luau"))]
        let incomplete = exceptions::is_incomplete_input(&bytes);
        #[cfg(feature = "luau")]
        let incomplete = exceptions::is_incomplete_luau_input(&bytes, &source, lineno);
        let details = exceptions::SyntaxDetails { lineno, incomplete };
        let message: Py<PyAny> = match errors_as {
            LoadErrors::Prefixed => format!("error loading code: {message}")
                .into_pyobject(py)?
                .into_any()
                .unbind(),
            LoadErrors::Plain if bytes_message => PyBytes::new(py, &bytes).into_any().unbind(),
            LoadErrors::Plain => message.into_pyobject(py)?.into_any().unbind(),
        };
        Err(exceptions::syntax_error(py, message, details))
    }

    /// The line of a syntax error in `source`, as Lua reports it in the message.
    ///
    /// The message starts with Lua's id of the chunk name (`[string "..."]`, a file name, the
    /// text after `=`), which can itself contain `:3:`; so instead of guessing where the id
    /// ends, the source is loaded again under the empty name `=`, whose id is empty: the
    /// message is then `:LINE: ...`.  Only failed loads pay for it; the parse is repeated with
    /// the memory limit lifted (it is the host's, and its garbage is collectable at once), so
    /// that a runtime near its limit still reports the line.
    fn syntax_error_line(
        lua: &Lua<'_>,
        source: &[u8],
        mode: Option<&std::ffi::CStr>,
    ) -> Option<u32> {
        let st = lua.st;
        let status = safe_lua::memory::with_limit_lifted(st, || st.load(source, c"=", mode));
        let bytes = st.to_text(-1).unwrap_or_default();
        st.pop(1);
        if status == LUA_OK {
            return None;
        }
        exceptions::line_of_anonymous_error(&bytes)
    }

    /// Loads and runs a chunk with `args` as its `...`.
    fn run(
        slf: &Bound<'_, Self>,
        code: &Bound<'_, PyAny>,
        prefix: &[u8],
        args: &Bound<'_, PyTuple>,
        name: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let lua = Self::enter(slf)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, args.len() + 2)?;
        lua.push_traceback_handler(py);
        let func = lua.st.top() + 1;
        let kind = if prefix.is_empty() {
            ChunkKind::Execute
        } else {
            ChunkKind::Eval
        };
        let chunks = &lua.core.chunks;
        if name.is_none() && mode.is_none() && ChunkCache::accepts(&lua, code) {
            if !chunks.push(py, &lua, kind, code) {
                Self::load(&lua, py, code, prefix, None, None, LoadErrors::Prefixed)?;
                chunks.insert(py, &lua, kind, code)?;
            }
        } else {
            Self::load(&lua, py, code, prefix, name, mode, LoadErrors::Prefixed)?;
        }
        for arg in args.iter() {
            lua.push(py, &arg)?;
        }
        let n = lua.pcall(py, func)?;
        lua.results_to_python(py, func, n)
    }

    fn memory(&self) -> Option<&MemoryAccount> {
        self.core.data.account()
    }
}

#[pymethods]
impl LuaRuntime {
    /// A runtime cannot be copied or pickled (upstream's message).
    fn __reduce__(&self) -> PyResult<()> {
        Err(exceptions::not_reducible())
    }

    #[new]
    #[pyo3(signature = (*args, **kwargs))]
    fn new(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let args = RuntimeArgs::parse(py, args, kwargs)?;
        Ok(LuaRuntime {
            core: create_core(py, args)?,
        })
    }

    /// Evaluates a Lua expression and returns its value(s); `args` are available as `...`.
    #[pyo3(signature = (lua_code, *args, name = None, mode = None))]
    fn eval(
        slf: &Bound<'_, Self>,
        lua_code: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        name: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        Self::run(slf, lua_code, b"return ", args, name, mode)
    }

    /// Executes a Lua chunk and returns what it returns; `args` are available as `...`.
    #[pyo3(signature = (lua_code, *args, name = None, mode = None))]
    fn execute(
        slf: &Bound<'_, Self>,
        lua_code: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        name: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        Self::run(slf, lua_code, b"", args, name, mode)
    }

    /// Compiles a Lua chunk into a function without running it.
    #[pyo3(signature = (lua_code, name = None, mode = None))]
    fn compile(
        slf: &Bound<'_, Self>,
        lua_code: &Bound<'_, PyAny>,
        name: Option<&Bound<'_, PyAny>>,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let lua = Self::enter(slf)?;
        let _guard = lua.stack_guard();
        Self::load(&lua, py, lua_code, b"", name, mode, LoadErrors::Plain)?;
        Ok(lua.to_python(py, -1)?.unbind())
    }

    /// Calls Lua's `require(modulename)`.
    fn require(slf: &Bound<'_, Self>, modulename: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if !modulename.is_instance_of::<PyString>() && !modulename.is_instance_of::<PyBytes>() {
            return Err(PyTypeError::new_err("modulename must be a string"));
        }
        let py = slf.py();
        let lua = Self::enter(slf)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 4)?;
        let st = lua.st;
        lua.push_traceback_handler(py);
        let func = st.top() + 1;
        st.push_globals();
        if st.type_of(-1) != LUA_TTABLE {
            // Lua code replaced the globals table in the registry.
            return Err(exceptions::lua_error(py, "require is not defined"));
        }
        lua.push_bytes(py, b"require")?;
        st.raw_get(-2);
        st.remove(-2);
        if st.type_of(-1) == LUA_TNIL {
            return Err(exceptions::lua_error(py, "require is not defined"));
        }
        lua.push(py, modulename)?;
        let n = lua.pcall(py, func)?;
        lua.results_to_python(py, func, n)
    }

    /// The table of global variables (`_G`).
    fn globals(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let lua = Self::enter(slf)?;
        let _guard = lua.stack_guard();
        lua.ensure_stack(py, 1)?;
        lua.st.push_globals();
        Ok(lua.to_python(py, -1)?.unbind())
    }

    /// A new Lua table with `items` at indices 1..n and `kwargs` as string keys.
    #[pyo3(signature = (*items, **kwargs))]
    fn table(
        slf: &Bound<'_, Self>,
        items: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let lua = Self::enter(slf)?;
        convert::table(slf.py(), &lua, items, kwargs)
    }

    /// A new Lua table filled from mappings (key/value pairs) and iterables (appended values).
    /// With `recursive=True`, nested lists/dicts (any Sequence/Mapping) become tables too.
    #[pyo3(signature = (*args, recursive = Flag(false)), text_signature = "(self, *args, recursive=False)")]
    fn table_from(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        recursive: Flag,
    ) -> PyResult<Py<PyAny>> {
        let Flag(recursive) = recursive;
        let lua = Self::enter(slf)?;
        convert::table_from(slf.py(), &lua, args, recursive)
    }

    /// A context manager that stops Lua's garbage collector inside its block.
    fn nogc(slf: &Bound<'_, Self>) -> PyResult<LuaNoGC> {
        Ok(LuaNoGC {
            runtime: slf.clone().unbind(),
        })
    }

    /// Runs a full Lua garbage collection.
    fn gccollect(slf: &Bound<'_, Self>) -> PyResult<()> {
        let py = slf.py();
        let lua = Self::enter(slf)?;
        let st = lua.st;
        // Finalizers run Lua code (and may call Python): protected, without the GIL.
        let _guard = lua.stack_guard();
        let handler = lua.push_traceback_handler(py);
        let status = lua.without_gil(py, move || {
            st.protected(Op::GC_COLLECT, std::ptr::null_mut(), 0, 0, handler)
        });
        if status != LUA_OK {
            return Err(lua.pop_error(py, status));
        }
        Ok(())
    }

    /// Sets the memory limit in bytes (0: none), relative to the runtime's own base usage
    /// unless `total` is true.  Only for runtimes created with `max_memory`.
    #[pyo3(signature = (max_memory, total = Flag(false)), text_signature = "(self, max_memory, total=False)")]
    fn set_max_memory(&self, max_memory: &Bound<'_, PyAny>, total: Flag) -> PyResult<()> {
        let Flag(total) = total;
        let limit = crate::runtime::to_size_t(max_memory)?;
        match self.memory() {
            Some(memory) => {
                memory.set_limit(limit, total);
                Ok(())
            }
            _ => Err(PyRuntimeError::new_err(
                "max_memory must be set on LuaRuntime creation",
            )),
        }
    }

    /// A context manager: the runtime's calls inside the block (every outermost call from
    /// Python begun there, in any thread) run with these limits too; the tightest active
    /// limit wins.
    #[pyo3(signature = (*, timeout = None, max_instructions = None))]
    fn limits(
        slf: &Bound<'_, Self>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_instructions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LuaLimits> {
        LuaLimits::new(slf, timeout, max_instructions)
    }

    /// Closes the runtime now: its Lua state is freed (finalizers run, and the Python objects
    /// Lua held are released).  Afterwards every use of the runtime and of its tables,
    /// functions, coroutines and iterators raises `LuaError`.  Closing twice is fine; closing
    /// from inside a call of this runtime raises `LuaError`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.core.close_from_python(py)
    }

    /// `with LuaRuntime() as lua:` closes the runtime at the end of the block.
    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.core.close_from_python(py)?;
        Ok(false)
    }

    /// Stops the Lua code this runtime runs right now (it raises `LuaInterruptError`), from
    /// any thread, without waiting for the runtime.  No effect when no Lua code runs.
    fn interrupt(&self) {
        self.core.data.limits.interrupt();
    }

    /// The memory limit in bytes (0: none), or None without memory accounting.
    #[pyo3(signature = (total = Flag(false)), text_signature = "(self, total=False)")]
    fn get_max_memory(&self, total: Flag) -> PyResult<Option<usize>> {
        let Flag(total) = total;
        Ok(self.memory().map(|m| m.limit(total)))
    }

    /// Memory used by Lua in bytes (excluding the runtime's base usage unless `total`), or
    /// None without memory accounting.
    #[pyo3(signature = (total = Flag(false)), text_signature = "(self, total=False)")]
    fn get_memory_used(&self, total: Flag) -> PyResult<Option<usize>> {
        let Flag(total) = total;
        Ok(self.memory().map(|m| m.used(total)))
    }

    /// Sets the handler for Python ints too large for Lua (None removes it).
    fn set_overflow_handler(
        slf: &Bound<'_, Self>,
        overflow_handler: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let handler = if overflow_handler.is_none() {
            None
        } else if overflow_handler.is_callable() {
            Some(overflow_handler)
        } else {
            return Err(PyValueError::new_err("overflow_handler must be callable"));
        };
        let lua = Self::enter(slf)?;
        convert::set_overflow_handler(slf.py(), &lua, handler)
    }

    /// Luau only: the vector `(x, y, z)` as a Lua value (Lua's vectors come to Python as
    /// tuples of floats; pass this object to give Lua a vector).
    #[cfg(feature = "luau")]
    fn vector(slf: &Bound<'_, Self>, x: f64, y: f64, z: f64) -> PyResult<Py<PyAny>> {
        let lua = Self::enter(slf)?;
        super::luau::vector(slf.py(), &lua, [x, y, z])
    }

    /// Luau only: a new Lua buffer holding a copy of `data` (bytes-like), or `data` zero
    /// bytes for an int (Lua's buffers come to Python as `bytes`; pass this object to give
    /// Lua a buffer).
    #[cfg(feature = "luau")]
    fn buffer(slf: &Bound<'_, Self>, data: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let lua = Self::enter(slf)?;
        super::luau::buffer(slf.py(), &lua, data)
    }

    /// The `(major, minor)` version of the Lua library.
    #[getter]
    fn lua_version(&self) -> (u32, u32) {
        safe_lua::flavour::library_version()
    }

    /// `jit.version` for LuaJIT, else `_VERSION` (as Lua code sees them now).
    #[getter]
    fn lua_implementation(slf: &Bound<'_, Self>) -> PyResult<Py<PyAny>> {
        let code = PyString::new(
            slf.py(),
            "(type(jit) == 'table' and jit.version) or _VERSION",
        );
        Self::eval(slf, code.as_any(), &PyTuple::empty(slf.py()), None, None)
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.core.traverse(&visit)
    }

    fn __clear__(&self) {
        Python::attach(|py| self.core.close(py));
    }
}

/// The context manager returned by `LuaRuntime.nogc()`.
#[pyclass(frozen, module = "lupa", name = "_LuaNoGC")]
pub(crate) struct LuaNoGC {
    runtime: Py<LuaRuntime>,
}

crate::gc::traverse_fields!(LuaNoGC { runtime });

#[pymethods]
impl LuaNoGC {
    fn __enter__(&self, py: Python<'_>) -> PyResult<()> {
        LuaRuntime::enter(self.runtime.bind(py))?.st.gc_stop();
        Ok(())
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(&self, py: Python<'_>, _exc_info: &Bound<'_, PyTuple>) -> PyResult<()> {
        LuaRuntime::enter(self.runtime.bind(py))?.st.gc_restart();
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.traverse(&visit)
    }
}
