//! `LuaRuntime(...)` arguments: parsing and validation with upstream lupa's signature,
//! argument order and error messages, and the string encodings they select.

use std::ffi::CString;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyString, PyTuple};

/// How Lua strings and Python `str` convert into each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// UTF-8 (the default), with fast paths.
    Utf8,
    /// Any other Python codec, by name.
    Codec(CString),
    /// `encoding=None`: Lua strings become `bytes`; Python `str` is not converted.
    Bytes,
}

impl Encoding {
    /// The codec name for Python's codec functions (None for `Bytes`).
    pub(crate) fn codec(&self) -> Option<&std::ffi::CStr> {
        match self {
            Encoding::Utf8 => Some(c"utf-8"),
            Encoding::Codec(name) => Some(name),
            Encoding::Bytes => None,
        }
    }
}

/// The runtime's settings that never change after construction.
pub(crate) struct Options {
    pub(crate) encoding: Encoding,
    /// Encoding of Lua source code, chunk names and attribute names (never `Bytes`).
    pub(crate) source_encoding: Encoding,
    pub(crate) register_eval: bool,
    pub(crate) register_builtins: bool,
    pub(crate) unpack_returned_tuples: bool,
    /// Luau's compiler settings (`luau_optimization_level`, `luau_debug_level`); the default
    /// elsewhere, where they are ignored.
    pub(crate) compile: safe_lua::CompileOptions,
    /// `sandbox=True`: all Lua code is untrusted (see api/sandbox.rs).
    pub(crate) sandbox: bool,
    /// Lua cannot read or write Python attributes whose names start with `_` (a sandbox
    /// without the host's own attribute filter or handlers).
    pub(crate) hide_private_attributes: bool,
}

/// All constructor arguments, validated.
pub(crate) struct RuntimeArgs {
    pub(crate) options: Options,
    pub(crate) attribute_filter: Option<Py<PyAny>>,
    pub(crate) attribute_getter: Option<Py<PyAny>>,
    pub(crate) attribute_setter: Option<Py<PyAny>>,
    pub(crate) overflow_handler: Option<Py<PyAny>>,
    /// None: no accounting.  Some(0): accounting without a limit.
    pub(crate) max_memory: Option<usize>,
    pub(crate) string_hash_seed: Option<u32>,
    /// `timeout` and `max_instructions`.
    pub(crate) limits: super::LimitValues,
}

/// Upstream's ten parameters (positional or keyword) and, after them, lupa-rs' own
/// (keyword-only: `timeout`, `max_instructions`, `sandbox`, and Luau's compiler settings).
const PARAMETERS: [&str; 15] = [
    "encoding",
    "source_encoding",
    "attribute_filter",
    "attribute_handlers",
    "register_eval",
    "unpack_returned_tuples",
    "register_builtins",
    "overflow_handler",
    "max_memory",
    "string_hash_seed",
    "timeout",
    "max_instructions",
    "sandbox",
    // Luau only (see `luau_level`).
    "luau_optimization_level",
    "luau_debug_level",
];

/// How many parameters may be given positionally (upstream's).
const POSITIONAL: usize = 10;

/// Binds `*args, **kwargs` to the parameters, with upstream's (Cython `__cinit__`) error
/// messages.
fn bind<'py>(
    args: &Bound<'py, PyTuple>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<[Option<Bound<'py, PyAny>>; 15]> {
    let mut values: [Option<Bound<'py, PyAny>>; 15] = Default::default();
    if args.len() > POSITIONAL {
        return Err(PyTypeError::new_err(format!(
            "__cinit__() takes at most {POSITIONAL} positional arguments ({} given)",
            args.len()
        )));
    }
    for (slot, arg) in values.iter_mut().zip(args.iter()) {
        *slot = Some(arg);
    }
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            let name: String = key.extract()?;
            let Some(index) = PARAMETERS.iter().position(|p| *p == name) else {
                return Err(PyTypeError::new_err(format!(
                    "__cinit__() got an unexpected keyword argument '{name}'"
                )));
            };
            if values[index].is_some() {
                return Err(PyTypeError::new_err(format!(
                    "__cinit__() got multiple values for keyword argument '{name}'"
                )));
            }
            values[index] = Some(value);
        }
    }
    Ok(values)
}

fn given<'a, 'py>(value: &'a Option<Bound<'py, PyAny>>) -> Option<&'a Bound<'py, PyAny>> {
    value.as_ref().filter(|v| !v.is_none())
}

fn truth(value: &Option<Bound<'_, PyAny>>, default: bool) -> PyResult<bool> {
    match value {
        Some(v) => v.is_truthy(),
        None => Ok(default),
    }
}

