"""Dependencies run one way: index -> qa -> evals -> app -> bench. Importing qa loads no heavy library."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["index", "qa", "evals", "app", "bench"]


def imported_top_levels(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("layer", ["index", "qa", "evals"])
def test_no_layer_imports_a_later_one(layer):
    later = set(LAYERS[LAYERS.index(layer) + 1 :])
    files = sorted((ROOT / layer).rglob("*.py"))
    assert files
    bad = {str(f.relative_to(ROOT)): imported_top_levels(f) & later for f in files if imported_top_levels(f) & later}
    assert bad == {}


def test_llama_index_stays_inside_its_adapters():
    users = sorted(
        str(f.relative_to(ROOT)) for layer in ("index", "qa") for f in (ROOT / layer).rglob("*.py")
        if "llama_index" in imported_top_levels(f)
    )
    assert users == []  # the peer baseline in evals/ is the only place that needs it


def test_importing_qa_loads_no_heavy_library():
    code = (
        "import sys, qa, app; heavy = ['torch', 'chromadb', 'gradio', 'llama_cpp', 'sentence_transformers', 'llama_index'];"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
