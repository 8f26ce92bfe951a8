//! `_PyArguments`, the result of `python.args{...}`: positional and keyword arguments read
//! from a Lua table (`convert::unpack_table`), spliced into a Python call made from Lua.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString, PyTuple};

use crate::convert::TableArguments;

/// The result of `python.args{...}`: opaque to Lua, spliced into the arguments when passed
/// to a Python callable.
#[pyclass(module = "lupa", name = "_PyArguments", frozen)]
pub(crate) struct PyArguments {
    args: Py<PyTuple>,
    kwargs: Py<PyDict>,
}

crate::gc::traverse_fields!(PyArguments { args, kwargs });

#[pymethods]
impl PyArguments {
    fn __traverse__(&self, visit: pyo3::gc::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        crate::gc::Traverse::traverse(self, &visit)
    }
}

impl PyArguments {
    pub(crate) fn new(py: Python<'_>, unpacked: TableArguments<'_>) -> PyResult<Self> {
        Ok(PyArguments {
            args: PyTuple::new(py, unpacked.args)?.unbind(),
            kwargs: unpacked.kwargs.unbind(),
        })
    }

    /// Adds these arguments to a call being assembled.  A keyword given twice raises
    /// TypeError, as Python does for `f(**a, **b)`.
    pub(crate) fn splice_into<'py>(
        &self,
        py: Python<'py>,
        args: &mut crate::pyhelpers::Args<'py>,
        kwargs: &mut Option<Bound<'py, PyDict>>,
    ) -> PyResult<()> {
        args.extend(self.args.bind(py).iter());
        let own = self.kwargs.bind(py);
        if own.is_empty() {
            return Ok(());
        }
        let merged = kwargs.get_or_insert_with(|| PyDict::new(py));
        for (key, value) in own.iter() {
            if merged.contains(&key)? {
                let name = key
                    .cast::<PyString>()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                return Err(PyTypeError::new_err(format!(
                    "function() got multiple values for keyword argument '{name}'"
                )));
            }
            merged.set_item(key, value)?;
        }
        Ok(())
    }
}
