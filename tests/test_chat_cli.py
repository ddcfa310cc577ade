"""`qa chat` through a pseudo-terminal, `qa ask --conversation`, and rated answers exported as an eval dataset
that `qa eval --dataset FILE` scores."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.conftest import ROOT, SEEDS, run_qa

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("chat-home")
    done = run_qa("ingest", str(SEEDS), home=home)
    assert done.returncode == 0, done.stderr
    return home


# Driven from a fresh Python process: forking a pseudo-terminal from the pytest process, after the browser and
# server tests have left threads and hundreds of descriptors in it, sometimes lost the child's output.
DRIVE = r"""
import json, os, sys, pexpect
root, home = sys.argv[1], sys.argv[2]
env = {**os.environ, "GROUNDQA_HOME": home, "GROUNDQA_GENERATOR": "extractive", "TERM": "dumb"}
chat = pexpect.spawn(sys.executable, [os.path.join(root, "app.py"), "chat"], cwd=root, env=env, encoding="utf-8",
                     timeout=300)
seen = {}
try:
    chat.expect(r"conversation (\w+) on 'default'")
    seen["cid"] = chat.match.group(1)
    chat.expect("you> ")
    chat.sendline("How did the US vote?")
    chat.expect("groundqa> ")
    chat.expect("you> ")
    seen["first"] = chat.before
    chat.sendline("And on its own resolution?")
    chat.expect("Searched for: How did the US vote on its own resolution\\?")
    chat.expect("you> ")
    seen["second"] = chat.before
    chat.sendline("/sources")
    chat.expect("you> ")
    seen["sources"] = chat.before
    chat.sendline("/new")
    chat.expect(r"New conversation (\w+)\.")
    seen["new_cid"] = chat.match.group(1)
    chat.sendline("/quit")
    chat.expect(pexpect.EOF)
finally:
    chat.close()
seen["exit"] = chat.exitstatus
print(json.dumps(seen))
"""


def test_two_turns_in_the_terminal_chat(home):
    import subprocess

    done = subprocess.run([sys.executable, "-c", DRIVE, str(ROOT), str(home)], capture_output=True, text=True,
                          timeout=900, env={**os.environ})
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert "against it" in seen["first"]
    assert "abstain" in seen["second"]
    assert "The US ultimately chose to abstain from the final vote on its own resolution." in seen["sources"]
    assert seen["new_cid"] != seen["cid"]
    assert seen["exit"] == 0
    assert (home / "chat_history").read_text().count("How did the US vote?") == 1


def test_ask_in_a_conversation_then_export_feedback_and_score_it(home, tmp_path):
    first = run_qa("ask", "How did the US vote?", "--conversation", "new", "--json", "--generator", "extractive",
                   home=home)
    assert first.returncode == 0, first.stderr
    a1 = json.loads(first.stdout)
    cid = a1["conversation_id"]
    second = run_qa("ask", "And on its own resolution?", "--conversation", cid, "--json", "--generator", "extractive",
                    home=home)
    a2 = json.loads(second.stdout)
    assert a2["conversation_id"] == cid and a2["standalone_question"] == "How did the US vote on its own resolution?"
    missing = run_qa("ask", "Anything?", "--conversation", "nope", home=home)
    assert missing.returncode == 2 and "No conversation 'nope'" in missing.stderr

    assert run_qa("feedback", "rate", a2["answer_id"], "up", home=home).returncode == 0
    assert run_qa("feedback", "rate", a1["answer_id"], "down", "--comment", "lead with the vote", home=home).returncode == 0
    out = tmp_path / "feedback.jsonl"
    exported = run_qa("feedback", "export", "--out", str(out), home=home)
    assert exported.returncode == 0 and "wrote 2 eval item(s)" in exported.stdout
    items = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(i["question"], i["rating"], i["answerable"]) for i in items] == [
        ("How did the US vote on its own resolution?", "up", True), ("How did the US vote?", "down", False)]

    run = tmp_path / "run"
    scored = run_qa("eval", "--dataset", str(out), "--docs", str(SEEDS), "--systems", "groundqa:extractive",
                    "--home", str(home), "--quiet", "--out", str(run), home=home)
    assert scored.returncode == 0, scored.stderr
    results = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines()]
    assert {r.get("id") for r in results} >= {i["id"] for i in items}
