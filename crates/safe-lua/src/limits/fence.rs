//! An asymmetric memory fence: nearly free on the hot side, expensive on the rare side.
//!
//! The thread that runs Lua code changes the running thread at every coroutine resume and
//! yield (`Limits::enter_thread`/`leave_thread`); another thread (the watchdog, `interrupt`)
//! arms the hook of the running thread a few times a second at most.  The two must agree on
//! which thread runs (a coroutine that stopped running may be freed), which needs a full fence
//! on both sides of a Dekker-style handshake.  Here the hot side gets away with a compiler
//! fence: the rare side makes every other thread of the process execute a full fence, with
//! Linux's `membarrier` (the technique of userspace RCU and folly's `asymmetricHeavyBarrier`).
//! Where that is not available, both sides use an ordinary full fence.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU8, compiler_fence, fence};

const UNKNOWN: u8 = 0;
const MEMBARRIER: u8 = 1;
const FENCES: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Decides the mode, once; call before any `light` that relies on it (`Limits::default`).
pub(super) fn init() {
    if MODE.load(Relaxed) == UNKNOWN {
        let mode = if register_membarrier() {
            MEMBARRIER
        } else {
            FENCES
        };
        let _ = MODE.compare_exchange(UNKNOWN, mode, SeqCst, SeqCst);
    }
}

/// The hot side.
#[inline(always)]
pub(super) fn light() {
    if MODE.load(Relaxed) == MEMBARRIER {
        compiler_fence(SeqCst);
    } else {
        fence(SeqCst);
    }
}

/// The rare side.
pub(super) fn heavy() {
    if MODE.load(Relaxed) == MEMBARRIER && membarrier() {
        return;
    }
    // (Without membarrier the hot side fences itself.)
    fence(SeqCst);
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod sys {
    const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
    const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

    pub(super) fn register() -> bool {
        // SAFETY: the membarrier system call with a command and no pointers.
        unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                0,
                0,
            ) == 0
        }
    }

    pub(super) fn barrier() -> bool {
        // SAFETY: as above.
        unsafe { libc::syscall(libc::SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0 }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod sys {
    pub(super) fn register() -> bool {
        false
    }

    pub(super) fn barrier() -> bool {
        false
    }
}

fn register_membarrier() -> bool {
    sys::register()
}

fn membarrier() -> bool {
    sys::barrier()
}
