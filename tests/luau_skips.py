# ruff: noqa: E501 (test ids are as long as they are)
"""Tests that cannot hold for the Luau flavour (``lupa.luau``), with the reason.

``conftest.py`` skips these when they run against ``lupa.luau``; every other test runs on Luau
as on the Lua flavours.  Keys are test ids without the parameters (every parametrisation is
skipped) or with them (only that one).  Luau's own behaviour is tested in ``test_luau.py``.
"""

NO_IO = "Luau has no io library"
NO_COLLECTGARBAGE = "Luau has no collectgarbage(): Lua code cannot run the collector"
NO_DEBUG_LIBRARY = "Luau's debug library has only info() and traceback()"
NO_LOAD = "Luau has no load/loadstring/string.dump (source is compiled by the host)"
NO_GC_METAMETHOD = "Luau never calls __gc; userdata destructors release Python objects"
SYNTAX_MESSAGES = "Luau's compiler words syntax errors differently"
TRACEBACKS = (
    "Luau words runtime errors its own way (operators name both operands, no variable names, "
    "'invalid argument'), and its tracebacks have no tail calls and name metamethods"
)
NESTING = (
    "Luau ends deep Python<->Lua nesting at its hard C-call limit, with 'error in error "
    "handling' instead of 'C stack overflow'"
)
NO_DEBUG_HOOKS = (
    "Luau's debug.sethook has count hooks only (on its interrupt callback: no call, return or "
    "line events), and Luau has no debug.getregistry"
)
NO_STRING_DUMP = (
    "Luau has no string.dump to make bytecode with; test_luau.py::TestSandbox checks that a "
    "sandbox refuses Luau bytecode"
)
NO_FILES = "Luau has no dofile/loadfile (no file access in the VM)"
NO_MODULE_LOADER = "Luau has no module loader: its require only looks in package.preload/loaded"
STRING_ARGUMENT_MESSAGES = (
    "Luau keeps its own string functions, which word argument errors their own way "
    "('invalid argument', 'missing argument')"
)
DEFAULT = "the default flavour is never Luau: these tests need a Lua flavour module"

