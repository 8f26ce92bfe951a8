//! What only Luau has or needs: compiling source to bytecode, vectors and buffers, userdata
//! destructors, a `require` for the libraries, and Luau's number format.
//!
//! Luau (Roblox's language derived from Lua 5.1) is built from the sources of the
//! `luau0-src` crate with C++ exceptions as its error mechanism: a Lua error unwinds like
//! LuaJIT's, so the rules of this crate apply unchanged (every C function is
//! `extern "C-unwind"`, and a raising call needs its token).
//!
//! Differences that matter to the rest of the crate, and how they are absorbed:
//!
//! * **No parser in the VM.**  `State::load_with_options` compiles source with
//!   `luau_compile` and loads the bytecode with `luau_load`.  A compile error comes back as
//!   bytecode that makes `luau_load` fail with the message (chunk name and line first).
//!   `luau_load` runs a GC step before its own protected part, so under a memory limit the
//!   whole load runs as a protected operation.  Binary chunks are Luau bytecode (the output
//!   of `luau_compile`); `mode` decides whether they are accepted, as on Lua 5.2+.
//! * **`__gc` is never called for userdata.**  Luau calls a C destructor per userdata tag
//!   instead, from inside the collector.  `State::set_userdata_destructor` installs one for
//!   the userdata made by `State::new_finalized_userdata`.  A destructor may not call into
//!   Lua, may not raise, and runs on whichever thread runs the collector (with or without the
//!   GIL): see its documentation.
//! * **No hooks.**  `throw()` uses `lua_resumeerror` (inject.rs).  The VM calls
//!   `lua_callbacks(L)->interrupt(L, gc)` at loop back edges, calls and returns (and with
//!   `gc >= 0` from the collector, where it must not raise); raising there stops a script.
//!   Nothing here installs it: the callbacks (and their `userdata` pointer) are left free
//!   for the runtime's limits.
//! * **No `package`/`require`.**  `open_state` adds a minimal `package` table (`loaded`,
//!   holding the standard libraries, and `preload`) and a `require` that looks there only:
//!   it loads no files.
//! * **`debug.traceback`** raises for an error object that is not a string, and writes frames
//!   in a format of its own.  A message handler that raises turns every error of a call from
//!   Python into "error in error handling", so `open_state` replaces it with Lua 5.1's
//!   behaviour: a message that is not a string (or number, or absent) is returned unchanged, and the
//!   traceback is written as Lua writes it (`stack traceback:` and one `\tsource:line: in
//!   function 'name'` line per frame), which the runtime turns around like other flavours'.
//!   Luau's debug information does not tell a chunk's main function from others, so
//!   `luau_load` notes the functions it makes in a table with weak keys (`MAIN_CHUNKS`), and
//!   the traceback says "in main chunk" for them, as Lua does.
//! * **Numbers print in the shortest form that reads back** (`tostring(0.1)` is `0.1`, and
//!   integral values up to 1e21 print without exponent), not with `%.14g`.

use std::ffi::{CStr, c_char, c_int, c_void};

use mlua_sys as ffi;

use crate::token::{CanCreate, CanRaise};
use crate::{State, StateData};

/// The settings of Luau's compiler that a runtime chooses.  Ignored by the other flavours
/// (they parse source themselves and have no such settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// 0: none; 1: the baseline that keeps code debuggable (Luau's default); 2: also
    /// inlining and other optimisations that make tracebacks less precise.
    pub optimization_level: u8,
    /// 0: no debug information (no line numbers in errors); 1: line numbers and function
    /// names (Luau's default); 2: also the names of locals and upvalues.
    pub debug_level: u8,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            optimization_level: 1,
            debug_level: 1,
        }
    }
}

impl CompileOptions {
    /// The highest level of either setting.
    pub const MAX_LEVEL: u8 = 2;
}

