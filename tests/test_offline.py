"""The whole flow works with networking switched off: a new network namespace has no interfaces up."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration


def test_ingest_and_ask_without_network(tmp_path):
    unshare = shutil.which("unshare")
    assert unshare, "util-linux unshare is needed for this test"
    env = {**os.environ, "GROUNDQA_HOME": str(tmp_path)}
    script = (
        f"{sys.executable} app.py ingest seeds --json && "
        f"{sys.executable} app.py ask 'How did the US vote?' --json"
    )
    # -r maps us to root in a new user namespace, so this works without privileges too.
    out = subprocess.run([unshare, "-rn", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    ingest, answer = [json.loads(line) for line in out.stdout.strip().splitlines()]
    assert ingest["added"] == 1
    assert answer["generator"] == "local" and not answer["refused"] and "against" in answer["answer"].lower()
