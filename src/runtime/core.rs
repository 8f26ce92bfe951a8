//! `Core`: one Lua state with everything needed to use it safely from many Python threads,
//! and `LuaRuntime`, the Python object that owns it.
//!
//! Wrappers of Lua values and Lua userdata of Python objects point back to the core.  All
//! access to the Lua state goes through `Core::enter`, which takes the runtime lock and yields
//! a `Lua` context (context.rs).

use std::cell::Cell;
use std::ffi::c_int;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::prelude::*;
use pyo3::{PyTraverseError, gc::PyVisit};
use safe_lua::sys::lua_State;
use safe_lua::{CanCreate, CanGrow, State, StateData};

use super::{ChunkCache, ErrorConverter, GilCell, Handoff, Lua, LuaGil, Options, PyRefTable};
use super::{RuntimeLimits, RuntimeLock, limits, stack};
use crate::exceptions;
use crate::gc::traverse_fields;

/// A Lua runtime: one Lua state with the standard libraries and the `python` module.
///
/// All methods serialise on the runtime's lock, so one runtime can be shared by threads (one
/// of them runs Lua at a time); separate runtimes run in parallel.  Lua code runs with the GIL
/// released.
#[pyclass(subclass, frozen, module = "lupa", name = "LuaRuntime")]
pub struct LuaRuntime {
    pub(crate) core: Box<Core>,
}

impl Drop for LuaRuntime {
    fn drop(&mut self) {
        Python::attach(|py| self.core.close(py));
    }
}

/// Python objects the runtime holds directly (as opposed to those held by Lua userdata).
#[derive(Default)]
pub(crate) struct PyHandlers {
    pub(crate) attribute_filter: Option<Py<PyAny>>,
    pub(crate) attribute_getter: Option<Py<PyAny>>,
    pub(crate) attribute_setter: Option<Py<PyAny>>,
}

traverse_fields!(PyHandlers {
    attribute_filter,
    attribute_getter,
    attribute_setter
});

/// Registry references created at initialisation, used on hot paths.
#[derive(Clone, Copy, Default)]
pub(crate) struct Refs {
    /// The metatable of Python object userdata (also at registry["POBJECT"]).
    pub(crate) pobject_metatable: c_int,
    /// Weak-valued table: identity key of a Python object -> its userdata.
    pub(crate) identity_cache: c_int,
    /// The userdata for `None`, as `python.none`.
    pub(crate) none: c_int,
    /// Where the overflow handler (a Lua value, or nil) lives.
    pub(crate) overflow_handler: c_int,
}

pub(crate) struct Core {
    lock: RuntimeLock,
    /// How the GIL stands while Lua code of this runtime runs (see `Lua::without_gil`).
    lua_gil: Cell<LuaGil>,
    /// Turns Lua error objects into Python exceptions (see `ErrorConverter`).
    pub(crate) error_converter: ErrorConverter,
    /// The main Lua thread; null once the state is closed.
    main: Cell<*mut lua_State>,
    /// The Lua thread that calls from Python run on: the main thread, or the coroutine whose
    /// Python callback is running (nested calls then run inside that coroutine, as upstream).
    current: Cell<*mut lua_State>,
    /// The `LuaRuntime` Python object that owns this core (a borrowed pointer, set on first
    /// entry from Python; null while the runtime is being destroyed).
    owner: Cell<*mut pyo3::ffi::PyObject>,
    /// Set once the state is closed (readable without the lock, for `repr`).
    closed: AtomicBool,
    /// Registry references released by wrappers while another thread held the lock.
    pending_unrefs: parking_lot::Mutex<Vec<c_int>>,
    has_pending_unrefs: AtomicBool,
    pub(crate) options: Options,
    pub(crate) refs: Cell<Refs>,
    pub(crate) handlers: GilCell<PyHandlers>,
    /// Python objects owned by Lua userdata, for Python's cycle collector.
    pub(crate) pyrefs: PyRefTable,
    /// An upper bound of the identity cache's entries: those it was last rebuilt with plus
    /// those added since (lock holder only; see `pyobject::compact_cache_if_sparse`).
    pub(crate) cache_entries: Cell<usize>,
    /// What the state shares with code that only has the state: the memory account (which
    /// counts only if `data.account()` says so) and the limits' mechanism.
    pub(crate) data: Box<StateData>,
    /// The runtime's limits: budgets, `limits()` scopes, the pending exception.
    pub(crate) limits: RuntimeLimits,
    /// Compiled chunks of `eval`/`execute` (see chunk_cache.rs).
    pub(crate) chunks: ChunkCache,
    /// Python objects of userdata destroyed by Luau's collector (deferred.rs).
    pub(crate) deferred: super::DeferredReleases,
}

