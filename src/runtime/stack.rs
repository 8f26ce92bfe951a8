//! How much C stack the calling thread has left: the guard against runaway nesting of calls
//! between Python and Lua.
//!
//! Every level of Python → Lua → Python nesting uses C stack (Python's, ours and Lua's
//! frames), and chains of coroutines or LuaJIT's calls have no check of their own that would
//! stop them before the stack overflows.  A fixed depth limit is either too low (upstream lupa
//! reaches thousands of levels where the stack allows) or a crash on a thread with a small
//! stack, so every entry from Python into Lua checks the real stack instead: it must leave
//! `RESERVE` bytes free, enough for one entry's own use of the stack (Lua's parser and its
//! nested C calls, each bounded by Lua's own limits, and the Python code of callbacks).

use std::cell::Cell;

use safe_lua::cstack::lowest_address;

/// Stack that must remain free below an entry into Lua.
const RESERVE: usize = 256 * 1024;

/// Where the stack bounds cannot be found, the number of nested entries allowed instead.
const FALLBACK_MAX_DEPTH: u32 = 200;

/// Marks a limit that has not been looked up yet.
const UNKNOWN: usize = 0;
/// Marks a platform without a way to find the stack bounds.
const UNAVAILABLE: usize = usize::MAX;

thread_local! {
    /// The lowest stack address at which an entry may start (the end of the thread's stack
    /// plus `RESERVE`).
    static LIMIT: Cell<usize> = const { Cell::new(UNKNOWN) };
}

/// Whether the calling thread has room on its C stack for one more entry into Lua.  `depth`
/// is the entry's nesting depth, used only where the stack bounds are unknown.
#[inline]
pub(crate) fn has_room(depth: u32) -> bool {
    let marker = 0u8;
    let here = std::hint::black_box(&marker) as *const u8 as usize;
    let limit = match LIMIT.with(Cell::get) {
        UNKNOWN => {
            let limit = lowest_address().map_or(UNAVAILABLE, |low| low.saturating_add(RESERVE));
            LIMIT.with(|cell| cell.set(limit));
            limit
        }
        limit => limit,
    };
    if limit == UNAVAILABLE {
        depth <= FALLBACK_MAX_DEPTH
    } else {
        here > limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_thread_has_room() {
        assert!(has_room(1));
        assert!(std::thread::spawn(|| has_room(1)).join().unwrap());
    }

    #[test]
    fn deep_recursion_runs_out_of_room() {
        fn recurse(n: u32) -> u32 {
            let padding = [0u8; 4096];
            std::hint::black_box(&padding);
            if !has_room(n) { n } else { recurse(n + 1) }
        }
        let depth = std::thread::Builder::new()
            .stack_size(1024 * 1024)
            .spawn(|| recurse(0))
            .unwrap()
            .join()
            .unwrap();
        // The stack (at least 1 MiB: the C library may round it up, glibc to 2 MiB) minus the
        // reserve, in steps of at least 4 KiB; reaching the end would have crashed the test.
        assert!(depth > 50 && depth < 1024, "{depth}");
    }
}
