//! `_LuaFunction` and `_LuaCoroutineFunction`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use super::object::LuaObject;
use super::thread;

#[pyclass(extends = LuaObject, subclass, frozen, module = "lupa", name = "_LuaFunction")]
pub(crate) struct LuaFunction;

#[pymethods]
impl LuaFunction {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __new__(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<pyo3::PyClassInitializer<Self>> {
        Err(super::object::not_instantiable())
    }

    /// Creates a coroutine that runs this function; `args` are passed when it first starts.
    #[pyo3(signature = (*args))]
    fn coroutine(slf: &Bound<'_, Self>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        thread::new_coroutine(slf.py(), slf.as_super().get(), args)
    }
}

/// A coroutine created in Lua that has not started yet: it wraps the coroutine's function,
/// and each call starts a fresh coroutine of it (as upstream).
#[pyclass(extends = LuaFunction, frozen, module = "lupa", name = "_LuaCoroutineFunction")]
pub(crate) struct LuaCoroutineFunction;

#[pymethods]
impl LuaCoroutineFunction {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn __new__(
        _args: &Bound<'_, pyo3::types::PyTuple>,
        _kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<pyo3::PyClassInitializer<Self>> {
        Err(super::object::not_instantiable())
    }

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
