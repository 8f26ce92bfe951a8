//! The Python objects that Lua holds through userdata, for Python's cycle collector.

use std::cell::UnsafeCell;
use std::mem::ManuallyDrop;

use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::{PyTraverseError, gc::PyVisit};

/// The objects referenced by a runtime's live userdata, for `tp_traverse`: one slot per
/// userdata, holding a copy of its pointer (the userdata owns the reference).
///
/// The table lives in Rust memory rather than being linked through the userdata, because a
/// userdata can be freed without our `__gc`: Lua code may remove `__gc` from the shared
/// metatable (upstream leaves it unprotected).  Such a userdata's slot stays, and so does its
/// reference, which it never released; `release_leftovers` releases those when the state is
/// closed.
pub(crate) struct PyRefTable {
    /// Only accessed with the GIL held, never across Python or Lua code.
    inner: UnsafeCell<Slots>,
}

#[derive(Default)]
struct Slots {
    /// Non-owning aliases of the userdata's references; None for a free slot.
    objects: Vec<Option<ManuallyDrop<Py<PyAny>>>>,
    free: Vec<usize>,
}

// SAFETY: all access goes through methods that take a `Python` token (or run in tp_traverse,
// with the GIL held), and none of them runs Python or Lua code while borrowing the slots.
unsafe impl Sync for PyRefTable {}

impl PyRefTable {
    pub(crate) fn new() -> Self {
        PyRefTable {
            inner: UnsafeCell::new(Slots::default()),
        }
    }

    /// Runs `f` on the slots; `f` must not run Python or Lua code.
    fn with_slots<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut Slots) -> R) -> R {
        // SAFETY: the GIL serialises access, and the borrow ends before anything could
        // re-enter (see the type's docs).
        f(unsafe { &mut *self.inner.get() })
    }

    /// Records the object of a new userdata; returns its slot.
    pub(crate) fn insert(&self, py: Python<'_>, obj: *mut pyffi::PyObject) -> usize {
        // SAFETY: a live object; the alias is never dropped (ManuallyDrop), so it owns nothing.
        let alias = Some(ManuallyDrop::new(
            unsafe { Bound::from_owned_ptr(py, obj) }.unbind(),
        ));
        self.with_slots(py, |slots| match slots.free.pop() {
            Some(slot) => {
                slots.objects[slot] = alias;
                slot
            }
            None => {
                slots.objects.push(alias);
                slots.objects.len() - 1
            }
        })
    }

    /// How many userdata are alive (have a slot).
    pub(crate) fn live(&self) -> usize {
        // SAFETY: a read of two lengths with the GIL held by every caller (the lock holder);
        // no borrow of the slots is alive meanwhile.
        let slots = unsafe { &*self.inner.get() };
        slots.objects.len() - slots.free.len()
    }

    /// Forgets the object of a finalized userdata.
    pub(crate) fn remove(&self, py: Python<'_>, slot: usize) {
        self.with_slots(py, |slots| {
            if slots.objects.get_mut(slot).and_then(Option::take).is_some() {
                slots.free.push(slot);
            }
        });
    }

    /// After the state is closed: releases the references of userdata that Lua freed without
    /// running their `__gc` (every other slot was emptied by `userdata::finalize_at`).
    pub(crate) fn release_leftovers(&self, py: Python<'_>) {
        let leftovers = self.with_slots(py, std::mem::take);
        for alias in leftovers.objects.into_iter().flatten() {
            // SAFETY: the reference the freed userdata owned and can no longer release.
            unsafe { pyffi::Py_DecRef(alias.as_ptr()) };
        }
    }

    /// # Safety
    /// Only from `tp_traverse` (GIL held, no concurrent mutation).
    pub(crate) unsafe fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: see above.
        let slots = unsafe { &*self.inner.get() };
        for alias in slots.objects.iter().flatten() {
            visit.call(&**alias)?;
        }
        Ok(())
    }
}
