"""Lua frames in Python tracebacks (lupa-rs).

A LuaError raised by Lua code carries Lua's traceback in its message (as upstream); the same
frames also join the exception's Python traceback, so that tools that show tracebacks
(pytest, IDEs, logging) point into the Lua source.
"""

import traceback

import pytest

pytestmark = pytest.mark.improvement

NESTED = """\
local function inner(n)
  error("boom " .. n)
end
local function outer(n)
  inner(n)
  return n
end
outer(1)
"""


def lua_frames(exc):
    """(file name, line, function name) of the frames that are not Python files."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [(f.filename, f.lineno, f.name) for f in frames if not f.filename.endswith(".py")]


def test_lua_frames_follow_the_python_frames(lupa, lua):
    with pytest.raises(lupa.LuaError) as info:
        lua.execute(NESTED)
    frames = lua_frames(info.value)
    chunk = '[string "<python>"]'
    assert frames == [(chunk, 8, "<main chunk>"), (chunk, 5, "outer"), (chunk, 2, "inner")]
    # The last frame of the whole traceback is the innermost Lua one.
    assert traceback.extract_tb(info.value.__traceback__)[-1].lineno == 2


def test_the_message_stays_upstreams(lupa, lua):
    with pytest.raises(lupa.LuaError) as info:
        lua.execute(NESTED)
    message = str(info.value)
    assert message.startswith('[string "<python>"]:2: boom 1\nstack traceback:\n')


def test_a_lua_file_shows_its_source_line(lupa, lua, tmp_path, monkeypatch):
    # (A short relative path: Lua shortens long chunk names in its messages.)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "script.lua").write_text("local config = {}\nreturn config.missing.value\n")
    run = lua.eval("function(path) return dofile(path) end")
    with pytest.raises(lupa.LuaError) as info:
        run("script.lua")
    text = "".join(traceback.format_exception(info.value))
    assert 'File "script.lua", line 2' in text
    assert "return config.missing.value" in text  # the source line, read from the file


def test_named_chunks(lupa, lua):
    with pytest.raises(lupa.LuaError) as info:
        lua.execute("local x = nil\nreturn x.y", name="=settings")
    assert ("settings", 2, "<main chunk>") in lua_frames(info.value)


def test_python_exceptions_keep_their_own_traceback(lupa, lua):
    def callback():
        raise KeyError("python")

    lua.globals().callback = callback
    with pytest.raises(KeyError) as info:
        lua.execute("callback()")
    assert traceback.extract_tb(info.value.__traceback__)[-1].name == "callback"


def test_syntax_errors_have_no_lua_frames(lupa, lua):
    with pytest.raises(lupa.LuaSyntaxError) as info:
        lua.execute("x = = 1")
    assert lua_frames(info.value) == []


@pytest.mark.parametrize("forge", ["chunk name", "message"])
def test_printing_the_traceback_reads_no_device_or_fifo(lupa, lua, forge):
    """Lua code chooses its chunk names and can write traceback lines into its messages:
    a frame that names something other than a regular file must not make `linecache` read
    it (`/dev/zero` without end) when the traceback is printed."""
    if forge == "chunk name":
        code = "local x = nil return x.y"
        if lua.eval("type(load)") != "function":
            pytest.skip("Luau: no load")
        call = lambda: lua.execute(f"assert((loadstring or load)({code!r}, '@/dev/zero'))()")  # noqa: E731
    else:
        call = lambda: lua.execute(  # noqa: E731
            "error('x\\nstack traceback:\\n\\t/dev/zero:1: in main chunk', 0)"
        )
    with pytest.raises(lupa.LuaError) as info:
        call()
    text = "".join(traceback.format_exception(info.value))  # (does not hang)
    files = [frame[0] for frame in lua_frames(info.value)]
    assert "/dev/zero" not in files
    assert "</dev/zero>" in files
    assert "/dev/zero" in text
