//! Deep conversion of Lua values into plain Python data (`to_python`).
//!
//! A table whose keys are exactly the integers 1..n becomes a `list`, any other table a
//! `dict` (an empty one becomes what `DeepOptions::empty` says); nested tables are converted
//! too.  Tables are read raw (no metamethods run: converting runs no Lua code, and cannot be
//! stopped halfway by a script).  A table met again (shared, or a cycle) becomes the same
//! Python object, so a table that contains itself becomes a list or dict that contains itself.
//! Keys are converted without recursion (a Python dict key must be hashable: a table used as
//! a key stays a wrapper).  Functions, coroutines and foreign userdata stay wrappers, or
//! raise `TypeError` with `strict`; userdata of Python objects become the objects.

use std::collections::HashMap;
use std::ffi::{c_int, c_void};

use pyo3::exceptions::{PyRecursionError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use safe_lua::sys::{LUA_TNUMBER, LUA_TTABLE};

use crate::runtime::Lua;

/// What an empty table becomes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EmptyTable {
    Dict,
    List,
}

/// The options of `to_python`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DeepOptions {
    /// Tables nested deeper than this stay wrappers (or raise with `strict`); None: no limit.
    pub(crate) max_depth: Option<usize>,
    pub(crate) empty: EmptyTable,
    /// Raise `TypeError` for values that have no plain Python form (functions, coroutines,
    /// foreign userdata) and `ValueError` for tables beyond `max_depth`, instead of keeping
    /// wrappers.
    pub(crate) strict: bool,
}

/// Converts the Lua value at `idx` deeply.  `[-0, +0]`
pub(crate) fn to_python_deep<'py>(
    py: Python<'py>,
    lua: &Lua<'_>,
    idx: c_int,
    options: DeepOptions,
) -> PyResult<Bound<'py, PyAny>> {
    let mut seen = HashMap::new();
    let idx = lua.st.abs_index(idx);
    Converter {
        lua,
        options,
        seen: &mut seen,
    }
    .value(py, idx, 0)
}

struct Converter<'a, 'rt, 'py> {
    lua: &'a Lua<'rt>,
    options: DeepOptions,
    /// Tables converted so far, by address.
    seen: &'a mut HashMap<*const c_void, Bound<'py, PyAny>>,
}

impl<'py> Converter<'_, '_, 'py> {
    /// The value at (absolute) `idx`, at nesting `depth`.
    fn value(&mut self, py: Python<'py>, idx: c_int, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        let st = self.lua.st;
        match st.type_of(idx) {
            LUA_TTABLE => self.table(py, idx, depth),
            _ => {
                let value = self.lua.to_python(py, idx)?;
                if self.options.strict && value.is_instance_of::<crate::convert::LuaObject>() {
                    return Err(PyTypeError::new_err(format!(
                        "a Lua {} has no plain Python form",
                        st.type_name(st.type_of(idx))
                    )));
                }
                Ok(value)
            }
        }
    }

    fn table(&mut self, py: Python<'py>, idx: c_int, depth: usize) -> PyResult<Bound<'py, PyAny>> {
        let st = self.lua.st;
        let address = st.to_pointer(idx);
        if let Some(done) = self.seen.get(&address) {
            return Ok(done.clone());
        }
        if self.options.max_depth.is_some_and(|max| depth > max) {
            if self.options.strict {
                return Err(PyValueError::new_err(format!(
                    "Lua tables nested deeper than max_depth={}",
                    self.options.max_depth.unwrap_or(0)
                )));
            }
            return self.lua.to_python(py, idx);
        }
        // Each level uses C stack and a few Lua stack slots (for next()): running out of
        // either is too deep a recursion (Lua 5.1 and LuaJIT have the fewest slots, 8,000
        // and 65,500, and run out of them first in release builds).
        let too_deep = || PyRecursionError::new_err("Lua tables nested too deeply to convert");
        if !crate::runtime::has_stack_room(depth as u32) {
            return Err(too_deep());
        }
        self.lua.ensure_stack(py, 3).map_err(|_| too_deep())?;
        let length = self.sequence_length(idx);
        let result = match length {
            Some(0) if self.options.empty == EmptyTable::Dict => PyDict::new(py).into_any(),
            Some(n) => PyList::new(py, (0..n).map(|_| py.None()))?.into_any(),
            None => PyDict::new(py).into_any(),
        };
        self.seen.insert(address, result.clone());
        // [.., nil] -> [.., key, value] per entry.
        st.push_nil();
        // SAFETY: a table at `idx`; the key on top comes from `next` itself, and nothing
        // changes the table meanwhile (no Lua code runs).
        while unsafe { st.next_trusted(idx) } {
            let top = st.top();
            let converted = self.value(py, top, depth + 1);
            let converted = match converted {
                Ok(v) => v,
                Err(err) => {
                    st.pop(2);
                    return Err(err);
                }
            };
            let stored = match length {
                Some(n) if n > 0 => {
                    let i = positive_integer(st, top - 1).expect("a sequence key") as usize;
                    result
                        .cast::<PyList>()
                        .expect("made above")
                        .set_item(i - 1, converted)
                }
                _ => self.lua.to_python(py, top - 1).and_then(|key| {
                    result
                        .cast::<PyDict>()
                        .expect("made above")
                        .set_item(key, converted)
                }),
            };
            st.pop(1);
            if let Err(err) = stored {
                st.pop(1);
                return Err(err);
            }
        }
        Ok(result)
    }

    /// n when the table's keys are exactly the integers 1..n (0 for an empty table), else
    /// None.  `[-0, +0]`
    fn sequence_length(&self, idx: c_int) -> Option<usize> {
        let st = self.lua.st;
        let mut count = 0usize;
        let mut is_sequence = true;
        st.push_nil();
        // SAFETY: as in `table`.
        while unsafe { st.next_trusted(idx) } {
            count += 1;
            if is_sequence {
                is_sequence = positive_integer(st, -2).is_some();
            }
            st.pop(1);
        }
        if !is_sequence {
            return None;
        }
        // Positive integer keys, `count` of them: a sequence iff the largest is `count`.
        let mut max = 0i64;
        st.push_nil();
        // SAFETY: as in `table`.
        while unsafe { st.next_trusted(idx) } {
            max = max.max(positive_integer(st, -2).unwrap_or(0));
            st.pop(1);
        }
        (max as usize == count).then_some(count)
    }
}

/// The key at `idx` as a positive integer, if it is one (a number with no fraction: Lua 5.1,
/// 5.2 and LuaJIT have only floats, and their `lua_tointegerx` truncates).
fn positive_integer(st: safe_lua::State, idx: c_int) -> Option<i64> {
    if st.type_of(idx) != LUA_TNUMBER {
        return None;
    }
    if let Some(i) = st.to_integer_subtype(idx) {
        return (i >= 1).then_some(i);
    }
    let n = st.to_number(idx);
    (n >= 1.0 && n.fract() == 0.0 && n < 9.007_199_254_740_992e15).then_some(n as i64)
}
