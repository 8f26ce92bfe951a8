//! The module's exception classes and the one place where Lua errors become Python ones.
//!
//! `LuaError` carries Lua's message (for runtime errors raised from Python calls, followed by
//! the Lua traceback with the innermost frame last, as upstream lupa prints it).  Its
//! subclasses are `LuaSyntaxError` (code that does not compile), `LuaMemoryError` (also a
//! `MemoryError`) and `LuaLimitError`, the base of the errors of limits: `LuaTimeoutError`
//! (also a `TimeoutError`), `LuaInstructionLimitError` and `LuaInterruptError`.  When Lua
//! raised a non-string error object (`error({code = 2})`), the exception's message is empty
//! as upstream's, but the object is available as its `value` attribute (None otherwise;
//! upstream loses it).  A `LuaSyntaxError` has `lineno` (the line in Lua's message) and
//! `incomplete` (the code only ended too early: a REPL asks for more).

use std::ffi::{CStr, CString};

use pyo3::exceptions::{PyMemoryError, PyTimeoutError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyTuple, PyType};

use crate::module_name::MODULE_NAME;

static LUA_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static LUA_SYNTAX_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static LUA_MEMORY_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static LUA_TIMEOUT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static LUA_INSTRUCTION_LIMIT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static LUA_INTERRUPT_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn new_exception_type<'py>(
    py: Python<'py>,
    name: &str,
    doc: &CStr,
    bases: &Bound<'py, PyTuple>,
) -> PyResult<Bound<'py, PyType>> {
    let qualified = CString::new(format!("lupa.{MODULE_NAME}.{name}")).expect("no NUL in names");
    // SAFETY: valid C strings; `bases` is a tuple of exception classes; the result is a new
    // reference or NULL with an exception set.
    let ty = unsafe {
        pyo3::ffi::PyErr_NewExceptionWithDoc(
            qualified.as_ptr(),
            doc.as_ptr(),
            bases.as_ptr(),
            std::ptr::null_mut(),
        )
    };
    // SAFETY: `ty` is an owned reference (or NULL, handled by from_owned_ptr_or_err).
    let ty = unsafe { Bound::from_owned_ptr_or_err(py, ty) }?;
    Ok(ty.cast_into::<PyType>()?)
}

/// Creates the exception classes and adds them to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let exception = py.get_type::<pyo3::exceptions::PyException>();
    let lua_error = new_exception_type(
        py,
        "LuaError",
        c"Base class for errors in the Lua runtime.",
        &PyTuple::new(py, [exception])?,
    )?;
    let syntax_error = new_exception_type(
        py,
        "LuaSyntaxError",
        c"Syntax error in Lua code.",
        &PyTuple::new(py, [&lua_error])?,
    )?;
    let memory_error = new_exception_type(
        py,
        "LuaMemoryError",
        c"Memory error in Lua code.",
        &PyTuple::new(py, [lua_error.clone(), py.get_type::<PyMemoryError>()])?,
    )?;
    let limit_error = new_exception_type(
        py,
        "LuaLimitError",
        c"Lua code was stopped by a limit of its runtime (time, instructions, interruption).",
        &PyTuple::new(py, [&lua_error])?,
    )?;
    let timeout_error = new_exception_type(
        py,
        "LuaTimeoutError",
        c"Lua code ran past its runtime's time limit.",
        &PyTuple::new(py, [limit_error.clone(), py.get_type::<PyTimeoutError>()])?,
    )?;
    let instruction_limit_error = new_exception_type(
        py,
        "LuaInstructionLimitError",
        c"Lua code ran out of its runtime's instruction budget.",
        &PyTuple::new(py, [&limit_error])?,
    )?;
    let interrupt_error = new_exception_type(
        py,
        "LuaInterruptError",
        c"Lua code was stopped by LuaRuntime.interrupt().",
        &PyTuple::new(py, [&limit_error])?,
    )?;
    // Non-string Lua error objects are kept on the instance; None otherwise.
    lua_error.setattr("value", py.None())?;
    // Set on instances by `syntax_error`; the class defaults hold for any other instance (one
    // made by Python code, say).
    syntax_error.setattr("lineno", py.None())?;
    syntax_error.setattr("incomplete", false)?;
    module.add("LuaError", &lua_error)?;
    module.add("LuaSyntaxError", &syntax_error)?;
    module.add("LuaMemoryError", &memory_error)?;
    module.add("LuaLimitError", &limit_error)?;
    module.add("LuaTimeoutError", &timeout_error)?;
    module.add("LuaInstructionLimitError", &instruction_limit_error)?;
    module.add("LuaInterruptError", &interrupt_error)?;
    let _ = LUA_ERROR.set(py, lua_error.unbind());
    let _ = LUA_SYNTAX_ERROR.set(py, syntax_error.unbind());
    let _ = LUA_MEMORY_ERROR.set(py, memory_error.unbind());
    let _ = LUA_TIMEOUT_ERROR.set(py, timeout_error.unbind());
    let _ = LUA_INSTRUCTION_LIMIT_ERROR.set(py, instruction_limit_error.unbind());
    let _ = LUA_INTERRUPT_ERROR.set(py, interrupt_error.unbind());
    Ok(())
}

