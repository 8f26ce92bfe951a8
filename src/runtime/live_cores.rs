//! The cores that exist, by address.
//!
//! The `python` module in Lua finds its runtime's core through a registry entry, which Lua
//! code can reach (`debug.getregistry()`) and replace with any light userdata: only the
//! address of a live core may be trusted.

use std::collections::HashSet;
use std::sync::LazyLock;

use super::Core;

static LIVE_CORES: LazyLock<parking_lot::Mutex<HashSet<usize>>> = LazyLock::new(Default::default);

/// Records a core whose Lua state is open.
pub(crate) fn remember_core(core: &Core) {
    LIVE_CORES.lock().insert(core as *const Core as usize);
}

/// Called once a core's state is closed: its address may be reused.
pub(crate) fn forget_core(core: &Core) {
    LIVE_CORES.lock().remove(&(core as *const Core as usize));
}

/// Whether `address` is the address of a live core.
pub(crate) fn is_live_core(address: usize) -> bool {
    LIVE_CORES.lock().contains(&address)
}
