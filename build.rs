//! Linker set-up for the extension module.
//!
//! Lua binary modules (`require "cjson"`, a `luaopen_*` function in a shared library) call the
//! Lua C API of the interpreter that loads them.  A Rust cdylib exports only `PyInit_*`, so the
//! statically linked Lua would be invisible to them.  On ELF targets we therefore add a second
//! version script that exports the Lua API (`lua_*`, `luaL_*`, `luaopen_*`, `luaJIT_*`), and
//! link with `-Bsymbolic` so that every flavour module binds its own Lua even when several are
//! loaded with `RTLD_GLOBAL` into one process (upstream lupa crashes there).  Whether the
//! symbols become visible to later `dlopen`s is then decided at import time by
//! `lupa.allow_lua_module_loading()`.
//!
//! rust-lld (the default linker on x86_64 Linux) merges the two version scripts; GNU ld rejects
//! a second one, so `LUPA_NO_LUA_EXPORTS=1` switches the export off for such toolchains.
//!
//! The limits of safe-lua see Lua's own coroutine resumes through the linker's `--wrap`
//! (crates/safe-lua/build.rs says when); the link of the module must pass the same flags.

use std::env;
use std::fs;
use std::path::PathBuf;

const EXPORTED: &[&str] = &["lua_*", "luaL_*", "luaopen_*", "luaJIT_*"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // `cfg(Py_3_13)` etc., for the few CPython APIs that differ between versions.
    pyo3_build_config::use_pyo3_cfgs();
    if let Ok(symbols) = env::var("DEP_SAFE_LUA_WRAP") {
        for symbol in symbols.split(',') {
            println!("cargo:rustc-cdylib-link-arg=-Wl,--wrap={symbol}");
        }
    }
    println!("cargo:rerun-if-env-changed=LUPA_NO_LUA_EXPORTS");

    if env::var_os("LUPA_NO_LUA_EXPORTS").is_some_and(|v| v != "0" && !v.is_empty()) {
        return;
    }
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set by cargo"));

    match target_os.as_str() {
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly" => {
            let patterns: String = EXPORTED.iter().map(|p| format!("{p}; ")).collect();
            let script = out_dir.join("lua-exports.map");
            fs::write(&script, format!("{{ global: {patterns}}};\n"))
                .expect("cannot write the linker version script");
            println!(
                "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
                script.display()
            );
            println!("cargo:rustc-cdylib-link-arg=-Wl,-Bsymbolic");
        }
        "macos" | "ios" => {
            // ld64 accepts wildcards in -exported_symbol; C symbols carry a leading underscore.
            for pattern in EXPORTED {
                println!("cargo:rustc-cdylib-link-arg=-Wl,-exported_symbol,_{pattern}");
            }
        }
        // Windows: Lua binary modules link against a Lua DLL, which a static build cannot
        // provide; nothing to export.
        _ => {}
    }
}