// SAFETY: the `Cell`s are only accessed by the thread holding the runtime lock (`main`,
// `current`, `refs`, `owner` after creation); Python-facing state is in `GilCell`s; the rest
// is immutable or atomic.  A `Core` is created and destroyed under the GIL.
unsafe impl Sync for Core {}
// SAFETY: see above; nothing in `Core` is tied to the thread that created it.
unsafe impl Send for Core {}

impl Core {
    pub(crate) fn new(
        options: Options,
        limits: RuntimeLimits,
        error_converter: ErrorConverter,
    ) -> Box<Core> {
        let core = Box::new(Core {
            lock: RuntimeLock::new(Handoff::WhenRequested),
            lua_gil: Cell::new(LuaGil::Held),
            error_converter,
            main: Cell::new(ptr::null_mut()),
            current: Cell::new(ptr::null_mut()),
            owner: Cell::new(ptr::null_mut()),
            closed: AtomicBool::new(false),
            pending_unrefs: parking_lot::Mutex::new(Vec::new()),
            has_pending_unrefs: AtomicBool::new(false),
            options,
            refs: Cell::new(Refs::default()),
            handlers: GilCell::new(PyHandlers::default()),
            pyrefs: PyRefTable::new(),
            cache_entries: Cell::new(0),
            data: Box::default(),
            limits,
            chunks: ChunkCache::default(),
            deferred: super::DeferredReleases::default(),
        });
        core.data.set_owner((&raw const *core).cast_mut().cast());
        core.data.limits.set_checker(limits::check_signals);
        core
    }

    /// Installs the freshly created and initialised main thread.
    pub(crate) fn set_main_state(&self, l: *mut lua_State) {
        self.main.set(l);
        self.current.set(l);
    }

    /// Records the Python object that owns this core (see `owner`).
    #[inline]
    pub(crate) fn set_owner(&self, owner: *mut pyo3::ffi::PyObject) {
        self.owner.set(owner);
    }

