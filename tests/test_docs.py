"""Run the examples of the user guide, ``docs/guide.md``, as doctests, once per flavour module.

**Sections.**  The guide is cut at its ``## `` headings, and every section is a separate
doctest with fresh globals (the guide promises that each section works on its own).  A test
id names the flavour and the section, e.g. ``test_guide[lua54-coroutines]``.  A section can
state a requirement in an HTML comment, which readers of the rendered guide do not see:

* ``<!-- test_docs: lupa-rs only -->``: the examples show where lupa-rs deliberately differs
  from upstream lupa 2.8; the section gets the ``improvement`` marker, so ``conftest.py``
  skips it when the suite runs against upstream.
* ``<!-- test_docs: requires max_memory -->``: skipped for a flavour that cannot create a
  runtime with ``max_memory`` (the LuaJIT 2.0 module, ``lupa.luajit20``).
* ``<!-- test_docs: requires lua53 and lua54 -->``: the examples import these flavours by
  name; skipped when the package was built without them (a ``LUPA_NO_BUNDLE`` or
  ``LUPA_FLAVOURS`` build).
* ``<!-- test_docs: requires luau -->``: the same for ``lupa.luau``.

**Parts.**  ``<!-- test_docs: part NAME, requires ... -->`` on a line of its own ends the
doctest of the section there: the rest of the section, up to the next part, is a doctest of
its own (fresh globals; test id ``<section>/NAME``), with the section's requirements and its
own.  So a section can keep the examples that need ``max_memory`` at its end without being
skipped as a whole on a flavour that lacks it.

An unknown requirement is an error, so that a typo cannot silently skip a section.  Markdown
code fence lines are blanked out before parsing (keeping the line numbers), so that a closing
fence is not read as part of an example's expected output.

**Which ``lupa`` the examples see.**  The examples are written as a user writes them:
``import lupa`` and ``from lupa import LuaRuntime``.  The package resolves such names lazily:
the first access to ``lupa.LuaRuntime`` imports the default (newest) flavour and stores its
names in the package namespace; upstream lupa and lupa-rs both work this way.  The fixture
below stores the public names of the flavour under test in the package namespace
first, with ``monkeypatch``, which removes them again after the test.  So ``import lupa`` is
still the real package (``lupa.allow_lua_module_loading`` and ``from lupa import lua54`` work
as usual), but ``lupa.LuaRuntime``, ``lupa.LuaError``, ``lupa.lua_type`` etc. are those of the
flavour under test: the package behaves as if that flavour were the default one.

A failing example fails the test with doctest's report as the message.
"""

import doctest
import importlib.util
import pathlib
import re

import lupa as lupa_package
import pytest

GUIDE = pathlib.Path(__file__).resolve().parent.parent / "docs" / "guide.md"

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

REQUIREMENT = re.compile(r"^<!--\s*test_docs:\s*(.+?)\s*-->\s*$", re.MULTILINE)
KNOWN_REQUIREMENTS = {
    "lupa-rs only",
    "requires max_memory",
    "requires lua53 and lua54",
    "requires luau",
}


def _slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


PART = re.compile(r"^<!--\s*test_docs:\s*part\s+([a-z0-9-]+)\s*(?:,\s*(.+?))?\s*-->\s*$")


def _read_sections():
    """Split the guide at its ``## `` headings, and sections at their part markers: a list of
    (id, first line number, text, requirements).

    Fence lines become empty lines; line numbers stay those of the guide.
    """
    lines = GUIDE.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = ["\n" if line.lstrip().startswith("```") else line for line in lines]
    starts = [i for i, line in enumerate(lines) if line.startswith("## ")]
    sections = []
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        slug = _slug(lines[start][3:].strip())
        parts = [(slug, start, set())]
        for i in range(start, end):
            match = PART.match(lines[i])
            if match:
                extra = {match.group(2)} if match.group(2) else set()
                parts.append((f"{slug}/{match.group(1)}", i, extra))
        bounds = [lineno for _, lineno, _ in parts[1:]] + [end]
        section_requirements = set(REQUIREMENT.findall("".join(lines[start : bounds[0]])))
        for (name, first, _), last in zip(parts[1:], bounds[1:]):
            stray = REQUIREMENT.findall("".join(lines[first + 1 : last]))
            if stray:
                raise ValueError(f"{GUIDE.name}, {name!r}: requirements {stray} inside a part")
        for (name, first, extra), last in zip(parts, bounds):
            requirements = section_requirements | extra
            sections.append((name, first, "".join(lines[first:last]), requirements))
    return sections


def _section_params():
    params = []
    for slug, lineno, text, requirements in _read_sections():
        if not doctest.DocTestParser().get_examples(text):
            continue
        unknown = requirements - KNOWN_REQUIREMENTS
        if unknown:
            raise ValueError(f"{GUIDE.name}, section {slug!r}: unknown requirement {unknown}")
        marks = [pytest.mark.improvement] if "lupa-rs only" in requirements else []
        params.append(pytest.param((slug, lineno, text, requirements), id=slug, marks=marks))
    return params


def _supports_max_memory(flavour):
    try:
        flavour.LuaRuntime(max_memory=0)
    except flavour.LuaError:
        return False
    return True


def _has_flavours(*names):
    return all(importlib.util.find_spec(f"lupa.{name}") is not None for name in names)


@pytest.fixture
def pinned_lupa(lupa, monkeypatch):
    """Make the package's default-flavour names (``lupa.LuaRuntime`` ...) those of ``lupa``:
    its ``__all__`` and its other public names (lupa-rs additions such as the limit errors
    are kept out of ``__all__``, which stays upstream's)."""
    for name in dir(lupa):
        if not name.startswith("_"):
            # (In the namespace itself: reading the old value would import the default flavour.)
            monkeypatch.setitem(vars(lupa_package), name, getattr(lupa, name))
    return lupa


def test_guide_has_sections():
    assert len(_section_params()) >= 10


@pytest.mark.parametrize("section", _section_params())
def test_guide(pinned_lupa, section):
    slug, lineno, text, requirements = section
    if "requires max_memory" in requirements and not _supports_max_memory(pinned_lupa):
        pytest.skip(f"{pinned_lupa.__name__} cannot create a runtime with max_memory")
    if "requires lua53 and lua54" in requirements and not _has_flavours("lua53", "lua54"):
        pytest.skip("the package was built without the lua53 and lua54 modules")
    if "requires luau" in requirements and not _has_flavours("luau"):
        pytest.skip("the package was built without the luau module")

    test = doctest.DocTestParser().get_doctest(
        text, {"__name__": "guide"}, f"{GUIDE.name}::{slug}", str(GUIDE), lineno
    )
    report = []
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    try:
        result = runner.run(test, out=report.append)
    finally:
        test.globs.clear()
    if result.failed:
        pytest.fail(
            f"{result.failed} of {result.attempted} examples failed "
            f"({pinned_lupa.__name__}):\n" + "".join(report),
            pytrace=False,
        )
