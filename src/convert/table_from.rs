//! `LuaRuntime.table()` and `LuaRuntime.table_from()`: Lua tables built from Python values.
//!
//! Differences from upstream, all where upstream crashes or loses data: storing runs
//! protected (a NaN key or hitting the memory limit raises instead of aborting the process),
//! a Lua table of another runtime is rejected, and with `recursive=True` every Python
//! container maps to exactly one Lua table, so shared sub-objects stay shared and cycles stay
//! cycles (upstream turns a second reference into an empty table).

use std::collections::HashMap;
use std::ffi::c_int;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple, PyType};
use safe_lua::sys::LUA_TTABLE;

use super::{LuaObject, LuaTable, PyProtocolWrapper};
use crate::runtime::Lua;

static SEQUENCE: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static MAPPING: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn abc<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "collections.abc", name)
}

/// Fills one Lua table (at stack index `table`) from Python values.
struct Builder<'a, 'rt> {
    lua: &'a Lua<'rt>,
    table: c_int,
    /// The last array index used: the counter runs on across `table_from` arguments.
    length: i64,
}

/// Containers already converted by a recursive `table_from`.
#[derive(Default)]
struct Converted {
    /// Object address -> registry reference of its table.
    tables: HashMap<usize, c_int>,
    /// The converted objects, kept alive until the end: a container that an iterator made
    /// and dropped could otherwise be freed, and a new one get its address.
    alive: Vec<Py<PyAny>>,
}

impl Builder<'_, '_> {
    /// Stores the key and value on top of the stack into the table.  `[-2, +0]`
    fn store(&self, py: Python<'_>) -> PyResult<()> {
        self.lua.raw_set(py, self.table)
    }

    /// Appends a value (None leaves a hole).
    fn append(
        &mut self,
        py: Python<'_>,
        value: &Bound<'_, PyAny>,
        converted: &mut Option<Converted>,
    ) -> PyResult<()> {
        self.length += 1;
        if !self.lua.push_if_number(value) {
            push_value(py, self.lua, value, converted)?;
        }
        // (Decided after the push, which can run Python code that sets a limit.)
        if let Some(grow) = self.lua.core.can_grow() {
            self.lua.st.raw_set_i(grow, self.table, self.length);
            return Ok(());
        }
        self.lua.st.push_integer(self.length);
        self.lua.st.insert(-2);
        self.store(py)
    }

    /// Stores `key = value` (a None key is `python.none`; a None value stores nothing).
    fn set(
        &mut self,
        py: Python<'_>,
        key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        converted: &mut Option<Converted>,
    ) -> PyResult<()> {
        self.lua.push_key(py, key)?;
        push_value(py, self.lua, value, converted)?;
        self.store(py)
    }

    /// Adds the contents of one `table_from` argument.
    fn fill_from(
        &mut self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        converted: &mut Option<Converted>,
    ) -> PyResult<()> {
        self.lua.ensure_stack(py, 6)?;
        if let Ok(dict) = source.cast::<PyDict>() {
            for (key, value) in dict.iter() {
                self.set(py, &key, &value, converted)?;
            }
        } else if let Ok(table) = source.cast::<LuaTable>() {
            self.copy_lua_table(py, table.as_super().get())?;
        } else if source.is_instance(abc(py, &MAPPING, "Mapping")?)? {
            for key in source.try_iter()? {
                let key = key?;
                let value = source.get_item(&key)?;
                self.set(py, &key, &value, converted)?;
            }
        } else if let Ok(list) = source.cast_exact::<PyList>() {
            // (Indexing instead of the iterator protocol: the most common argument, and
            // the list's current length is re-read on every step.)
            for item in list.iter() {
                self.append(py, &item, converted)?;
            }
        } else if let Ok(tuple) = source.cast_exact::<PyTuple>() {
            for item in tuple.iter() {
                self.append(py, &item, converted)?;
            }
        } else {
            for item in source.try_iter()? {
                self.append(py, &item?, converted)?;
            }
        }
        Ok(())
    }

    /// Copies all pairs of a Lua table (of the same runtime).
    fn copy_lua_table(&mut self, py: Python<'_>, table: &LuaObject) -> PyResult<()> {
        let st = self.lua.st;
        let _guard = self.lua.stack_guard();
        table.push_value(py, self.lua)?;
        let source = st.top();
        // (Lua code may have replaced the wrapper's registry entry with any value.)
        if st.type_of(source) != LUA_TTABLE {
            return Err(PyTypeError::new_err(format!(
                "cannot copy the pairs of a non-table (found a Lua {})",
                st.type_name(st.type_of(source))
            )));
        }
        st.push_nil();
        // (A protected store can run a collection step, and finalizers can change the source.)
        while self.lua.next(py, source, false)? {
            st.push_value(-2);
            st.insert(-2);
            self.store(py)?;
        }
        Ok(())
    }
}

