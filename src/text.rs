//! Text through Python's codecs: strict decoding and encoding with a named codec, and the
//! ASCII names (encodings, load modes) that upstream lupa accepts as `str`, `bytes` or
//! `bytearray`.

use std::ffi::CStr;

use pyo3::exceptions::PyValueError;
use pyo3::ffi as pyffi;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

/// Strict decoding; the UnicodeDecodeError (or LookupError) propagates, as upstream.
pub(crate) fn decode_strict<'py>(
    py: Python<'py>,
    bytes: &[u8],
    codec: &CStr,
) -> PyResult<Bound<'py, PyAny>> {
    let len = bytes.len() as pyffi::Py_ssize_t;
    // SAFETY: valid buffer and C strings; returns a new reference or NULL with an exception.
    let obj = unsafe {
        if codec == c"utf-8" {
            pyffi::PyUnicode_DecodeUTF8(bytes.as_ptr().cast(), len, c"strict".as_ptr())
        } else {
            pyffi::PyUnicode_Decode(
                bytes.as_ptr().cast(),
                len,
                codec.as_ptr(),
                c"strict".as_ptr(),
            )
        }
    };
    // SAFETY: an owned reference or NULL.
    unsafe { Bound::from_owned_ptr_or_err(py, obj) }
}

/// Decodes text that must not fail to come out (error messages): with `codec` if it decodes,
/// else as latin-1 (upstream raises UnicodeDecodeError instead of the Lua error).
pub(crate) fn decode_lossless(py: Python<'_>, bytes: &[u8], codec: Option<&CStr>) -> String {
    if let Some(codec) = codec {
        if codec == c"utf-8" {
            if let Ok(s) = std::str::from_utf8(bytes) {
                return s.to_owned();
            }
        } else if let Some(s) = decode_strict(py, bytes, codec)
            .ok()
            .and_then(|s| s.extract::<String>().ok())
        {
            return s;
        }
    }
    bytes.iter().map(|&b| b as char).collect()
}

/// Encodes a `str` with a codec (strict).
pub(crate) fn encode_with<'py>(
    s: &Bound<'py, PyString>,
    codec: &CStr,
) -> PyResult<Bound<'py, PyBytes>> {
    // SAFETY: valid object and C strings; returns a new reference or NULL with an exception.
    let obj =
        unsafe { pyffi::PyUnicode_AsEncodedString(s.as_ptr(), codec.as_ptr(), c"strict".as_ptr()) };
    // SAFETY: an owned reference or NULL.
    let obj = unsafe { Bound::from_owned_ptr_or_err(s.py(), obj) }?;
    Ok(obj.cast_into::<PyBytes>()?)
}

/// The bytes of an ASCII name given as `str`, `bytes` or `bytearray`, with upstream's errors:
/// UnicodeEncodeError for non-ASCII `str`, ValueError for non-ASCII bytes and other types.
pub(crate) fn ascii_name(value: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    let raw: Vec<u8> = if let Ok(s) = value.cast::<PyString>() {
        // Upstream encodes str names as ASCII: the UnicodeEncodeError propagates.
        encode_with(s, c"ascii")?.as_bytes().to_vec()
    } else if let Ok(b) = value.cast::<PyBytes>() {
        b.as_bytes().to_vec()
    } else if let Ok(b) = value.cast::<PyByteArray>() {
        b.to_vec()
    } else {
        return Err(PyValueError::new_err(format!(
            "expected string, got {}",
            value.get_type().repr()?
        )));
    };
    if !raw.is_ascii() {
        return Err(PyValueError::new_err(
            "byte string input has unknown encoding, only ASCII is allowed",
        ));
    }
    Ok(raw)
}