/// Compiles `source` to Luau bytecode (which holds the error message if it does not
/// compile).  Runs outside Lua: only C++ allocations, which end the process when it is out
/// of memory, as any allocation of this program does.
pub fn compile(source: &[u8], options: &CompileOptions) -> Vec<u8> {
    let mut raw = ffi::lua_CompileOptions::default();
    raw.optimizationLevel = options.optimization_level.min(CompileOptions::MAX_LEVEL) as c_int;
    raw.debugLevel = options.debug_level.min(CompileOptions::MAX_LEVEL) as c_int;
    let mut size = 0usize;
    // SAFETY: `source` is readable for its length; `raw` and `size` are valid for the call.
    let data = unsafe {
        ffi::luau_compile_(
            source.as_ptr().cast::<c_char>(),
            source.len(),
            &mut raw,
            &mut size,
        )
    };
    assert!(!data.is_null(), "luau_compile returned no bytecode");
    // SAFETY: luau_compile returns a malloc'ed block of `size` bytes, freed right after the
    // copy.
    let bytecode = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size) }.to_vec();
    // SAFETY: as above.
    unsafe { libc::free(data.cast::<c_void>()) };
    bytecode
}

/// Whether `chunk` is Luau bytecode rather than source text: bytecode starts with its
/// version byte (or 0, for a compile error); the version is followed by the version of the
/// type information.  Source text starts with a printable character or white space.
pub fn is_bytecode(chunk: &[u8]) -> bool {
    const VERSION_MAX: u8 = 11;
    const TYPES_VERSION: std::ops::RangeInclusive<u8> = 1..=3;
    match chunk {
        [] => false,
        [first, ..] if *first < b'\t' => true,
        [first, types, ..] => *first <= VERSION_MAX && TYPES_VERSION.contains(types),
        [_] => false,
    }
}

/// Whether creating objects on `st` cannot raise now (no memory limit; see `StateData`).
fn can_create(st: State) -> Option<CanCreate> {
    match StateData::of(st) {
        Some(data) => data.can_create(),
        // (Every state of this crate has its data; one without cannot be limited.)
        None => Some(CanCreate::checked()),
    }
}

/// What `load_op` needs, and what it reports.
struct LoadArgs<'a> {
    bytecode: &'a [u8],
    chunk_name: &'a CStr,
    status: c_int,
}

