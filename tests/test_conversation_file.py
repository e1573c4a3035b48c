"""Saved conversations: a file is checked whole before use; a failed save leaves the old file byte for byte."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from helpers import DEFAULT_MODEL, Conversation
from helpers.conversation_file import ConversationFileError

GOOD = {"format": "claude-messages-kit/conversation", "model": DEFAULT_MODEL, "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi!"}]}


def _turns(*contents):
    return {**GOOD, "messages": [{"role": "user", "content": c} for c in contents]}


MALFORMED = {
    "content is a number": (_turns("Hi", 5), "turn 1: the content is a number (5); it must be text or a list"),
    "content is null": (_turns(None), "turn 0: the content is null"),
    "content is an object": (_turns({"text": "x"}), "turn 0: the content is an object"),
    "a role with markup": ({**GOOD, "messages": [{"role": "<img src=x onerror=alert(1)>", "content": "x"}]},
                           "turn 0: the role is '<img src=x onerror=alert(1)>'; it must be \"user\" or \"assistant\""),
    "a turn without content": ({**GOOD, "messages": [{"role": "user"}]}, "turn 0 has no \"content\""),
    "a turn that is text": ({**GOOD, "messages": ["hello"]}, "turn 0 is text ('hello'), not a turn"),
    "a block without type": (_turns([{"text": "x"}]), "turn 0, block 0 has no \"type\""),
    "a block that is a number": (_turns([7]), "turn 0, block 0 is a number (7), not a content block"),
    "text that is not text": (_turns([{"type": "text", "text": ["x"]}]), "turn 0, block 0: a text field \"text\" must be text"),
    "tool input not an object": (
        {**GOOD, "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": 3}]}]},
        "turn 0, block 0: a tool_use field \"input\" must be an object"),
    "thinking in a user turn": (_turns([{"type": "thinking", "thinking": "", "signature": "s"}]),
                                "a thinking block belongs to an assistant turn"),
    "deep nesting": (_turns([{"type": "text", "text": "x", "extra": json.loads("[" * 150 + "]" * 150)}]),
                     "nests more than 100 levels deep"),
    "messages not a list": ({**GOOD, "messages": {"0": "x"}}, "\"messages\" is an object; it must be a list of turns"),
    "no messages": ({"model": DEFAULT_MODEL}, "there is no \"messages\" list"),
    "system not text": ({**GOOD, "system": [{"type": "text", "text": "x"}]}, "\"system\" is a list; it must be text or null"),
    "model not text": ({**GOOD, "model": 4}, "\"model\" is a number (4)"),
    "another format": ({**GOOD, "format": "something-else"}, "\"format\" is text ('something-else')"),
    "a list": ([GOOD], "it holds a list, not a conversation"),
}
RAW = {
    "not JSON": (b"{'messages': []}", "not valid JSON: Expecting property name"),
    "empty": (b"", "the file is empty"),
    "not UTF-8": (b'{"messages": ["\xff"]}', "not UTF-8 text (byte 15"),
    "NaN": (b'{"messages": [{"role": "user", "content": [{"type": "x", "n": NaN}]}]}', "NaN is not a JSON value"),
    "too deep for the parser": (b"[" * 100_000 + b"]" * 100_000, "nests lists or objects too deeply"),
}


def malformed_files(tmp_path):
    """(name, path, words the error must contain) for every malformed case."""
    for name, (data, words) in MALFORMED.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(data))
        yield name, path, words
    for name, (raw, words) in RAW.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(raw)
        yield name, path, words


def test_every_malformed_file_gets_a_clear_error(tmp_path):
    for name, path, words in malformed_files(tmp_path):
        with pytest.raises(ConversationFileError) as caught:
            Conversation.load(path)
        assert str(caught.value).startswith(f"{path.name} is not a conversation the kit can load:"), name
        assert words in str(caught.value), name


def test_a_file_larger_than_any_request_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with open(path, "wb") as handle:
        handle.truncate(33 * 1024 * 1024)  # sparse: nothing is written
    with pytest.raises(ConversationFileError, match="refuses requests over 32 MB"):
        Conversation.load(path)


def test_from_dict_gives_the_same_errors():
    with pytest.raises(ConversationFileError, match="turn 1: the content is a number"):
        Conversation.from_dict(_turns("Hi", 5))
    assert Conversation.from_dict(GOOD).messages == GOOD["messages"]


def _saved(tmp_path):
    path = tmp_path / "chat.json"
    Conversation.from_dict(GOOD).save(path)
    return path, path.read_bytes()


def test_a_lone_surrogate_leaves_the_old_file_unchanged(tmp_path):
    path, before = _saved(tmp_path)
    conversation = Conversation.from_dict(GOOD).add_user("half an emoji: \ud83d")
    with pytest.raises(ConversationFileError, match=r"turn 2 holds a lone surrogate \(\\ud83d\)"):
        conversation.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.json"]


def test_saving_keeps_the_file_mode(tmp_path):
    path, _ = _saved(tmp_path)
    path.chmod(0o600)
    Conversation.from_dict(GOOD).add_user("More").save(path)
    assert (path.stat().st_mode & 0o777) == 0o600 and Conversation.load(path).messages[-1]["content"] == "More"


FULL_DISK = textwrap.dedent("""
    import resource, signal, sys
    from helpers import Conversation
    from helpers.history_editor import HistoryEditor

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
    big = Conversation().add_user("x" * 20_000)
    try:
        big.save(sys.argv[1])
        print("saved")
    except OSError as error:
        print("OSError:", error)
    editor = HistoryEditor(big)
    editor.file_path.value = sys.argv[2]
    editor.save_button.click()
    print("editor:", editor.status.value)
""")


def test_a_full_disk_leaves_the_old_file_unchanged(tmp_path):
    first, before = _saved(tmp_path)
    second = tmp_path / "other.json"
    second.write_bytes(before)
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run([sys.executable, "-c", FULL_DISK, str(first), str(second)], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    assert "OSError: [Errno 27] could not write chat.json: File too large. The previous file" in result.stdout
    assert "Could not export" in result.stdout and "The previous file, if any, is unchanged" in result.stdout
    assert first.read_bytes() == before and second.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.json", "other.json"]