/// An encoding name as upstream accepts it: ASCII `str`, `bytes` or `bytearray`.
fn encoding_name(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let raw: Vec<u8> = if let Ok(s) = value.cast::<PyString>() {
        // Upstream encodes str names as ASCII: the UnicodeEncodeError propagates.
        s.call_method1("encode", ("ascii",))?
            .cast_into::<PyBytes>()?
            .as_bytes()
            .to_vec()
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
    Ok(String::from_utf8(raw).expect("ASCII is UTF-8"))
}

/// Resolves a codec name.  UTF-8 under any spelling takes the fast paths; an unknown codec is
/// kept by name and fails on first use with LookupError, as upstream.
fn encoding_from_name(py: Python<'_>, name: &str) -> PyResult<Encoding> {
    let codecs = py.import("codecs")?;
    if let Ok(info) = codecs.call_method1("lookup", (name,)) {
        let canonical: String = info.getattr("name")?.extract()?;
        if canonical == "utf-8" {
            return Ok(Encoding::Utf8);
        }
    }
    let name = CString::new(name).map_err(|_| PyValueError::new_err("embedded null character"))?;
    Ok(Encoding::Codec(name))
}

fn callable_or_none(
    value: Option<&Bound<'_, PyAny>>,
    message: &'static str,
) -> PyResult<Option<Py<PyAny>>> {
    match value {
        Some(v) if !v.is_callable() => Err(PyValueError::new_err(message)),
        Some(v) => Ok(Some(v.clone().unbind())),
        None => Ok(None),
    }
}

type Handlers = (Option<Py<PyAny>>, Option<Py<PyAny>>);

/// `attribute_handlers`: falsy means unused; otherwise exactly two items, each callable or
/// None.
fn attribute_handlers(value: Option<&Bound<'_, PyAny>>) -> PyResult<Handlers> {
    let Some(value) = value else {
        return Ok((None, None));
    };
    if !value.is_truthy()? {
        return Ok((None, None));
    }
    let invalid =
        || PyValueError::new_err("attribute_handlers must be a sequence of two callables");
    let items: Vec<Bound<'_, PyAny>> = value
        .try_iter()
        .map_err(|_| invalid())?
        .collect::<PyResult<_>>()
        .map_err(|_| invalid())?;
    let [getter, setter] = <[Bound<'_, PyAny>; 2]>::try_from(items).map_err(|_| invalid())?;
    let check = |f: Bound<'_, PyAny>| -> PyResult<Option<Py<PyAny>>> {
        if f.is_none() {
            Ok(None)
        } else if f.is_callable() {
            Ok(Some(f.unbind()))
        } else {
            Err(invalid())
        }
    };
    Ok((check(getter)?, check(setter)?))
}

/// `string_hash_seed`, converted like a C `unsigned int` (upstream's messages).
fn hash_seed(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    let Some(value) = value else { return Ok(None) };
    let number = if value.is_instance_of::<pyo3::types::PyFloat>() {
        value.call_method0("__int__")?
    } else {
        value.clone()
    };
    let number: i128 = number
        .extract()
        .map_err(|_| PyTypeError::new_err("an integer is required"))?;
    if number < 0 {
        return Err(PyOverflowError::new_err(
            "can't convert negative value to unsigned int",
        ));
    }
    u32::try_from(number)
        .map(Some)
        .map_err(|_| PyOverflowError::new_err("value too large to convert to unsigned int"))
}

/// `max_memory`: compared with `> 0` (so a non-number raises Python's own TypeError), then
/// converted like a C `size_t`.  A value `<= 0` means accounting without a limit.
fn max_memory(value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<usize>> {
    let Some(value) = value else { return Ok(None) };
    if !value.gt(0)? {
        return Ok(Some(0));
    }
    to_size_t(value).map(Some)
}

/// A number converted the way upstream's Cython code converts to a C `size_t`: an `int` as it
/// is, any other object through its `__int__` (floats truncate; `Decimal` and `Fraction`
/// work), anything else is "an integer is required".
pub(crate) fn to_size_t(value: &Bound<'_, PyAny>) -> PyResult<usize> {
    let number = if value.is_instance_of::<pyo3::types::PyInt>() {
        value.clone()
    } else if value
        .get_type()
        .hasattr(pyo3::intern!(value.py(), "__int__"))?
    {
        value.call_method0(pyo3::intern!(value.py(), "__int__"))?
    } else {
        return Err(PyTypeError::new_err("an integer is required"));
    };
    if number.lt(0)? {
        return Err(PyOverflowError::new_err(
            "can't convert negative value to size_t",
        ));
    }
    let number: u128 = number.extract()?;
    usize::try_from(number)
        .map_err(|_| PyOverflowError::new_err("Python int too large to convert to C unsigned long"))
}

/// `luau_optimization_level` / `luau_debug_level`: an int from 0 to 2 on `lupa.luau`
/// (`None`: Luau's default, 1).  The other flavours have no such setting and accept only
/// `None`: a TypeError says so, as for any argument they do not take.
fn luau_level(name: &str, value: Option<&Bound<'_, PyAny>>, default: u8) -> PyResult<u8> {
    let Some(value) = value else {
        return Ok(default);
    };
    if !safe_lua::flavour::IS_LUAU {
        return Err(PyTypeError::new_err(format!(
            "{name} is only supported by the Luau flavour (lupa.luau)"
        )));
    }
    if value.is_instance_of::<pyo3::types::PyBool>()
        || !value.is_instance_of::<pyo3::types::PyInt>()
    {
        return Err(PyTypeError::new_err(format!(
            "{name} must be an int (0, 1 or 2), not {}",
            value.get_type().name()?
        )));
    }
    let max = safe_lua::CompileOptions::MAX_LEVEL;
    match value.extract::<i64>() {
        Ok(level) if (0..=max as i64).contains(&level) => Ok(level as u8),
        _ => Err(PyValueError::new_err(format!(
            "{name} must be 0, 1 or 2, got {}",
            value.repr()?
        ))),
    }
}

impl RuntimeArgs {
    pub(crate) fn parse(
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<RuntimeArgs> {
        let [
            encoding,
            source_encoding,
            attribute_filter,
            attribute_handlers_arg,
            register_eval,
            unpack_returned_tuples,
            register_builtins,
            overflow_handler,
            max_memory_arg,
            string_hash_seed,
            timeout,
            max_instructions,
            sandbox,
            luau_optimization_level,
            luau_debug_level,
        ] = bind(args, kwargs)?;
        let defaults = safe_lua::CompileOptions::default();
        let compile = safe_lua::CompileOptions {
            optimization_level: luau_level(
                "luau_optimization_level",
                given(&luau_optimization_level),
                defaults.optimization_level,
            )?,
            debug_level: luau_level(
                "luau_debug_level",
                given(&luau_debug_level),
                defaults.debug_level,
            )?,
        };

        // Upstream validates the seed first (it is needed to create the Lua state).
        let string_hash_seed = hash_seed(given(&string_hash_seed))?;

        let encoding = match &encoding {
            None => Encoding::Utf8,
            Some(v) if v.is_none() => Encoding::Bytes,
            Some(v) => encoding_from_name(py, &encoding_name(v)?)?,
        };
        let source_encoding = match given(&source_encoding) {
            Some(v) => encoding_from_name(py, &encoding_name(v)?)?,
            None if encoding == Encoding::Bytes => Encoding::Utf8,
            None => encoding.clone(),
        };

        let attribute_filter = callable_or_none(
            given(&attribute_filter),
            "attribute_filter must be callable",
        )?;
        let (attribute_getter, attribute_setter) =
            attribute_handlers(given(&attribute_handlers_arg))?;
        if attribute_filter.is_some() && (attribute_getter.is_some() || attribute_setter.is_some())
        {
            return Err(PyValueError::new_err(
                "attribute_filter and attribute_handlers are mutually exclusive",
            ));
        }
        let overflow_handler = callable_or_none(
            given(&overflow_handler),
            "overflow_handler must be callable",
        )?;
        let max_memory = max_memory(given(&max_memory_arg))?;
        let limits = super::LimitValues::parse(timeout.as_ref(), max_instructions.as_ref())?;
        let sandbox = truth(&sandbox, false)?;
        // A sandbox has no `python` module: asking for its functions is a contradiction.
        if sandbox && (truth(&register_eval, false)? || truth(&register_builtins, false)?) {
            return Err(PyValueError::new_err(
                "a sandbox has no python module: register_eval and register_builtins must be \
                 false with sandbox=True",
            ));
        }
        let hide_private_attributes = sandbox
            && attribute_filter.is_none()
            && attribute_getter.is_none()
            && attribute_setter.is_none();

        Ok(RuntimeArgs {
            options: Options {
                encoding,
                source_encoding,
                register_eval: !sandbox && truth(&register_eval, true)?,
                register_builtins: !sandbox && truth(&register_builtins, true)?,
                unpack_returned_tuples: truth(&unpack_returned_tuples, false)?,
                compile,
                sandbox,
                hide_private_attributes,
            },
            attribute_filter,
            attribute_getter,
            attribute_setter,
            overflow_handler,
            max_memory,
            string_hash_seed,
            limits,
        })
    }
}