/// Whether a value is converted as a nested table by `recursive=True`.
fn is_container(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<bool> {
    if value.is_none()
        || value.is_instance_of::<PyBool>()
        || value.is_instance_of::<PyInt>()
        || value.is_instance_of::<PyFloat>()
        || value.is_instance_of::<PyString>()
        || value.is_instance_of::<PyBytes>()
        || value.is_instance_of::<LuaObject>()
        || value.is_instance_of::<PyProtocolWrapper>()
    {
        return Ok(false);
    }
    Ok(value.is_instance_of::<PyList>()
        || value.is_instance_of::<PyDict>()
        || value.is_instance_of::<PyTuple>()
        || value.is_instance(abc(py, &SEQUENCE, "Sequence")?)?
        || value.is_instance(abc(py, &MAPPING, "Mapping")?)?)
}

/// Pushes a value; with `converted` (recursive mode), containers become (shared) tables.
fn push_value(
    py: Python<'_>,
    lua: &Lua<'_>,
    value: &Bound<'_, PyAny>,
    converted: &mut Option<Converted>,
) -> PyResult<()> {
    if converted.is_none() || !is_container(py, value)? {
        return lua.push(py, value);
    }
    let address = value.as_ptr() as usize;
    if let Some(&reference) = converted.as_ref().and_then(|c| c.tables.get(&address)) {
        lua.st.push_reference(reference);
        return Ok(());
    }
    // SAFETY: plain CPython call with the GIL held; guards against runaway nesting.
    if unsafe { pyo3::ffi::Py_EnterRecursiveCall(c" while converting to a Lua table".as_ptr()) }
        != 0
    {
        return Err(PyErr::fetch(py));
    }
    let result = (|| {
        lua.new_table(py, 0, 0)?;
        lua.st.push_value(-1);
        let reference = lua.reference(py)?;
        let converted_so_far = converted.as_mut().expect("recursive");
        converted_so_far.tables.insert(address, reference);
        converted_so_far.alive.push(value.clone().unbind());
        let mut nested = Builder {
            lua,
            table: lua.st.top(),
            length: 0,
        };
        nested.fill_from(py, value, converted)
    })();
    // SAFETY: pairs with the successful Py_EnterRecursiveCall above.
    unsafe { pyo3::ffi::Py_LeaveRecursiveCall() };
    result
}

/// The array size to preallocate for `table_from(*args)`: the length of a single list or
/// tuple argument without `None` items.  (With holes or several arguments, the table must
/// grow as upstream's does, since `#t` of a table with holes depends on its array size, and
/// the order of `next` on the sizes of its parts.)
fn array_size_hint(args: &Bound<'_, PyTuple>) -> PyResult<usize> {
    if args.len() != 1 {
        return Ok(0);
    }
    let arg = args.get_item(0)?;
    let (length, has_none) = if let Ok(list) = arg.cast_exact::<PyList>() {
        (list.len(), list.iter().any(|item| item.is_none()))
    } else if let Ok(tuple) = arg.cast_exact::<PyTuple>() {
        (tuple.len(), tuple.iter().any(|item| item.is_none()))
    } else {
        return Ok(0);
    };
    Ok(if has_none { 0 } else { length })
}

/// `LuaRuntime.table(*items, **kwargs)`.
pub(crate) fn table(
    py: Python<'_>,
    lua: &Lua<'_>,
    items: &Bound<'_, PyTuple>,
    kwargs: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 6)?;
    // No size hints: with a preallocated array part, `table(1, None, 3)` would have length 3
    // instead of upstream's 1 (both are valid borders of a table with a hole).
    lua.new_table(py, 0, 0)?;
    let mut builder = Builder {
        lua,
        table: lua.st.top(),
        length: 0,
    };
    let mut converted = None;
    for item in items.iter() {
        builder.append(py, &item, &mut converted)?;
    }
    if let Some(kwargs) = kwargs {
        for (key, value) in kwargs.iter() {
            builder.set(py, &key, &value, &mut converted)?;
        }
    }
    Ok(lua.to_python(py, builder.table)?.unbind())
}

/// `LuaRuntime.table_from(*args, recursive=False)`.
pub(crate) fn table_from(
    py: Python<'_>,
    lua: &Lua<'_>,
    args: &Bound<'_, PyTuple>,
    recursive: bool,
) -> PyResult<Py<PyAny>> {
    let _guard = lua.stack_guard();
    lua.ensure_stack(py, 6)?;
    lua.new_table(py, array_size_hint(args)?, 0)?;
    let table = lua.st.top();
    let mut converted: Option<Converted> = recursive.then(Converted::default);
    let result = (|| {
        if let Some(converted) = converted.as_mut() {
            // A reference from inside an argument to the argument itself is the result.
            lua.st.push_value(table);
            let reference = lua.reference(py)?;
            for arg in args.iter() {
                converted
                    .tables
                    .entry(arg.as_ptr() as usize)
                    .or_insert(reference);
            }
        }
        let mut builder = Builder {
            lua,
            table,
            length: 0,
        };
        for arg in args.iter() {
            builder.fill_from(py, &arg, &mut converted)?;
        }
        Ok(lua.to_python(py, table)?.unbind())
    })();
    if let Some(converted) = converted {
        let mut released: Vec<c_int> = converted.tables.into_values().collect();
        released.sort_unstable();
        released.dedup();
        for reference in released {
            lua.unreference(reference);
        }
    }
    result
}
