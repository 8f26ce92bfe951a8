//! The extension module's name inside the `lupa` package (`lupa.lua54`, ...): chosen by the
//! cargo features of the build, as the `#[pymodule]` name in lib.rs is.

#[cfg(feature = "module-name-lua")]
pub(crate) const MODULE_NAME: &str = "lua";
#[cfg(all(not(feature = "module-name-lua"), feature = "lua51"))]
pub(crate) const MODULE_NAME: &str = "lua51";
#[cfg(all(not(feature = "module-name-lua"), feature = "lua52"))]
pub(crate) const MODULE_NAME: &str = "lua52";
#[cfg(all(not(feature = "module-name-lua"), feature = "lua53"))]
pub(crate) const MODULE_NAME: &str = "lua53";
#[cfg(all(not(feature = "module-name-lua"), feature = "lua54"))]
pub(crate) const MODULE_NAME: &str = "lua54";
#[cfg(all(not(feature = "module-name-lua"), feature = "lua55"))]
pub(crate) const MODULE_NAME: &str = "lua55";
#[cfg(all(not(feature = "module-name-lua"), feature = "luajit20"))]
pub(crate) const MODULE_NAME: &str = "luajit20";
#[cfg(all(
    not(feature = "module-name-lua"),
    feature = "luajit",
    not(feature = "luajit20")
))]
pub(crate) const MODULE_NAME: &str = "luajit21";
#[cfg(all(not(feature = "module-name-lua"), feature = "luau"))]
pub(crate) const MODULE_NAME: &str = "luau";
