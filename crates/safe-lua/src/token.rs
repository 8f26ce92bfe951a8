//! Capabilities that the raising calls of [`State`](crate::State) require.
//!
//! A Lua error unwinds (longjmp, or LuaJIT's foreign unwind) to the nearest `lua_pcall`,
//! skipping every frame in between.  A call that can raise is therefore only sound where no
//! frame in between owns a value with a destructor, and none catches panics.  The tokens
//! below are the proof, passed by value to the raising methods.  They are zero-sized and
//! `Copy`; what matters is where they can be obtained.
//!
//! | token | allows | obtained |
//! |---|---|---|
//! | [`CanRaise`] | every raising call | `unsafe` claim by a raw C function or an [`Op`](crate::Op) body |
//! | [`CanCreate`] | creating objects (may run a collection step) | `CanRaise`, or [`MemoryAccount::can_create`](crate::MemoryAccount::can_create) |
//! | [`CanGrow`] | growing tables, references and stacks (no collection step) | `CanCreate`, or [`MemoryAccount::can_grow`](crate::MemoryAccount::can_grow) |
//!
//! The checks behind `can_create`/`can_grow` hold when an allocation cannot fail except for a
//! process out of memory (no memory limit), and, for `CanCreate`, when a collection step that
//! the allocation runs cannot re-throw a finalizer's error.  They say nothing about what Python
//! code run later may change (`set_max_memory`): ask right before the call.

/// Anything may raise here: a Lua error would unwind only frames that own nothing.
#[derive(Clone, Copy, Debug)]
pub struct CanRaise(());

/// Creating Lua objects (strings, tables, userdata, closures, threads) cannot raise here.
#[derive(Clone, Copy, Debug)]
pub struct CanCreate(());

/// Growing existing Lua objects (a table's slots, the registry, the stack) cannot raise here.
#[derive(Clone, Copy, Debug)]
pub struct CanGrow(());

impl CanRaise {
    /// # Safety
    /// The caller runs as (or directly inside) a C function called by Lua, inside a
    /// `lua_pcall` or from Lua code, and no frame between here and that C function's entry
    /// owns a value that needs dropping or catches unwinding panics.  Or the state is being
    /// initialised: not shared yet, its collector stopped, no memory limit, and nothing that
    /// runs has a metamethod (then nothing raises except a process out of memory).
    #[inline(always)]
    pub unsafe fn assume() -> CanRaise {
        CanRaise(())
    }

    #[inline(always)]
    pub fn create(self) -> CanCreate {
        CanCreate(())
    }

    #[inline(always)]
    pub fn grow(self) -> CanGrow {
        CanGrow(())
    }
}

impl CanCreate {
    /// For [`MemoryAccount::can_create`](crate::MemoryAccount::can_create).
    #[inline(always)]
    pub(crate) fn checked() -> CanCreate {
        CanCreate(())
    }

    #[inline(always)]
    pub fn grow(self) -> CanGrow {
        CanGrow(())
    }
}

impl CanGrow {
    /// For [`MemoryAccount::can_grow`](crate::MemoryAccount::can_grow).
    #[inline(always)]
    pub(crate) fn checked() -> CanGrow {
        CanGrow(())
    }
}

impl From<CanRaise> for CanCreate {
    #[inline(always)]
    fn from(token: CanRaise) -> CanCreate {
        token.create()
    }
}

impl From<CanRaise> for CanGrow {
    #[inline(always)]
    fn from(token: CanRaise) -> CanGrow {
        token.grow()
    }
}

impl From<CanCreate> for CanGrow {
    #[inline(always)]
    fn from(token: CanCreate) -> CanGrow {
        token.grow()
    }
}