/// `luau_load` of the bytecode in the `LoadArgs` data; pushes the function or the message.
/// Memory errors raise out of it (it runs protected).
unsafe extern "C-unwind" fn load_op(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op called by `State::protected`; this frame owns nothing that needs dropping.
    let (st, data, raise) = unsafe { crate::protect::op_context::<LoadArgs<'_>>(l) };
    // SAFETY: the caller's `LoadArgs` lives for the protected call.
    let args = unsafe { &mut *data };
    args.status = raw_load(st, raise.grow(), args.bytecode, args.chunk_name);
    1
}

/// The registry key of the table (weak keys) of the main functions of the chunks loaded so
/// far (see the module docs).
static MAIN_CHUNKS: u8 = 0;

fn main_chunks_key() -> *mut c_void {
    (&raw const MAIN_CHUNKS).cast_mut().cast()
}

/// Notes the function on top as the main function of a chunk.  `[-0, +0, m]`
fn mark_main_chunk(st: State, grow: crate::token::CanGrow) {
    st.push_pointer(main_chunks_key());
    if st.raw_get(ffi::LUA_REGISTRYINDEX) == ffi::LUA_TTABLE {
        st.push_value(-2);
        st.push_bool(true);
        st.raw_set_checked(grow, -3);
    }
    st.pop(1);
}

/// Whether the function on top is the main function of a chunk.  `[-0, +0, -]`
fn is_main_chunk(st: State) -> bool {
    let top = st.top();
    st.push_pointer(main_chunks_key());
    let found = st.raw_get(ffi::LUA_REGISTRYINDEX) == ffi::LUA_TTABLE && {
        st.push_value(top);
        st.raw_get(-2) != ffi::LUA_TNIL
    };
    st.set_top(top);
    found
}

/// `luau_load` with the globals of `st` as the environment: pushes the function, or the
/// message (status LUA_ERRSYNTAX, or LUA_ERRMEM for "not enough memory").  `[-0, +1, m]`
/// (a collection step before the load's own protection).
fn raw_load(st: State, grow: crate::token::CanGrow, bytecode: &[u8], chunk_name: &CStr) -> c_int {
    // SAFETY: valid state with a free slot; the buffers are valid for the call.
    let status = unsafe {
        ffi::luau_load(
            st.as_ptr(),
            chunk_name.as_ptr(),
            bytecode.as_ptr().cast(),
            bytecode.len(),
            0,
        )
    };
    if status == 0 {
        mark_main_chunk(st, grow);
        return ffi::LUA_OK;
    }
    if st.type_of(-1) == ffi::LUA_TSTRING
        // SAFETY: checked to be a string; compared right away.
        && unsafe { st.to_bytes(-1) } == b"not enough memory"
    {
        return ffi::LUA_ERRMEM;
    }
    ffi::LUA_ERRSYNTAX
}

/// Pushes a new buffer with the bytes of the `ByteSlice` in the data: `[] -> [b]`.
unsafe extern "C-unwind" fn op_push_buffer(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op called by `State::protected`; this frame owns nothing that needs dropping.
    let (st, data, raise) = unsafe { crate::protect::op_context::<crate::ByteSlice>(l) };
    // SAFETY: the caller passed a ByteSlice that lives for the protected call and describes
    // readable memory.
    let bytes = unsafe { std::slice::from_raw_parts((*data).ptr, (*data).len) };
    st.push_buffer(raise.create(), bytes);
    1
}

/// Luau's own sandbox for the state of the calling thread (`Op::SANDBOX`): `[] -> []`.
///
/// `luaL_sandbox` makes every table among the globals (the libraries, `_G` itself) and the
/// string and vector metatables read-only, and the global table too.  `luaL_sandboxthread`
/// then gives the thread (the main thread: every coroutine made later shares it) a fresh,
/// writable global table whose metatable (read-only) reads through to the originals, so
/// scripts and the host can still define globals, but not change or remove what the
/// libraries provide.  Luau marks that new table as a "safe environment", which lets
/// `luau_load` resolve the globals a chunk reads (its imports) once, at load time: right for
/// one script per thread, Luau's pattern, but not for a runtime whose chunks share globals
/// (a function would keep seeing the value a global had when its chunk was loaded).  The
/// mark is therefore taken off again; the libraries' fast paths (builtins) stay off with it.
unsafe extern "C-unwind" fn op_sandbox(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: an op called by `State::protected`; this frame owns nothing that needs dropping
    // (the Luau functions below raise only memory errors, from `lua_newtable`).
    let (st, _, _raise) = unsafe { crate::protect::op_context::<c_void>(l) };
    // SAFETY: the calling thread of an open state, inside a protected call.
    unsafe {
        ffi::luaL_sandbox_(st.as_ptr());
        ffi::luaL_sandboxthread(st.as_ptr());
        ffi::lua_setsafeenv(st.as_ptr(), ffi::LUA_GLOBALSINDEX, 0);
    }
    0
}

impl crate::Op {
    /// Luau: a new buffer with the bytes of the `ByteSlice` in the data: `[] -> [b]`.
    pub const PUSH_BUFFER: crate::Op = crate::Op(op_push_buffer);
    /// Luau: `luaL_sandbox` and `luaL_sandboxthread` on the calling thread (see
    /// `op_sandbox`): `[] -> []`.  The data pointer is unused.
    pub const SANDBOX: crate::Op = crate::Op(op_sandbox);
}

/// The functions of this module that `open_state` registers for `State::protected`.
pub(crate) const REGISTERED_FUNCTIONS: &[ffi::lua_CFunction] =
    &[load_op, op_push_buffer, op_sandbox];

impl State {
    /// Loads a chunk of source or bytecode; pushes the function or an error message.
    /// `[-0, +1, -]`: under a memory limit the load runs protected.
    pub(crate) fn luau_load(
        self,
        code: &[u8],
        chunk_name: &CStr,
        mode: Option<&CStr>,
        options: &CompileOptions,
    ) -> c_int {
        let binary = is_bytecode(code);
        if let Some(mode) = mode {
            let mode = mode.to_bytes();
            let (kind, allowed) = if binary {
                ("binary", mode.contains(&b'b'))
            } else {
                ("text", mode.contains(&b't'))
            };
            if !allowed {
                let message = format!(
                    "attempt to load a {kind} chunk (mode is '{}')",
                    String::from_utf8_lossy(mode)
                );
                return self.load_error(&message);
            }
        }
        let compiled;
        let bytecode = if binary {
            code
        } else {
            compiled = compile(code, options);
            &compiled[..]
        };
        if let Some(create) = can_create(self) {
            return raw_load(self, create.into(), bytecode, chunk_name);
        }
        let mut args = LoadArgs {
            bytecode,
            chunk_name,
            status: ffi::LUA_OK,
        };
        match self.protected(crate::Op(load_op), (&raw mut args).cast(), 0, 1, 0) {
            ffi::LUA_OK => args.status,
            status => status,
        }
    }

    /// Pushes a load error message: a string, or the out-of-memory marker if even that
    /// cannot be made.  Returns LUA_ERRSYNTAX.  `[-0, +1, -]`
    fn load_error(self, message: &str) -> c_int {
        match can_create(self) {
            Some(create) => self.push_str(create, message),
            None => {
                let mut slice = crate::ByteSlice {
                    ptr: message.as_ptr(),
                    len: message.len(),
                };
                let status =
                    self.protected(crate::Op::PUSH_BYTES, (&raw mut slice).cast(), 0, 1, 0);
                if status != ffi::LUA_OK {
                    self.pop(1);
                    self.push_marker(crate::Marker::OutOfMemory);
                }
            }
        }
        ffi::LUA_ERRSYNTAX
    }

    /// The components of the vector at `idx`, if it is one.  `[-0, +0, -]`
    pub fn to_vector(self, idx: c_int) -> Option<[f32; 3]> {
        // SAFETY: valid state, acceptable index; a non-null result points to the vector's
        // components inside the stack slot (LUA_VECTOR_SIZE 3), copied right away.
        unsafe {
            let v = ffi::lua_tovector(self.as_ptr(), idx);
            (!v.is_null()).then(|| [*v, *v.add(1), *v.add(2)])
        }
    }

    /// Pushes a vector.  `[-0, +1, -]`: with float components a vector is a value, like a
    /// number, and nothing is allocated.
    pub fn push_vector(self, v: [f32; 3]) {
        // SAFETY: valid state with a free slot.
        unsafe { ffi::lua_pushvector(self.as_ptr(), v[0], v[1], v[2]) }
    }

    /// The bytes of the buffer at `idx`, if it is one.  `[-0, +0, -]`
    ///
    /// # Safety
    /// As `to_bytes`: the slice must not be used after the buffer may have left the stack,
    /// or after any Lua code ran (which can change its contents).
    pub unsafe fn to_buffer<'a>(self, idx: c_int) -> Option<&'a [u8]> {
        let mut len = 0usize;
        // SAFETY: valid state, acceptable index.
        let data = unsafe { ffi::lua_tobuffer(self.as_ptr(), idx, &mut len) };
        if data.is_null() {
            return None;
        }
        // SAFETY: a buffer has `len` readable bytes while it lives.
        Some(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) })
    }

    /// Pushes a new buffer with a copy of `bytes`.  `[-0, +1, m]`
    pub fn push_buffer(self, _: CanCreate, bytes: &[u8]) {
        // SAFETY: valid state with a free slot; the new buffer has room for `bytes`.
        unsafe {
            let data = ffi::lua_newbuffer(self.as_ptr(), bytes.len());
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len());
        }
    }
}

