//! The Python objects a Rust value keeps alive, for Python's cycle collector (`tp_traverse`).
//!
//! Every class that holds Python objects reports them from its `__traverse__`; the trait below
//! lets each value report its own, so that a `__traverse__` is one call and a new field cannot
//! be forgotten in a hand-written list.  (After pydantic-core's `PyGcTraverse`.)

use pyo3::{Py, PyTraverseError, gc::PyVisit};

/// A value that holds references to Python objects.
pub(crate) trait Traverse {
    /// Visits every Python object this value keeps alive.
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError>;
}

impl<T> Traverse for Py<T> {
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(self)
    }
}

impl<T: Traverse> Traverse for Option<T> {
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        match self {
            Some(value) => value.traverse(visit),
            None => Ok(()),
        }
    }
}

impl<T: Traverse> Traverse for [T] {
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        self.iter().try_for_each(|value| value.traverse(visit))
    }
}

/// Implements `Traverse` for a struct by visiting the listed fields.
macro_rules! traverse_fields {
    ($type:ty { $($field:ident),* $(,)? }) => {
        impl $crate::gc::Traverse for $type {
            fn traverse(
                &self,
                visit: &pyo3::gc::PyVisit<'_>,
            ) -> Result<(), pyo3::PyTraverseError> {
                $($crate::gc::Traverse::traverse(&self.$field, visit)?;)*
                Ok(())
            }
        }
    };
}
pub(crate) use traverse_fields;
