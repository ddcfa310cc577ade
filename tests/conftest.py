from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
SEED_FILE = next(SEEDS.glob("*.txt"))

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
for var in [v for v in os.environ if v.startswith("GROUNDQA_")]:
    del os.environ[var]  # tests build their own configuration


@pytest.fixture(autouse=True)
def _no_network_in_unit_tests(request, monkeypatch):
    """Unit tests may not open network connections (loopback included: they need no servers)."""
    if request.node.get_closest_marker("unit") is None:
        return
    real_connect = socket.socket.connect

    def guarded(self, address):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise RuntimeError(f"unit test tried to open a network connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture
def seed_copy(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    shutil.copy(SEED_FILE, folder / SEED_FILE.name)
    return folder


@pytest.fixture
def fake_service(tmp_path):
    """A real Service over real Chroma, with the hash embedder and a scripted generator registered."""
    import qa
    from qa.grounding import Calibration
    from tests.fakes import HashEmbedder, ScriptedGenerator

    script = {"text": ""}
    gen = ScriptedGenerator(lambda q, ps: script["text"])
    # Answer when most question terms are found and no name or number in the question is missing.
    calibration = Calibration(weights={"q_cov": 6.0, "missing_salient": -6.0}, bias=-3.0, threshold=0.5, support_threshold=0.5)
    service = qa.open(home=tmp_path / "home", generator="scripted", embedder=HashEmbedder(),
                      generators={"scripted": gen}, calibration=calibration)
    service.script = script
    return service


@pytest.fixture(scope="session")
def real_service(tmp_path_factory):
    """The real thing: sentence-transformers, Chroma on disk, SmolLM2 via llama.cpp; seed article indexed."""
    import qa

    home = tmp_path_factory.mktemp("groundqa-home")
    service = qa.open(home=home)
    service.ingest([SEEDS])
    return service


def run_qa(*args, home: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    """The `qa` command as a user runs it: a new process with its own GROUNDQA_HOME."""
    env = {**os.environ, "GROUNDQA_HOME": str(home)}
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)
