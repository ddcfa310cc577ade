"""A fresh clone has every built-in eval dataset from the repository alone (evals/data): it reads nothing outside
itself, not even a ../shared placed beside it. A clone holds only committed files, so this checks what was
committed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]

# Runs inside the clone. An audit hook fails the run on any file or folder opened outside the clone,
# except the interpreter's own installation (stdlib, site-packages) and the system's /dev, /proc, /sys, /etc.
CHECK = r"""
import os, sys
from pathlib import Path

clone = Path.cwd().resolve()
allowed = [clone, *{Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}]
allowed += [Path(p) for p in ("/dev", "/proc", "/sys", "/etc", "/usr/lib", "/usr/share", "/lib")]
outside = []

def inside(path):
    try:
        p = Path(os.fsdecode(path)).resolve()
    except (TypeError, ValueError, OSError):
        return True  # a file descriptor, not a path
    return any(p == a or a in p.parents for a in allowed)

def hook(event, args):
    if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes, os.PathLike)):
        if not inside(args[0]):
            outside.append(os.fsdecode(args[0]))

sys.addaudithook(hook)

from evals import datasets
from evals.runner import load_dataset

for mod in list(sys.modules.values()):
    f = getattr(mod, "__file__", None)
    if f and mod.__name__.split(".")[0] in ("index", "qa", "evals"):
        assert clone in Path(f).resolve().parents, (mod.__name__, f)
for spec in ("seed", "clapnq", "musique", "docs"):
    for split in ("tune", "test"):
        d = load_dataset(spec, split=split)
        assert len(d.examples) > 0 and len(d.documents) > 0, (spec, split)
        print(spec, split, len(d.examples), len(d.documents))
assert not outside, sorted(set(outside))[:10]
print("ok")
"""


def check_tree(tree: Path, tmp: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROUNDQA_", "PYTHON"))}
    env.update(PYTHONPATH=str(tree), HOME=str(tmp / "home"), HF_HUB_OFFLINE="1", PYTHONDONTWRITEBYTECODE="1")
    (tmp / "home").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-c", CHECK], cwd=tree, env=env, capture_output=True, text=True, timeout=120)


def test_a_fresh_clone_loads_every_built_in_dataset_from_the_repository_alone(tmp_path):
    clone = tmp_path / "sub" / "groundqa"
    # a ../shared beside the clone, as in CI, with a decoy of its data: code that reads ../shared when it is there
    # opens a file outside the clone, which the audit hook reports
    decoy = tmp_path / "sub" / "shared" / "data"
    for name in ("clapnq", "musique", "starlette", "docs"):
        (decoy / name).mkdir(parents=True)
        (decoy / name / "README.md").write_text("decoy: the project must not read ../shared\n")
    if shutil.which("git") and (ROOT / ".git").exists():
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, capture_output=True, timeout=60)
    else:  # an unpacked release without git: the same check on a copy of the tree
        shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".venv", ".groundqa*", "runs", "__pycache__", ".git"))
    done = check_tree(clone, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.rstrip().endswith("ok")