/// Which exception class an error maps to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum ErrorKind {
    Runtime,
    Syntax,
    Memory,
    Timeout,
    InstructionLimit,
    Interrupt,
}

impl ErrorKind {
    fn class(self, py: Python<'_>) -> &Bound<'_, PyType> {
        let cell = match self {
            ErrorKind::Runtime => &LUA_ERROR,
            ErrorKind::Syntax => &LUA_SYNTAX_ERROR,
            ErrorKind::Memory => &LUA_MEMORY_ERROR,
            ErrorKind::Timeout => &LUA_TIMEOUT_ERROR,
            ErrorKind::InstructionLimit => &LUA_INSTRUCTION_LIMIT_ERROR,
            ErrorKind::Interrupt => &LUA_INTERRUPT_ERROR,
        };
        cell.get(py)
            .expect("exception classes are created at import")
            .bind(py)
    }
}

/// A `LuaError` (or subclass) with the given argument.
pub(crate) fn new_error<A>(py: Python<'_>, kind: ErrorKind, message: A) -> PyErr
where
    A: for<'py> IntoPyObject<'py> + Send + Sync + 'static,
{
    PyErr::from_type(kind.class(py).clone(), (message,))
}

/// `LuaError(message)`.
pub(crate) fn lua_error(py: Python<'_>, message: impl Into<String>) -> PyErr {
    new_error(py, ErrorKind::Runtime, message.into())
}

/// Builds the exception for a Lua error with the given message, attaching `value` (the Lua
/// error object converted to Python) as the exception's `value` attribute.
pub(crate) fn error_with_value(
    py: Python<'_>,
    kind: ErrorKind,
    message: Py<PyAny>,
    value: Option<Py<PyAny>>,
) -> PyErr {
    let err = PyErr::from_type(kind.class(py).clone(), (message,));
    if let Some(value) = value {
        // Setting an attribute on a fresh exception instance cannot fail in practice; if it
        // does, the exception without the attribute is still the right one to raise.
        let _ = err.value(py).setattr("value", value);
    }
    err
}

/// What a `LuaSyntaxError` tells besides its message.
pub(crate) struct SyntaxDetails {
    /// The line Lua reports in the message (None when it reports none).
    pub(crate) lineno: Option<u32>,
    /// The code is only cut short: more input could complete it (see `is_incomplete_input`).
    pub(crate) incomplete: bool,
}

/// `LuaSyntaxError(message)` with its `lineno` and `incomplete` attributes.
pub(crate) fn syntax_error(py: Python<'_>, message: Py<PyAny>, details: SyntaxDetails) -> PyErr {
    let err = PyErr::from_type(ErrorKind::Syntax.class(py).clone(), (message,));
    let instance = err.value(py);
    // As in `error_with_value`: a fresh instance takes attributes; if it did not, the class
    // defaults (None, False) would still describe an error without details.
    let _ = instance.setattr("lineno", details.lineno);
    let _ = instance.setattr("incomplete", details.incomplete);
    err
}

/// How a load error message ends when Lua reached the end of the input: Lua names that token
/// `<eof>`, quoted by Lua 5.1 and LuaJIT (`near '<eof>'`), not by Lua 5.2 and later.
const NEAR_EOF: &[u8] = if cfg!(any(feature = "lua51", feature = "luajit")) {
    b" near '<eof>'"
} else {
    b" near <eof>"
};

/// Whether a load error says only that the input ended too early (`'end' expected near
/// <eof>`, `unfinished string near <eof>`, ...): more input could complete the code.  This is
/// the test of `incomplete()` in lua.c, the standalone interpreter's REPL, made exact for the
/// flavour: a message about a token that merely contains `'<eof>'` (an unfinished string at
/// the end of a line, whose text is quoted in the message) is not taken for the end of input,
/// except on Lua 5.1/LuaJIT when the string's text itself ends in ` near '<eof>`.
#[cfg_attr(feature = "luau", allow(dead_code))]
pub(crate) fn is_incomplete_input(message: &[u8]) -> bool {
    message.ends_with(NEAR_EOF)
}

/// `is_incomplete_input` for the messages of Luau's compiler, which needs the `source` and the
/// message's line (`lineno`): Luau ends the message with `got <eof>` (or `got unfinished
/// comment`) when the input ended inside a construct, but says "Malformed string; did you
/// forget to finish it?" both for a string that reached the end of the input and for a quoted
/// string cut by a newline.  The string of that message started on line `lineno`: a long
/// bracket string there runs to the end of the input; a quoted one did only if that line is
/// the last one of the source.
#[cfg_attr(not(feature = "luau"), allow(dead_code))]
pub(crate) fn is_incomplete_luau_input(message: &[u8], source: &[u8], lineno: Option<u32>) -> bool {
    if message.ends_with(b", got <eof>") || message.ends_with(b", got unfinished comment") {
        return true;
    }
    if !message.ends_with(b"Malformed string; did you forget to finish it?") {
        return false;
    }
    let Some(lineno) = lineno.and_then(|n| usize::try_from(n).ok()) else {
        return false;
    };
    let lines: Vec<&[u8]> = source.split(|&b| b == b'\n').collect();
    let Some(line) = lineno.checked_sub(1).and_then(|i| lines.get(i)) else {
        return false;
    };
    let opens_long_bracket = line.iter().enumerate().any(|(i, &b)| {
        b == b'[' && {
            let rest = &line[i + 1..];
            let equals = rest.iter().take_while(|&&c| c == b'=').count();
            rest.get(equals) == Some(&b'[')
        }
    });
    opens_long_bracket || lineno == lines.len()
}

/// The line of a load error message for a chunk named `=` (an empty chunk id):
/// `:LINE: text`.  None for messages without a line (a bad binary chunk, for one).
pub(crate) fn line_of_anonymous_error(message: &[u8]) -> Option<u32> {
    let rest = message.strip_prefix(b":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || rest.get(digits) != Some(&b':') {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// `LuaMemoryError()`, what upstream raises when Lua reports its memory error status.
pub(crate) fn memory_error_without_message(py: Python<'_>) -> PyErr {
    PyErr::from_type(ErrorKind::Memory.class(py).clone(), ())
}

/// Whether a Lua message reports an out-of-memory condition (Lua 5.3 says "not enough memory
/// for buffer allocation" for string buffers).
pub(crate) fn is_memory_message(message: &str) -> bool {
    message.contains("not enough memory")
}

/// Reorders the lines of Lua's `stack traceback:` blocks so that the innermost frame comes
/// last, like a Python traceback (upstream lupa does this since 2.0).
///
/// Frame lines look like `\t[string "..."]:1: in ...` or `\t[C]: in ...`.  Any other line
/// (for instance `\t(...tail calls...)`, or a chunk named `@file.lua`) ends the block; if the
/// message ends outside a block of frame lines, upstream keeps Lua's original order for the
/// whole message, and so do we.
pub(crate) fn reorder_traceback(message: &str) -> String {
    let mut lines: Vec<&str> = Vec::new();
    let mut insert_at: Option<usize> = None;
    for line in message.split('\n') {
        if line == "stack traceback:" {
            lines.push(line);
            insert_at = Some(lines.len());
            continue;
        }
        match insert_at {
            Some(pos) if is_frame_line(line) => lines.insert(pos, line),
            _ => {
                lines.push(line);
                insert_at = None;
            }
        }
    }
    if insert_at.is_none() {
        message.to_owned()
    } else {
        lines.join("\n")
    }
}

fn is_frame_line(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.len() < line.len() && trimmed.starts_with('[')
}

/// The error of `copy`/`pickle` for objects bound to a live runtime or lock (upstream's
/// message, from Cython).
pub(crate) fn not_reducible() -> PyErr {
    pyo3::exceptions::PyTypeError::new_err("no default __reduce__ due to non-trivial __cinit__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_reversed() {
        let msg =
            "m\nstack traceback:\n\t[C]: in function 'error'\n\t[string \"x\"]:1: in main chunk";
        assert_eq!(
            reorder_traceback(msg),
            "m\nstack traceback:\n\t[string \"x\"]:1: in main chunk\n\t[C]: in function 'error'"
        );
    }

    #[test]
    fn a_foreign_line_at_the_end_keeps_the_original_order() {
        let msg = "m\nstack traceback:\n\t[C]: in ?\n\t(...tail calls...)\n\t[string \"x\"]:1: in main chunk";
        assert_eq!(reorder_traceback(msg), msg);
        let msg = "m\nstack traceback:\n\t[C]: in ?\n\tfile.lua:1: in main chunk";
        assert_eq!(reorder_traceback(msg), msg);
    }

    #[test]
    fn every_block_is_reversed_separately() {
        let msg = "a\nstack traceback:\n\t[x]\n\t[y]\nstack traceback:\n\t[1]\n\t[2]";
        assert_eq!(
            reorder_traceback(msg),
            "a\nstack traceback:\n\t[y]\n\t[x]\nstack traceback:\n\t[2]\n\t[1]"
        );
    }

    #[test]
    fn input_that_ends_early_is_incomplete() {
        let eof = std::str::from_utf8(NEAR_EOF).unwrap();
        for message in [
            format!("x:1: 'end' expected{eof}"),
            format!("x:3: 'end' expected (to close 'for' at line 1){eof}"),
            format!("x:1: unfinished long comment (starting at line 1){eof}"),
            format!("x:1: unexpected symbol{eof}"),
        ] {
            assert!(is_incomplete_input(message.as_bytes()), "{message}");
        }
        for message in [
            "x:1: unexpected symbol near '='",
            "x:1: unexpected symbol near ''<eof>''",
            "x:1: unfinished string near '\"'<eof>'",
            "x:1: <eof> expected near 'x'",
            "attempt to load a binary chunk (mode is 't')",
            "",
        ] {
            assert!(!is_incomplete_input(message.as_bytes()), "{message}");
        }
    }

    #[test]
    fn luau_input_that_ends_early_is_incomplete() {
        let incomplete = |message: &str, source: &str, line| {
            is_incomplete_luau_input(message.as_bytes(), source.as_bytes(), Some(line))
        };
        assert!(incomplete(
            "x:1: Expected identifier when parsing expression, got <eof>",
            "f(",
            1
        ));
        assert!(incomplete(
            "x:1: Expected 'end' (to close 'do' at line 1), got <eof>",
            "do",
            1
        ));
        assert!(incomplete(
            "x:1: Expected identifier, got unfinished comment",
            "--[[",
            1
        ));
        let malformed = "x:1: Malformed string; did you forget to finish it?";
        assert!(incomplete(malformed, "x = \"abc", 1));
        assert!(incomplete(malformed, "x = [==[abc\nmore", 1));
        assert!(!incomplete(malformed, "x = \"a\n", 1));
        assert!(!incomplete(malformed, "x = \"a\nb\"", 1));
        assert!(!incomplete(
            "x:1: Expected identifier when parsing expression, got '='",
            "x = = 1",
            1
        ));
        assert!(!is_incomplete_luau_input(
            malformed.as_bytes(),
            b"x = \"a",
            None
        ));
    }

    #[test]
    fn the_line_of_an_anonymous_chunk_error() {
        assert_eq!(line_of_anonymous_error(b":12: unexpected symbol"), Some(12));
        assert_eq!(line_of_anonymous_error(b":1:x"), Some(1));
        assert_eq!(line_of_anonymous_error(b": bad binary format"), None);
        assert_eq!(line_of_anonymous_error(b":12 no colon"), None);
        assert_eq!(line_of_anonymous_error(b"x:1: y"), None);
        assert_eq!(line_of_anonymous_error(b":99999999999: y"), None);
    }

    #[test]
    fn messages_without_traceback_are_unchanged() {
        assert_eq!(reorder_traceback("plain"), "plain");
        assert_eq!(reorder_traceback(""), "");
    }
}