/// The userdata tag of `State::new_finalized_userdata` (0 is the tag of plain userdata).
pub(crate) const FINALIZED_TAG: c_int = 1;

/// Opens `package` and `require` (see the module docs).  Runs in `open_libraries`, protected.
pub(crate) fn open_package_library(st: State, raise: CanRaise) {
    // package = {loaded = {<libraries>}, preload = {}}
    st.new_table(raise.create(), 0, 2);
    st.new_table(raise.create(), 0, 16);
    st.push_globals();
    st.push_nil();
    while st.next(raise, -2) {
        // [package, loaded, _G, name, value]: libraries are the tables among the globals.
        if st.type_of(-1) == ffi::LUA_TTABLE && st.type_of(-2) == ffi::LUA_TSTRING {
            st.push_value(-2);
            st.insert(-2);
            st.raw_set(raise, -5);
        } else {
            st.pop(1);
        }
    }
    // [package, loaded, _G]
    st.pop(1);
    st.push_value(-1);
    st.set_field(raise, -3, c"loaded");
    st.new_table(raise.create(), 0, 0);
    st.push_value(-1);
    st.set_field(raise, -4, c"preload");
    // [package, loaded, preload] -> require with (loaded, preload) as upvalues
    st.push_cclosure(raise.create(), require, 2);
    st.push_globals();
    st.insert(-2);
    st.set_field(raise, -2, c"require");
    // [package, _G] -> _G.package = package, package.loaded.package = package
    st.insert(-2);
    st.get_field(raise, -1, c"loaded");
    st.push_value(-2);
    st.set_field(raise, -2, c"package");
    st.pop(1);
    st.set_field(raise, -2, c"package");
    st.pop(1);
}