SKIPS = {
    # test_limits.py
    "test_limits.py::test_finalizers_that_loop_are_stopped": NO_GC_METAMETHOD,
    # test_sandbox.py
    "test_sandbox.py::test_load_accepts_text_with_the_sandbox_globals": NO_LOAD,
    "test_sandbox.py::test_load_refuses_bytecode": NO_LOAD,
    "test_sandbox.py::test_the_host_refuses_bytecode_in_a_sandbox": NO_STRING_DUMP,
    # test_close.py
    "test_close.py::test_finalizers_run_at_close": NO_GC_METAMETHOD,
    # test_finalizers.py (closing)
    "test_finalizers.py::test_closing_a_runtime_whose_finalizer_collects_garbage_ends": NO_GC_METAMETHOD,
    # test_gc_cycles.py
    "test_gc_cycles.py::test_cycle_through_an_unfinalized_userdata_is_freed_once_after_close": (
        NO_DEBUG_LIBRARY
    ),
    # test_hostile_scripts.py (debug.getregistry, debug.sethook)
    "test_hostile_scripts.py::test_coroutine_whose_registry_entry_was_replaced_raises": NO_DEBUG_LIBRARY,
    "test_hostile_scripts.py::test_table_whose_registry_entry_was_replaced_is_not_read_as_a_table": (
        NO_DEBUG_LIBRARY
    ),
    "test_hostile_scripts.py::test_debug_hooks_survive_a_replaced_hook_table": NO_DEBUG_HOOKS,
    "test_hostile_scripts.py::test_debug_hooks_work": NO_DEBUG_HOOKS,
    "test_hostile_scripts.py::test_collecting_garbage_at_the_memory_limit_after_the_registry_was_rewritten": (
        NO_DEBUG_LIBRARY
    ),
    "test_hostile_scripts.py::test_references_survive_a_rewritten_free_list": NO_DEBUG_LIBRARY,
    "test_hostile_scripts.py::test_registered_c_functions_replaced_by_other_functions_are_not_called": (
        NO_DEBUG_LIBRARY
    ),
    # test_lua_errors.py (syntax error details)
    "test_lua_errors.py::TestSyntaxErrorDetails::test_lineno_is_the_line_of_the_message": SYNTAX_MESSAGES,
    # test_string_patterns.py
    "test_string_patterns.py::test_errors_are_the_c_library_s": STRING_ARGUMENT_MESSAGES,
    # test_tracebacks.py
    "test_tracebacks.py::test_a_lua_file_shows_its_source_line": NO_FILES,
    # test_cli.py
    "test_cli.py::test_output_keeps_its_order": NO_IO,
    "test_cli.py::test_l_requires_a_module_into_a_global": NO_MODULE_LOADER,
    "test_cli.py::test_errors_exit_with_status_1_and_lua_prefix": SYNTAX_MESSAGES,
    "test_cli.py::test_sandbox_has_print_and_nothing_else": TRACEBACKS,
    "test_cli.py::test_repl_reads_expressions_statements_and_continued_lines": SYNTAX_MESSAGES,
    # test_conversion.py
    "test_conversion.py::TestLuaValuesToPython::test_full_userdata": NO_IO,
    "test_conversion.py::TestLuaValuesToPython::test_deleted_python_object_raises_reference_error": (
        NO_COLLECTGARBAGE
    ),
    # test_finalizers.py
    "test_finalizers.py::TestPythonObjectsWithoutFinalizer::test_collector_after_gc_removed": (
        NO_COLLECTGARBAGE
    ),
    "test_finalizers.py::TestPythonObjectsWithoutFinalizer::test_objects_are_released_with_the_runtime": (
        NO_COLLECTGARBAGE
    ),
    # test_hostile_scripts.py
    "test_hostile_scripts.py::test_a_python_exception_that_cannot_enter_lua_says_why": NO_DEBUG_LIBRARY,
    "test_hostile_scripts.py::test_as_function_survives_its_object_being_finalized_during_the_call": (
        NO_DEBUG_LIBRARY
    ),
    "test_hostile_scripts.py::test_python_functions_without_their_runtime_entry_raise": NO_DEBUG_LIBRARY,
    "test_hostile_scripts.py::test_replaced_object_cache_raises_instead_of_crashing": NO_DEBUG_LIBRARY,
    "test_hostile_scripts.py::test_running_out_of_memory_while_making_references_keeps_the_runtime_intact": (
        NO_COLLECTGARBAGE
    ),
    # test_lua_errors.py
    "test_lua_errors.py::TestLoadErrors::test_chunk_name_in_syntax_error": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_compile_has_no_prefix": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_eval_of_statements": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_eval_prefix": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_execute_prefix": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_invalid_utf8_in_compile_error_uses_latin1": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_invalid_utf8_in_load_error_uses_latin1": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_line_number": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrors::test_unexpected_eof": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrorsEncodingNone::test_compile_error_is_bytes": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrorsEncodingNone::test_compile_error_keeps_raw_bytes": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrorsEncodingNone::test_eval_and_execute_errors_are_str": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestLoadErrorsEncodingNone::test_load_error_decoded_as_latin1": SYNTAX_MESSAGES,
    "test_lua_errors.py::TestChunkNames::test_eval_name": TRACEBACKS,
    "test_lua_errors.py::TestRuntimeErrorMessages::test_arithmetic_error_without_c_frame": TRACEBACKS,
    "test_lua_errors.py::TestRuntimeErrorMessages::test_call_nil_global": TRACEBACKS,
    "test_lua_errors.py::TestRuntimeErrorMessages::test_error_from_callable_table": TRACEBACKS,
    "test_lua_errors.py::TestRuntimeErrorMessages::test_tail_call_traceback": TRACEBACKS,
    "test_lua_errors.py::TestNonStringErrors::test_message_is_empty[luau-userdata]": NO_IO,
    "test_lua_errors.py::TestMemoryErrors::test_out_of_memory_at_runtime": TRACEBACKS,
    # test_lua_objects.py
    "test_lua_objects.py::TestLen::test_len_of_userdata_is_its_size": NO_IO,
    "test_lua_objects.py::TestStr::test_str_of_userdata_with_tostring": NO_IO,
    "test_lua_objects.py::TestGetAttr::test_calling_userdata_method_with_explicit_self": NO_IO,
    "test_lua_objects.py::TestGetAttr::test_userdata_attribute_access": NO_IO,
    "test_lua_objects.py::TestGetItem::test_userdata_item_access": NO_IO,
    "test_lua_objects.py::TestLifetime::test_many_wrappers_created_and_dropped": NO_COLLECTGARBAGE,
    "test_lua_objects.py::TestLifetime::test_wrapper_keeps_value_alive_after_lua_drops_it": (
        NO_COLLECTGARBAGE
    ),
    "test_lua_objects.py::TestTableIteration::test_iterator_keeps_table_alive": NO_COLLECTGARBAGE,
    # test_memory.py
    "test_memory.py::test_repeated_python_objects_do_not_grow_the_lua_heap": NO_COLLECTGARBAGE,
    # test_module.py
    "test_module.py::TestLuaType::test_full_userdata": NO_IO,
    # test_python_module.py
    "test_python_module.py::TestSetOverflowHandler::test_invalid_handler[luau-io.stdout]": NO_IO,
    # test_python_objects.py
    "test_python_objects.py::TestIdentityCache::test_same_object_survives_lua_gc_while_referenced": (
        NO_COLLECTGARBAGE
    ),
    "test_python_objects.py::TestInvalidUserdata::test_metamethod_on_non_python_value[luau-mt.__tostring(io.stdout)]": (
        NO_IO
    ),
    "test_python_objects.py::TestMissingMetamethods::test_arithmetic_fails": TRACEBACKS,
    "test_python_objects.py::TestMissingMetamethods::test_comparison_with_number_fails": TRACEBACKS,
    "test_python_objects.py::TestMissingMetamethods::test_concatenation_fails": TRACEBACKS,
    "test_python_objects.py::TestMissingMetamethods::test_ipairs_per_version": TRACEBACKS,
    "test_python_objects.py::TestMissingMetamethods::test_length_operator_fails": TRACEBACKS,
    "test_python_objects.py::TestMissingMetamethods::test_ordering_comparison_fails": TRACEBACKS,
    "test_python_objects.py::TestMissingMetamethods::test_pairs_fails": TRACEBACKS,
    # test_recursion.py
    "test_recursion.py::test_recursion_with_raised_python_limit_raises": NESTING,
    "test_recursion.py::test_recursion_through_coroutines_raises": NESTING,
    "test_recursion.py::test_plain_nesting_goes_as_deep_as_lua_allows": NESTING,
    # test_runtime.py
    "test_runtime.py::TestLibraries::test_unsandboxed_functions": NO_IO,
    "test_runtime.py::TestNoGC::test_memory_only_grows_while_stopped": NO_COLLECTGARBAGE,
    # test_threads.py
    "test_threads.py::TestGilReleased::test_thread_started_during_a_lua_call_is_not_starved": NO_IO,
    "test_threads.py::TestDropWhileBusy::test_dropping_wrapper_while_runtime_busy_does_not_block": (
        NO_COLLECTGARBAGE
    ),
}


def reason_for(nodeid):
    """The reason to skip the test ``nodeid`` on Luau, or None."""
    path = nodeid.split("/")[-1]
    base = path.split("[", 1)[0]
    for key in (path, base, base.rsplit("::", 1)[0]):
        if key in SKIPS:
            return SKIPS[key]
    return None
