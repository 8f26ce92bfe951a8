//! Python objects whose Lua userdata were destroyed inside Luau's garbage collector, released
//! later, where that is safe.
//!
//! Luau never calls `__gc` for userdata; it calls a C destructor per userdata from inside the
//! collector (`convert::userdata::destroy_userdata`), on whatever thread runs Lua, usually
//! without the GIL (Lua code runs with it released).  Releasing the object right there is
//! not possible: a decref needs the GIL, and the last reference can run arbitrary Python code
//! (`__del__`, weakref callbacks), which may call into this same runtime while its collector
//! is in the middle of a step.  So the destructor only moves the object's reference into this
//! queue (no Python, no Lua: it cannot fail).  The queue is emptied, with the GIL held, at the
//! end of every entry from Python and of every Python callback (`Lua`'s `Drop`), and after the
//! state is closed: there Python code may call into the runtime, as it may anywhere in a
//! callback.  Until then the object stays alive, and its slot in the `PyRefTable` keeps
//! reporting it to Python's cycle collector (the queue owns that reference).

use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;

use super::PyRefTable;

#[derive(Default)]
pub(crate) struct DeferredReleases {
    /// The objects and their `PyRefTable` slots.  Filled by destructors (runtime lock held),
    /// emptied by the lock holder with the GIL.
    queue: parking_lot::Mutex<Vec<(Py<PyAny>, usize)>>,
    pending: AtomicBool,
}

impl DeferredReleases {
    /// Queues the reference of a destroyed userdata.  Needs neither the GIL nor Lua.
    pub(crate) fn push(&self, obj: Py<PyAny>, slot: usize) {
        self.queue.lock().push((obj, slot));
        self.pending.store(true, Ordering::Release);
    }

    /// Whether anything waits for release (cheap: every entry asks).
    #[inline(always)]
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Relaxed)
    }

    /// Releases what is queued, and what that release queues in turn.
    pub(crate) fn release(&self, py: Python<'_>, pyrefs: &PyRefTable) {
        while self.pending.swap(false, Ordering::Acquire) {
            let queued = std::mem::take(&mut *self.queue.lock());
            for (obj, slot) in queued {
                pyrefs.remove(py, slot);
                // May run any Python code, which may use the runtime.
                drop(obj);
            }
        }
    }
}