/// Lua 5.1's `debug.traceback([thread,] [message [, level]])` on Luau's debug API (see the
/// module docs).
///
/// A raw C function: it owns no Rust values (the activation record is plain data), so its
/// Lua errors skip nothing.
unsafe extern "C-unwind" fn traceback(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; this frame owns nothing that needs dropping.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    let (co, arg) = if st.type_of(1) == ffi::LUA_TTHREAD {
        (st.to_thread(1), 1)
    } else {
        (l, 0)
    };
    let message = arg + 1;
    // (A nil error object stays nil, as the error objects of other flavours' calls do.)
    match st.type_of(message) {
        ffi::LUA_TNONE | ffi::LUA_TSTRING | ffi::LUA_TNUMBER => {}
        _ => {
            st.push_value(message);
            return 1;
        }
    }
    let mut level = if st.type_of(arg + 2) == ffi::LUA_TNUMBER {
        st.to_number(arg + 2) as c_int
    } else if co == l {
        1
    } else {
        0
    };
    if level < 0 {
        level = 0;
    }
    let has_message = st.type_of(message) != ffi::LUA_TNONE;
    if has_message {
        st.push_value(message);
        st.push_str(raise.create(), "\n");
    }
    st.push_str(raise.create(), "stack traceback:");
    let mut pieces = if has_message { 3 } else { 1 };
    let mut ar = std::mem::MaybeUninit::<ffi::lua_Debug>::zeroed();
    // SAFETY: as above; `ar` is a plain activation record that lua_getinfo fills in, and its
    // strings live as long as the functions on the stack (or in `ar.ssbuf`).
    unsafe {
        // ("f" pushes the function: only onto the running thread, which has the room.)
        let what = if co == l { c"slnf" } else { c"sln" };
        while ffi::lua_getinfo(co, level, what.as_ptr(), ar.as_mut_ptr()) != 0 {
            let main_chunk = co == l && {
                let found = is_main_chunk(st);
                st.pop(1);
                found
            };
            let ar = &*ar.as_ptr();
            if ar.currentline > 0 {
                ffi::lua_pushfstring(l, c"\n\t%s:%d: in ".as_ptr(), ar.short_src, ar.currentline);
            } else {
                ffi::lua_pushfstring(l, c"\n\t%s: in ".as_ptr(), ar.short_src);
            }
            let is_c = *ar.what == b'C' as c_char;
            if !ar.name.is_null() {
                ffi::lua_pushfstring(l, c"function '%s'".as_ptr(), ar.name);
            } else if is_c {
                st.push_str(raise.create(), "?");
            } else if ar.linedefined == 0 || main_chunk {
                st.push_str(raise.create(), "main chunk");
            } else {
                ffi::lua_pushfstring(
                    l,
                    c"function <%s:%d>".as_ptr(),
                    ar.short_src,
                    ar.linedefined,
                );
            }
            pieces += 2;
            // (Room for the lookups above within LUA_MINSTACK slots.)
            if pieces > 12 {
                ffi::lua_concat(l, pieces);
                pieces = 1;
            }
            level += 1;
        }
        ffi::lua_concat(l, pieces);
    }
    1
}

/// Replaces `debug.traceback` (see `traceback`), and makes the table of main chunks it
/// consults.  Runs in `open_libraries`, protected.
pub(crate) fn replace_traceback(st: State, raise: CanRaise) {
    st.push_pointer(main_chunks_key());
    st.new_table(raise.create(), 0, 0);
    st.new_table(raise.create(), 0, 1);
    st.push_str(raise.create(), "k");
    st.set_field(raise, -2, c"__mode");
    st.set_metatable(-2);
    st.raw_set(raise, ffi::LUA_REGISTRYINDEX);
    st.push_globals();
    if st.get_field(raise, -1, c"debug") == ffi::LUA_TTABLE {
        st.push_cclosure(raise.create(), traceback, 0);
        st.set_field(raise, -2, c"traceback");
    }
    st.pop(2);
}

