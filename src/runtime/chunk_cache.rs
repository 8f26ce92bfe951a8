//! A cache of compiled chunks for `eval()` and `execute()`.
//!
//! Compiling is most of the cost of evaluating a small expression, and programs tend to
//! evaluate the same expressions again and again (rule and template engines).  A compiled
//! chunk is immutable code: running the cached function is the same as compiling the source
//! again and running that, as long as it starts in the environment a fresh load would give
//! it.  On Lua 5.2+ a chunk reaches the globals through its `_ENV` upvalue (the globals
//! table, which cannot be replaced); on Lua 5.1 and LuaJIT a chunk takes the *current*
//! environment when it is loaded and can change it (`setfenv(1, t)`), so a cached chunk gets
//! its environment reset before every run there.  Runtimes with memory accounting do not
//! cache, so that their numbers show only what the user's code allocates.
//!
//! (Only the debug library can tell the difference: a chunk that changes its own `_ENV`
//! upvalue with `debug.setupvalue`, or code that replaces the globals table in the registry,
//! affects later runs of the cached chunk, where a recompiled one would start afresh.)
//!
//! Only the common call is cached: the code as an exact `str` or `bytes` (immutable, hashable),
//! without `name=` or `mode=`, at most `MAX_CODE_LENGTH` long.  The cache holds at most
//! `MAX_ENTRIES` chunks and starts over when full.

use std::ffi::c_int;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use super::GilCell;
use super::Lua;

const MAX_ENTRIES: usize = 256;
const MAX_CODE_LENGTH: usize = 4096;

/// `eval` and `execute` compile the same code differently (`eval` prepends "return ").
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkKind {
    Eval,
    Execute,
}

/// Code -> registry reference of its compiled chunk, per kind.
#[derive(Default)]
pub(crate) struct ChunkCache {
    eval: GilCell<Option<Py<PyDict>>>,
    execute: GilCell<Option<Py<PyDict>>>,
}

impl ChunkCache {
    fn slot(&self, kind: ChunkKind) -> &GilCell<Option<Py<PyDict>>> {
        match kind {
            ChunkKind::Eval => &self.eval,
            ChunkKind::Execute => &self.execute,
        }
    }

    /// Whether `code` (with no name or mode given) can be served from the cache.
    pub(crate) fn accepts(lua: &Lua<'_>, code: &Bound<'_, PyAny>) -> bool {
        if lua.core.data.account().is_some() {
            return false;
        }
        if let Ok(s) = code.cast_exact::<PyString>() {
            return s.len().is_ok_and(|n| n <= MAX_CODE_LENGTH);
        }
        code.cast_exact::<PyBytes>()
            .is_ok_and(|b| b.as_bytes().len() <= MAX_CODE_LENGTH)
    }

    /// Pushes the cached chunk for `code`, if there is one.  `[-0, +(1|0)]`
    pub(crate) fn push(
        &self,
        py: Python<'_>,
        lua: &Lua<'_>,
        kind: ChunkKind,
        code: &Bound<'_, PyAny>,
    ) -> bool {
        if let Some(dict) = self.slot(kind).get(py)
            && let Ok(Some(reference)) = dict.bind(py).get_item(code)
            && let Ok(reference) = reference.extract::<c_int>()
        {
            lua.st.push_reference(reference);
            lua.st.reset_environment(-1);
            return true;
        }
        false
    }

    /// Caches the compiled chunk on top of the stack for `code`.  `[-0, +0]`
    pub(crate) fn insert(
        &self,
        py: Python<'_>,
        lua: &Lua<'_>,
        kind: ChunkKind,
        code: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let slot = self.slot(kind);
        let dict = match slot.get(py) {
            Some(dict) => dict.bind(py).clone(),
            None => {
                let dict = PyDict::new(py);
                slot.replace(py, Some(dict.clone().unbind()));
                dict
            }
        };
        if dict.len() >= MAX_ENTRIES {
            for reference in dict.values() {
                if let Ok(reference) = reference.extract::<c_int>() {
                    lua.unreference(reference);
                }
            }
            dict.clear();
        }
        lua.st.push_value(-1);
        let reference = lua.reference(py)?;
        dict.set_item(code, reference)
    }

    /// Forgets everything (the Lua state is being closed: its references go with it).
    pub(crate) fn clear(&self, py: Python<'_>) {
        self.eval.replace(py, None);
        self.execute.replace(py, None);
    }
}
