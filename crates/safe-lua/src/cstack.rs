//! How much C stack the calling thread has left.
//!
//! The extension checks it at every entry from Python (`src/runtime/stack.rs`); the pattern
//! functions (`strlib`) check it at every call, since LuaJIT sets no limit on nested C calls
//! (a replacement function of gsub that calls gsub again, without end, overflows the C stack
//! of upstream's LuaJIT).

use std::cell::Cell;

/// The lowest address of the calling thread's stack (stacks grow downwards on every platform
/// this builds for).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn lowest_address() -> Option<usize> {
    // SAFETY: `attr` is initialised by pthread_getattr_np before it is read, and destroyed
    // once; the out pointers are valid.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut address: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let found = libc::pthread_attr_getstack(&attr, &mut address, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        (found && !address.is_null()).then_some(address as usize)
    }
}

#[cfg(target_os = "macos")]
pub fn lowest_address() -> Option<usize> {
    // SAFETY: plain queries about the calling thread; the address returned is the stack's top.
    unsafe {
        let thread = libc::pthread_self();
        let top = libc::pthread_get_stackaddr_np(thread) as usize;
        let size = libc::pthread_get_stacksize_np(thread);
        top.checked_sub(size)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android", target_os = "macos")))]
pub fn lowest_address() -> Option<usize> {
    None
}

/// Marks a thread whose stack bounds have not been looked up yet.
const UNKNOWN: usize = 0;
/// Marks a platform without a way to find them.
const UNAVAILABLE: usize = usize::MAX;

thread_local! {
    /// The lowest address of the calling thread's stack, once looked up.
    static LOWEST: Cell<usize> = const { Cell::new(UNKNOWN) };
}

/// The bytes of C stack left below the caller's frame; `None` where the platform does not
/// say.
#[inline]
pub fn left() -> Option<usize> {
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let lowest = match LOWEST.with(Cell::get) {
        UNKNOWN => {
            let lowest = lowest_address().unwrap_or(UNAVAILABLE);
            LOWEST.with(|cell| cell.set(lowest));
            lowest
        }
        lowest => lowest,
    };
    (lowest != UNAVAILABLE).then(|| here.saturating_sub(lowest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_knows_its_stack() {
        let size = 1024 * 1024;
        let left = std::thread::Builder::new()
            .stack_size(size)
            .spawn(left)
            .unwrap()
            .join()
            .unwrap();
        if cfg!(any(target_os = "linux", target_os = "macos")) {
            // glibc may hand a new thread the cached stack of a thread that has ended, up to
            // four times the size asked for (the test harness's threads have 2 MiB stacks):
            // what is reported is the stack the thread really has.
            let left = left.unwrap();
            assert!(left > size / 2 && left <= 4 * size + 64 * 1024, "{left}");
        }
    }
}
