//! `as_attrgetter(obj)` / `as_itemgetter(obj)`: choose how Lua indexes a Python object.
//!
//! The wrapper only matters when it is passed into Lua, where it becomes the object's
//! userdata with the requested protocol.  Back in Python, Lua returns the object itself.

use pyo3::prelude::*;

use super::userdata::Flags;
use crate::gc::traverse_fields;

#[pyclass(module = "lupa", name = "_PyProtocolWrapper", frozen)]
pub(crate) struct PyProtocolWrapper {
    pub(crate) obj: Py<PyAny>,
    pub(crate) flags: Flags,
}

traverse_fields!(PyProtocolWrapper { obj });

#[pymethods]
impl PyProtocolWrapper {
    fn __traverse__(&self, visit: pyo3::gc::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        crate::gc::Traverse::traverse(self, &visit)
    }
}

/// Wraps an object so that Lua indexing uses attribute access (`getattr`).
#[pyfunction]
pub(crate) fn as_attrgetter(obj: Py<PyAny>) -> PyProtocolWrapper {
    PyProtocolWrapper {
        obj,
        flags: Flags::NONE,
    }
}

/// Wraps an object so that Lua indexing uses item access (`obj[key]`).
#[pyfunction]
pub(crate) fn as_itemgetter(obj: Py<PyAny>) -> PyProtocolWrapper {
    PyProtocolWrapper {
        obj,
        flags: Flags::AS_INDEX,
    }
}