/// `require(name)`: `package.loaded[name]`, or the result of `package.preload[name](name)`,
/// which is stored in `package.loaded` (true for nil).  Loads no files.
///
/// A raw C function: it owns no Rust values, so its Lua errors skip nothing.
unsafe extern "C-unwind" fn require(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: called by Lua with a valid state; this frame owns nothing that needs dropping.
    let (st, raise) = unsafe { (State::new(l), CanRaise::assume()) };
    // SAFETY: as above; raises a Lua error for a non-string argument.
    unsafe { ffi::luaL_checklstring(l, 1, std::ptr::null_mut()) };
    st.set_top(1);
    let loaded = ffi::lua_upvalueindex(1);
    let preload = ffi::lua_upvalueindex(2);
    st.push_value(1);
    if st.get_table(raise, loaded) != ffi::LUA_TNIL {
        return 1;
    }
    st.pop(1);
    st.push_value(1);
    if st.get_table(raise, preload) != ffi::LUA_TFUNCTION {
        // SAFETY: as above; the name was checked to be a string.
        unsafe {
            ffi::luaL_error(
                l,
                c"module '%s' not found:\n\tno field package.preload['%s'] (Luau has no module loader)".as_ptr(),
                ffi::lua_tolstring(l, 1, std::ptr::null_mut()),
                ffi::lua_tolstring(l, 1, std::ptr::null_mut()),
            )
        }
    }
    st.push_value(1);
    // SAFETY: as above; errors of the loader propagate to the caller of require.
    unsafe { ffi::lua_call(l, 1, 1) };
    if st.type_of(-1) == ffi::LUA_TNIL {
        st.pop(1);
        st.push_bool(true);
    }
    st.push_value(1);
    st.push_value(-2);
    st.set_table(raise, loaded);
    1
}

/// A number as Luau's `tostring` writes it: the shortest decimal that reads back as the same
/// double, without exponent if the decimal point falls within 21 digits of the first digit
/// (and not more than 5 zeros after it), else as `d.ddde+XX`; "nan", "inf" and "-inf".
pub(crate) fn number_text(n: f64) -> Vec<u8> {
    if n.is_nan() {
        return b"nan".to_vec();
    }
    if n.is_infinite() {
        return if n < 0.0 {
            b"-inf".to_vec()
        } else {
            b"inf".to_vec()
        };
    }
    if n == 0.0 {
        return if n.is_sign_negative() {
            b"-0".to_vec()
        } else {
            b"0".to_vec()
        };
    }
    // Rust's `{:e}` is a shortest round-trip form: "1.2345e-7".  Where two forms of that
    // length read back and lie equally close, Luau (Schubfach) takes the even last digit:
    // the correctly rounded form of that length (ties to even) is that one when it reads back.
    let shortest = format!("{:e}", n.abs());
    let length = shortest
        .split_once('e')
        .map_or(1, |(m, _)| m.len().saturating_sub(1));
    let rounded = format!("{:.*e}", length.saturating_sub(1), n.abs());
    let scientific = if rounded.parse::<f64>() == Ok(n.abs()) {
        rounded
    } else {
        shortest
    };
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("a decimal exponent");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let declen = digits.len() as i32;
    let dot = exponent + 1;
    let mut text = String::with_capacity(32);
    if n < 0.0 {
        text.push('-');
    }
    if (-5..=21).contains(&dot) {
        if dot <= 0 {
            text.push_str("0.");
            text.extend(std::iter::repeat_n('0', (-dot) as usize));
            text.push_str(digits);
        } else if dot >= declen {
            text.push_str(digits);
            text.extend(std::iter::repeat_n('0', (dot - declen) as usize));
        } else {
            text.push_str(&digits[..dot as usize]);
            text.push('.');
            text.push_str(&digits[dot as usize..]);
        }
    } else {
        text.push_str(&digits[..1]);
        if declen > 1 {
            text.push('.');
            text.push_str(&digits[1..]);
        }
        let e = dot - 1;
        text.push_str(&format!("e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs()));
    }
    text.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_luau_prints_them() {
        for (n, text) in [
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2f64.powi(53), "9007199254740992"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1e22, "1e+22"),
            (1.5e300, "1.5e+300"),
            (0.00001, "0.00001"),
            (0.000001, "0.000001"),
            (1e-7, "1e-07"),
            (-2.5, "-2.5"),
            (123.0, "123"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(String::from_utf8(number_text(n)).unwrap(), text, "{n}");
        }
    }

    #[test]
    fn bytecode_is_told_from_text() {
        assert!(!is_bytecode(b"return 1"));
        assert!(!is_bytecode(b""));
        assert!(is_bytecode(b"\0error"));
        assert!(is_bytecode(&compile(
            b"return 1",
            &CompileOptions::default()
        )));
    }
}
