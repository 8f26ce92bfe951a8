//! The frames of a Lua traceback, as frames of the Python traceback of a `LuaError`.
//!
//! A runtime error raised by a call from Python carries Lua's traceback in its message
//! ("stack traceback:" and one line per frame, innermost last).  Like Cython does for its own
//! code, each Lua frame with a source becomes a Python frame (a code object named after the
//! Lua function, with the chunk name as file name and the frame's line), so that pytest,
//! IDEs and `logging` show where in the Lua source the error happened.  C frames (`[C]`) and
//! tail-call markers are left out.  The message itself stays as it is (upstream's text).
//!
//! Code objects are cached per (chunk, function, line): an error raised again and again at
//! the same place costs a frame object per Lua frame, not a compilation.

use std::collections::HashMap;
use std::ffi::{CString, c_int};
use std::sync::Mutex;

use pyo3::ffi as pyffi;
use pyo3::prelude::*;

/// (chunk name, function name, first line) of a code object.
type CodeKey = (String, String, c_int);

/// Code objects made so far.
static CODES: Mutex<Option<HashMap<CodeKey, Py<PyAny>>>> = Mutex::new(None);

/// Above this many entries the cache starts again (a program that makes code on the fly
/// would otherwise grow it for ever).
const MAX_CODES: usize = 4096;

/// One Lua frame with a source.
#[derive(Debug, PartialEq)]
struct LuaFrame<'a> {
    source: &'a str,
    line: c_int,
    name: String,
}

/// The Lua frames of an error message in Lua's own order (innermost first), innermost last.
fn parse(message: &str) -> Vec<LuaFrame<'_>> {
    let Some((_, traceback)) = message.split_once("stack traceback:\n") else {
        return Vec::new();
    };
    traceback
        .lines()
        .map_while(|line| line.strip_prefix('\t'))
        .filter_map(|line| {
            let (location, what) = line.split_once(": in ")?;
            let (source, line) = location.rsplit_once(':')?;
            let line = line.parse().ok()?;
            Some(LuaFrame {
                source,
                line,
                name: function_name(what),
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

/// "function 'f'" → "f", "main chunk" → "<main chunk>", "function <[string "x"]:3>" → as is.
fn function_name(what: &str) -> String {
    if let Some(start) = what.find('\'')
        && let Some(len) = what[start + 1..].find('\'')
    {
        return what[start + 1..start + 1 + len].to_owned();
    }
    if what == "main chunk" {
        return "<main chunk>".to_owned();
    }
    what.to_owned()
}

/// The cached code object of a frame (a new strong reference), made on first use.
fn code_for(py: Python<'_>, frame: &LuaFrame<'_>) -> Option<Py<PyAny>> {
    let key = (frame.source.to_owned(), frame.name.clone(), frame.line);
    let mut codes = CODES.lock().unwrap_or_else(|e| e.into_inner());
    let codes = codes.get_or_insert_with(HashMap::new);
    if let Some(code) = codes.get(&key) {
        return Some(code.clone_ref(py));
    }
    if codes.len() >= MAX_CODES {
        codes.clear();
    }
    let source = CString::new(file_name(frame.source).replace('\0', "")).ok()?;
    let name = CString::new(frame.name.replace('\0', "")).ok()?;
    // SAFETY: valid C strings; returns a new reference or NULL with an exception set.
    let code = unsafe { pyffi::PyCode_NewEmpty(source.as_ptr(), name.as_ptr(), frame.line) };
    if code.is_null() {
        // SAFETY: the GIL is held; the failure is not worth reporting (no frame then).
        unsafe { pyffi::PyErr_Clear() };
        return None;
    }
    // SAFETY: `code` is a new reference.
    let code: Py<PyAny> = unsafe { Bound::from_owned_ptr(py, code.cast()) }.unbind();
    codes.insert(key, code.clone_ref(py));
    Some(code)
}

/// The file name of a frame's code: the chunk name, except where that names something other
/// than a regular file (`/dev/zero`, a FIFO: Lua code chooses its chunk names, and can write
/// "stack traceback:" lines into its error messages), which Python's `linecache` would read
/// when the traceback is printed, without end: in angle brackets, which `linecache` skips.
fn file_name(source: &str) -> std::borrow::Cow<'_, str> {
    match std::fs::metadata(source) {
        Ok(metadata) if !metadata.is_file() => format!("<{source}>").into(),
        _ => source.into(),
    }
}

/// `err` with the Lua frames of `message` (Lua's text, before upstream's reordering)
/// appended to its traceback.
pub(crate) fn with_lua_frames(py: Python<'_>, err: PyErr, message: &str) -> PyErr {
    let frames = parse(message);
    if frames.is_empty() {
        return err;
    }
    match traceback_of(py, &frames) {
        Ok(Some(tb)) => {
            let value = err.into_value(py).into_bound(py);
            // SAFETY: an exception instance and a traceback object.
            unsafe { pyffi::PyException_SetTraceback(value.as_ptr(), tb.as_ptr()) };
            PyErr::from_value(value.into_any())
        }
        // No frame could be made: the exception as it is.
        _ => err,
    }
}

/// A traceback of `frames` (innermost last), outermost first.
fn traceback_of<'py>(
    py: Python<'py>,
    frames: &[LuaFrame<'_>],
) -> PyResult<Option<Bound<'py, PyAny>>> {
    static GLOBALS: pyo3::sync::PyOnceLock<Py<pyo3::types::PyDict>> = pyo3::sync::PyOnceLock::new();
    static TRACEBACK_TYPE: pyo3::sync::PyOnceLock<Py<pyo3::types::PyType>> =
        pyo3::sync::PyOnceLock::new();
    let globals = GLOBALS.get_or_init(py, || pyo3::types::PyDict::new(py).unbind());
    let traceback_type = TRACEBACK_TYPE.import(py, "types", "TracebackType")?;
    let mut tb: Option<Bound<'py, PyAny>> = None;
    for frame in frames.iter().rev() {
        let Some(code) = code_for(py, frame) else {
            continue;
        };
        // SAFETY: the GIL is held (this thread's state); a code object and a dict; returns
        // a new reference or NULL with an exception set.
        let py_frame = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                pyffi::PyFrame_New(
                    pyffi::PyThreadState_Get(),
                    code.as_ptr().cast(),
                    globals.as_ptr(),
                    std::ptr::null_mut(),
                )
                .cast(),
            )
        }?;
        let next = tb.take().unwrap_or_else(|| py.None().into_bound(py));
        tb = Some(traceback_type.call1((next, py_frame, 0, frame.line))?);
    }
    Ok(tb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_a_source_are_kept_innermost_last() {
        let message = "[string \"x\"]:2: boom\nstack traceback:\n\
                       \t[C]: in function 'error'\n\
                       \t[string \"x\"]:2: in function 'inner'\n\
                       \t[string \"x\"]:5: in main chunk";
        assert_eq!(
            parse(message),
            vec![
                LuaFrame {
                    source: "[string \"x\"]",
                    line: 5,
                    name: "<main chunk>".to_owned()
                },
                LuaFrame {
                    source: "[string \"x\"]",
                    line: 2,
                    name: "inner".to_owned()
                },
            ]
        );
    }

    #[test]
    fn no_traceback_no_frames() {
        assert!(parse("just a message").is_empty());
        assert_eq!(function_name("local 'f'"), "f");
        assert_eq!(
            function_name("function <file.lua:3>"),
            "function <file.lua:3>"
        );
    }
}
