//! Whether the linker routes Lua's own `lua_resume` and `lua_closethread` calls through the
//! limits (`src/limits/wrap.rs`).
//!
//! GNU ld, gold, lld and mold all support `--wrap=<symbol>` on ELF targets.  It only makes
//! sense for a Lua built into the program (the `vendored` feature): a system Lua may lack
//! `lua_closethread`, and its own internal calls would not be wrapped anyway.  LuaJIT's hooks
//! and Luau's interrupt callback are global to a state, so they need no tracking.
//!
//! When wrapping, this script sets `cfg(wrapped_lua)` for the crate, passes the flags to the
//! crate's own test binaries, and tells dependents (`DEP_SAFE_LUA_WRAP`, the symbols separated
//! by commas) so that they pass the same flags to the links they make; a link without them
//! fails on the undefined `__real_lua_resume`, not silently.

use std::env;

fn main() {
    println!("cargo:rustc-check-cfg=cfg(wrapped_lua)");
    println!("cargo:rerun-if-changed=build.rs");
    let feature =
        |name: &str| env::var_os(format!("CARGO_FEATURE_{}", name.to_uppercase())).is_some();
    let elf = env::var("CARGO_CFG_TARGET_OBJECT_FORMAT").is_ok_and(|f| f == "elf")
        || matches!(
            env::var("CARGO_CFG_TARGET_OS").as_deref(),
            Ok("linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly")
        );
    if !elf || !feature("vendored") || feature("luajit") || feature("luau") {
        return;
    }
    let mut symbols = vec!["lua_resume"];
    if feature("lua54") || feature("lua55") {
        symbols.push("lua_closethread");
    }
    let symbols = symbols.join(",");
    println!("cargo:rustc-cfg=wrapped_lua");
    println!(
        "cargo:rustc-link-arg=-Wl,--wrap={}",
        symbols.replace(',', ",--wrap=")
    );
    println!("cargo:wrap={symbols}");
}