    /// A new strong reference to the owning `LuaRuntime`, for wrappers of Lua values.
    pub(crate) fn owner<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let owner = self.owner.get();
        if owner.is_null() {
            return Err(closed(py));
        }
        // SAFETY: the owner is alive while the core is in use (it owns the core) and is only
        // reset before it starts being destroyed.
        Ok(unsafe { Bound::from_borrowed_ptr(py, owner) })
    }

    /// The owner as a `LuaRuntime` (the owner of a core always is one, or a subclass).
    pub(crate) fn owner_runtime(&self, py: Python<'_>) -> PyResult<Py<LuaRuntime>> {
        let owner = self.owner(py)?;
        // SAFETY: the owner of a core is always a LuaRuntime (or subclass) instance.
        Ok(unsafe { owner.cast_into_unchecked::<LuaRuntime>() }.unbind())
    }

    /// Takes the runtime lock (waiting with the GIL released) and returns the context in
    /// which the Lua state may be used.
    ///
    /// Inlined: the context then stays in registers instead of being returned through memory
    /// (every call from Python starts here).
    #[inline(always)]
    pub(crate) fn enter<'rt>(&'rt self, py: Python<'_>) -> PyResult<Lua<'rt>> {
        let guard = self.lock.acquire(py);
        // Python -> Lua -> Python nesting uses C stack at every level (see stack.rs).
        if !stack::has_room(self.lock.depth()) {
            return Err(too_deep(py));
        }
        let current = self.current.get();
        if current.is_null() {
            return Err(closed(py));
        }
        // SAFETY: the state is live and we hold the lock.
        let st = unsafe { State::new(current) };
        if self.has_pending_unrefs.load(Ordering::Acquire) {
            self.release_pending_unrefs(st);
        }
        let outermost = self.lock.depth() == 1;
        if outermost {
            // Every entry straight from Python gets a fresh budget (ended when the context
            // drops); there the current thread is always the main thread.
            self.limits.clear_pending(py);
            let watch = limits::on_main_thread();
            if self.limits.any() {
                self.data.limits.begin(st, self.limits.budget(watch));
            } else {
                self.data.limits.begin_plain(st, watch);
            }
        }
        let at_base = current == self.main.get() && outermost;
        Ok(Lua::new(self, st, guard, at_base, outermost))
    }

    /// Whether the state is closed (`close()`, or the runtime being destroyed).
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// The lock holder's nesting depth (1: an entry straight from Python, with no Lua code
    /// running below it on any thread).
    #[inline]
    pub(crate) fn entry_depth(&self) -> u32 {
        self.lock.depth()
    }

    /// How often the runtime lock has been taken: every entry, nested or not, and every
    /// release of a reference counts.  For the holder: if it has grown by exactly one between
    /// two outermost entries, nothing ran on the runtime in between.
    #[inline]
    pub(crate) fn acquisitions(&self) -> u64 {
        self.lock.acquisitions()
    }

    /// Records how the GIL stands while Lua runs; returns the previous state.  Only for the
    /// lock holder.
    #[inline]
    pub(crate) fn set_lua_gil(&self, state: LuaGil) -> LuaGil {
        self.lua_gil.replace(state)
    }

    /// Runs Lua code with the GIL released, so that other Python threads run meanwhile.
    ///
    /// Unlike PyO3's `detach`, this records the released thread state in the core, so that a
    /// Python callback from Lua re-takes the GIL directly with it (`with_python`), and it does
    /// no thread-local bookkeeping: Lua code calls back into Python often, and this is the
    /// hottest path of the bridge.
    ///
    /// When this is the only Python thread, nobody could use the GIL, and releasing and
    /// re-taking it (here and in every callback) would only cost time: the GIL is kept then
    /// (`LuaGil::Kept`).  A callback that starts a thread releases it when it returns, for the
    /// rest of the call; it is re-taken here.
    #[inline]
    pub(crate) fn without_gil<R>(&self, py: Python<'_>, f: impl FnOnce() -> R) -> R {
        struct Reattach<'a> {
            core: &'a Core,
            outer: LuaGil,
        }
        impl Drop for Reattach<'_> {
            fn drop(&mut self) {
                if let LuaGil::Released(tstate) = self.core.set_lua_gil(self.outer) {
                    // SAFETY: `tstate` is this thread's state, released by the matching
                    // PyEval_SaveThread (below, or in a callback during `f`).
                    unsafe { pyo3::ffi::PyEval_RestoreThread(tstate) };
                }
            }
        }
        let state = if crate::pyhelpers::other_python_threads(py) {
            // SAFETY: the GIL is held (`py`); it is re-taken when `_reattach` drops, even if
            // `f` unwinds.
            LuaGil::Released(unsafe { pyo3::ffi::PyEval_SaveThread() })
        } else {
            LuaGil::Kept
        };
        let _reattach = Reattach {
            core: self,
            outer: self.set_lua_gil(state),
        };
        f()
    }

    /// How the GIL stands while Lua runs (for the lock holder).
    #[inline]
    pub(crate) fn lua_gil(&self) -> LuaGil {
        self.lua_gil.get()
    }

    /// The main Lua thread (null once the state is closed).  Coroutines are resumed "from" it,
    /// as upstream does: Lua then counts a chain of coroutines started from Python callbacks
    /// as shallow, and the C stack guard of `enter` (stack.rs) is what limits it.
    #[inline]
    pub(crate) fn main_thread(&self) -> *mut lua_State {
        self.main.get()
    }

    /// Makes `l` the current thread while a callback runs on it; returns the previous one.
    #[inline]
    pub(crate) fn switch_current(&self, l: *mut lua_State) -> *mut lua_State {
        self.current.replace(l)
    }

    /// Releases a registry reference held by a wrapper that is being destroyed.  Never
    /// blocks: if another thread holds the lock, the reference is queued for it.
    pub(crate) fn release_reference(&self, py: Python<'_>, reference: c_int) {
        if reference <= 0 {
            return;
        }
        match self.lock.try_acquire(py) {
            Some(_guard) => {
                let current = self.current.get();
                if !current.is_null() {
                    // SAFETY: live state, lock held.
                    unsafe { State::new(current) }.unreference_safely(reference, self.can_grow());
                }
            }
            None => {
                self.pending_unrefs.lock().push(reference);
                self.has_pending_unrefs.store(true, Ordering::Release);
            }
        }
    }

    fn release_pending_unrefs(&self, st: State) {
        let pending = std::mem::take(&mut *self.pending_unrefs.lock());
        self.has_pending_unrefs.store(false, Ordering::Release);
        for reference in pending {
            st.unreference_safely(reference, self.can_grow());
        }
    }

    /// Whether growing Lua objects (tables, references) cannot raise now: no memory limit
    /// (see `safe_lua::token`).  Without it, such calls from Python must run protected.
    #[inline]
    pub(crate) fn can_grow(&self) -> Option<CanGrow> {
        self.data.can_grow()
    }

    /// Whether creating Lua objects (strings, tables, userdata, threads: calls that may run a
    /// garbage collection step) cannot raise now: no memory limit, and finalizer errors do not
    /// propagate out of the collector (they do on Lua 5.1 to 5.3).
    #[inline]
    pub(crate) fn can_create(&self) -> Option<CanCreate> {
        self.data.can_create()
    }

    /// `LuaRuntime.close()`: waits for other threads' calls to end, then closes the state.
    /// From inside a call of this runtime (a Python function that Lua called) it raises:
    /// the state is running.
    pub(crate) fn close_from_python(&self, py: Python<'_>) -> PyResult<()> {
        if self.lock.is_owned(py) {
            return Err(exceptions::lua_error(
                py,
                "cannot close a Lua runtime from inside one of its own calls",
            ));
        }
        let _guard = self.lock.acquire(py);
        self.close(py);
        Ok(())
    }

    /// Closes the Lua state (running all finalizers, which release the Python objects Lua
    /// holds).  Called when the runtime is closed, destroyed or cleared by the cycle
    /// collector; a no-op when it is closed already.
    pub(crate) fn close(&self, py: Python<'_>) {
        let Some(_guard) = self.lock.try_acquire(py) else {
            // Some thread is inside this runtime: it cannot be garbage then; leave it.
            return;
        };
        let main = self.main.get();
        if main.is_null() {
            return;
        }
        // Lua finalizers may call back into Python; they must not resurrect the owner.
        self.owner.set(ptr::null_mut());
        self.current.set(main);
        // SAFETY: the main state, still open.
        let st = unsafe { State::new(main) };
        // The finalizers run within the runtime's own limits.
        self.limits.clear_pending(py);
        self.data.limits.begin(st, self.limits.close_budget());
        // Without the GIL: another thread may call `interrupt()` meanwhile.
        self.without_gil(py, || {
            // SAFETY: the main state, which nobody uses afterwards (the pointers are reset
            // below, under the lock).
            unsafe { safe_lua::close_state(st) }
        });
        self.data.limits.end();
        self.limits.repost_pending(py);
        // From here on nothing may touch the state, and what follows runs Python code (the
        // objects released below can hold wrappers, whose release must then be a no-op).
        self.main.set(ptr::null_mut());
        self.current.set(ptr::null_mut());
        self.closed.store(true, Ordering::Release);
        self.pending_unrefs.lock().clear();
        self.has_pending_unrefs.store(false, Ordering::Release);
        super::forget_core(self);
        // (Luau destroyed every userdata in lua_close; their objects are queued.)
        self.deferred.release(py, &self.pyrefs);
        self.pyrefs.release_leftovers(py);
        self.handlers.replace(py, PyHandlers::default());
        self.chunks.clear(py);
    }
}

impl crate::gc::Traverse for Core {
    /// The Python objects this runtime keeps alive: its handlers, and the objects of live
    /// userdata.  (Only called from `LuaRuntime.__traverse__`, with the GIL held.)
    fn traverse(&self, visit: &PyVisit<'_>) -> Result<(), PyTraverseError> {
        // SAFETY: tp_traverse runs with the GIL held; nothing mutates the cell meanwhile.
        unsafe { self.handlers.get_for_traverse() }.traverse(visit)?;
        // SAFETY: as above.
        unsafe { self.pyrefs.traverse(visit) }
    }
}

#[cold]
fn too_deep(py: Python<'_>) -> PyErr {
    exceptions::lua_error(
        py,
        "C stack overflow (too many nested calls between Python and Lua)",
    )
}

#[cold]
fn closed(py: Python<'_>) -> PyErr {
    exceptions::lua_error(py, "the Lua runtime is closed")
}
