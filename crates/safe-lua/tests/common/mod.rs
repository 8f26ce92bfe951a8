//! A Lua state for the tests of this crate.

#![allow(dead_code)] // (each test file uses a part)

use std::ffi::c_int;

use safe_lua::sys::LUA_OK;
use safe_lua::{CanRaise, State, StateConfig, StateData, close_state, open_state};

/// A fresh state, closed when dropped (before its data).
pub struct Lua(pub State, pub Box<StateData>);

impl Lua {
    pub fn new() -> Lua {
        Lua::with(false)
    }

    /// A state that counts its memory in `self.1.memory` (no limit yet) or not.
    pub fn with(count_memory: bool) -> Lua {
        let data = Box::new(StateData::default());
        let st = open_state(&StateConfig {
            data: &data,
            count_memory,
            hash_seed: None,
            registered: &[],
        })
        .expect("a state");
        st.gc_restart();
        Lua(st, data)
    }

    pub fn data(&self) -> &StateData {
        &self.1
    }

    /// Runs `code` (protected); returns the status and leaves results or the error on top.
    pub fn run(&self, code: &str) -> c_int {
        let st = self.0;
        assert!(st.ensure_stack(4));
        let status = st.load(code.as_bytes(), c"test", None);
        if status != LUA_OK {
            return status;
        }
        st.pcall(0, 1, 0)
    }

    pub fn text(&self, idx: c_int) -> String {
        String::from_utf8(self.0.to_text(idx).expect("text")).unwrap()
    }
}

impl Drop for Lua {
    fn drop(&mut self) {
        // SAFETY: the state is not used afterwards.
        unsafe { close_state(self.0) };
    }
}

/// Pushing strings needs a capability; tests run where nothing can fail.
pub trait PushForTest {
    fn push_str_for_test(self, s: &str);
    /// Pops the value on top into global `name`.
    fn set_global_for_test(self, name: &str);
}

impl PushForTest for State {
    fn push_str_for_test(self, s: &str) {
        // SAFETY: test states have no memory limit; a failed allocation ends the test.
        let create = unsafe { CanRaise::assume() }.create();
        self.push_str(create, s);
    }

    fn set_global_for_test(self, name: &str) {
        // SAFETY: as above.
        let raise = unsafe { CanRaise::assume() };
        let name = std::ffi::CString::new(name).unwrap();
        self.push_globals();
        self.insert(-2);
        self.set_field(raise, -2, &name);
        self.pop(1);
    }
}
