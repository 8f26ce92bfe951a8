//! `_LuaFunction` and `_LuaCoroutineFunction`: Lua functions, and unstarted Lua coroutines.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::thread;
use crate::convert::{LuaCoroutineFunction, LuaFunction};

#[pymethods]
impl LuaFunction {
    /// Creates a coroutine that runs this function; `args` are passed when it first starts.
    #[pyo3(signature = (*args))]
    fn coroutine(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        thread::new_coroutine(slf.py(), slf.as_super().get(), args)
    }
}

#[pymethods]
impl LuaCoroutineFunction {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        super::object::check_no_kwargs(kwargs)?;
        thread::new_coroutine(slf.py(), slf.as_super().as_super().get(), args)
    }
}
