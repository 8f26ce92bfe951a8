//! `LuaRuntime.limits()`, `LuaRuntime.interrupt()` and the object of a `limits()` block.

use pyo3::prelude::*;

use crate::runtime::{LimitValues, LuaRuntime};

/// A block of code with tighter limits for the runtime's calls: `with lua.limits(timeout=0.5,
/// max_instructions=10**7): ...`.  Made by `LuaRuntime.limits()`.
#[pyclass(module = "lupa", name = "_LuaLimits", frozen)]
pub(crate) struct LuaLimits {
    runtime: Py<LuaRuntime>,
    values: LimitValues,
}

impl LuaLimits {
    /// Switches LuaJIT's compiler off while any limit applies (its traces call no hooks),
    /// and back on afterwards unless memory accounting needs it off.
    fn update_jit(&self, py: Python<'_>) -> PyResult<()> {
        if !cfg!(feature = "luajit") {
            return Ok(());
        }
        let core = &self.runtime.get().core;
        let lua = core.enter(py)?;
        let forbidden = core.limits.any() || core.data.account().is_some();
        safe_lua::jit::forbid(lua.st, &core.data, forbidden);
        Ok(())
    }
}

#[pymethods]
impl LuaLimits {
    fn __enter__(slf: &Bound<'_, Self>) -> PyResult<Py<Self>> {
        let this = slf.get();
        this.runtime.get().core.limits.push_scope(this.values);
        this.update_jit(slf.py())?;
        Ok(slf.clone().unbind())
    }

    #[pyo3(signature = (*_exc_info))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_info: &Bound<'_, pyo3::types::PyTuple>,
    ) -> PyResult<bool> {
        self.runtime.get().core.limits.pop_scope(self.values);
        self.update_jit(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        let timeout = self
            .values
            .timeout
            .map_or_else(|| "None".to_owned(), |t| t.as_secs_f64().to_string());
        let max = self
            .values
            .max_instructions
            .map_or_else(|| "None".to_owned(), |m| m.to_string());
        format!("<_LuaLimits timeout={timeout} max_instructions={max}>")
    }
}

impl LuaLimits {
    /// The object of `LuaRuntime.limits(timeout=..., max_instructions=...)`.
    pub(crate) fn new(
        runtime: &Bound<'_, LuaRuntime>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_instructions: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<LuaLimits> {
        Ok(LuaLimits {
            runtime: runtime.clone().unbind(),
            values: LimitValues::parse(timeout, max_instructions)?,
        })
    }
}
