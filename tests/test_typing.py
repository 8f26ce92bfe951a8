"""The user program of the type checks (``tests/typing/user_program.py``, which ``mypy --strict``
checks in ``.ci/typecheck.py``) runs: what its types say is true at run time too.

It imports the bundled flavours by name, so it is skipped for builds without them (a
``LUPA_NO_BUNDLE`` or ``LUPA_FLAVOURS`` build).  It uses lupa-rs's coroutine ``throw()`` and
``close()`` and ``LuaError.value``, which upstream lupa 2.8 lacks.
"""

import pathlib
import runpy

import pytest
from conftest import FLAVOURS

USER_PROGRAM = pathlib.Path(__file__).parent / "typing" / "user_program.py"
IMPORTED_FLAVOURS = {"lua51", "lua52", "lua53", "lua54", "lua55", "luajit21"}


@pytest.mark.improvement
def test_user_program_runs():
    missing = sorted(IMPORTED_FLAVOURS - set(FLAVOURS))
    if missing:
        pytest.skip(f"flavours not built: {missing}")
    runpy.run_path(str(USER_PROGRAM))["main"]()
