"""Dependencies run one way: index -> qa -> evals -> app -> bench. Importing qa loads no heavy library.
Callers go through the Service facade and the declared protocols, never around them."""

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


def source_files(*layers: str) -> list[Path]:
    """The project's own modules in these layers ("app" is app.py)."""
    out: list[Path] = []
    for layer in layers:
        out += [ROOT / "app.py"] if layer == "app" else sorted((ROOT / layer).rglob("*.py"))
    return out


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


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


# --- the Service is the one facade ----------------------------------------------------------------------
SERVICE_INSIDES = {"store", "indexer", "manifests"}


def reaches_into_a_service(path: Path) -> list[str]:
    """`x.store`, `x.indexer`, `x.manifests` on anything but `self` (an object's own parts are its business):
    outside the service, the only objects that have these are services."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [f"{rel(path)}:{node.lineno} .{node.attr}" for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in SERVICE_INSIDES
            and not (isinstance(node.value, ast.Name) and node.value.id == "self")]


def test_nothing_outside_the_service_reaches_into_its_store_indexer_or_manifests():
    files = [f for f in source_files("qa", "evals", "app", "bench") if rel(f) != "qa/service.py"]
    assert len(files) > 20
    assert [hit for f in files for hit in reaches_into_a_service(f)] == []


def test_the_facade_check_catches_a_reach(tmp_path):
    sample = tmp_path / "route.py"
    sample.write_text("def f(service, self):\n    service.store.count('x')\n    app.state.service.indexer\n"
                      "    self.manifests\n")
    assert sorted(h.split(":", 1)[1] for h in reaches_into_a_service(sample)) == ["2 .store", "3 .indexer"]


# --- protocols declare what callers call --------------------------------------------------------------------
def protocol_members() -> set[str]:
    from index.embeddings import Embedder
    from index.store import Store
    from qa.generators import Generator

    return {n for p in (Store, Embedder, Generator) for n in vars(p) if not n.startswith("_")} | \
        {n for p in (Store, Embedder, Generator) for n in getattr(p, "__annotations__", {})}


def probes_a_protocol(path: Path, members: set[str]) -> list[str]:
    """hasattr(x, "m") / getattr(x, "m", ...) for a protocol member m: a member every implementation has."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [f"{rel(path)}:{node.lineno} {node.func.id}(..., {node.args[1].value!r})" for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("hasattr", "getattr")
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and node.args[1].value in members]


def test_no_hasattr_getattr_on_protocol_members():
    members = protocol_members()
    assert {"load", "ping", "stream", "location", "writing", "vectors", "embed", "fingerprint"} <= members
    files = source_files("index", "qa", "evals", "app", "bench")
    assert [hit for f in files for hit in probes_a_protocol(f, members)] == []


def test_every_built_in_generator_and_store_implements_its_whole_protocol():
    from index.embeddings import Embedder, SentenceTransformerEmbedder
    from index.memory_store import InMemoryStore
    from index.store import ChromaStore, Store
    from qa.generators import ExtractiveGenerator, Generator, LocalGenerator, OpenAIGenerator

    def missing(cls, proto):
        wanted = {n for n in vars(proto) if not n.startswith("_")} | set(getattr(proto, "__annotations__", {}))
        return sorted(n for n in wanted if not hasattr(cls, n))

    assert {c.__name__: missing(c, Store) for c in (ChromaStore, InMemoryStore)} == \
        {"ChromaStore": [], "InMemoryStore": []}
    assert {c.__name__: missing(c, Generator) for c in (LocalGenerator, OpenAIGenerator, ExtractiveGenerator)} == \
        {"LocalGenerator": [], "OpenAIGenerator": [], "ExtractiveGenerator": []}
    assert missing(SentenceTransformerEmbedder, Embedder) == []


# --- one way to make a Chroma client ------------------------------------------------------------------------
def test_chroma_clients_are_made_only_by_chroma_client():
    makers = {"HttpClient", "PersistentClient", "EphemeralClient", "AsyncHttpClient", "CloudClient"}
    hits = []
    for f in source_files("index", "qa", "evals", "app", "bench"):
        tree = ast.parse(f.read_text(), filename=str(f))
        hits += [f"{rel(f)}:{n.lineno} {n.attr}" for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr in makers]
        hits += [f"{rel(f)}:{n.lineno} import {a.name}" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
                 and (n.module or "").startswith("chromadb") for a in n.names if a.name in makers]
    assert [h for h in hits if not h.startswith("index/store.py:")] == []
    assert {h.rsplit(" ", 1)[1] for h in hits} == {"HttpClient", "PersistentClient"}  # inside chroma_client


# --- errors live in the layer that raises them --------------------------------------------------------------
def test_question_and_http_errors_are_the_qa_layers_in_one_tree():
    import index.errors
    import qa.errors

    moved = ("EmptyQuestion", "QuestionTooLong", "UploadTooLarge", "Unauthorized", "GeneratorError")
    for name in moved:
        cls = getattr(qa.errors, name)
        assert cls.__module__ == "qa.errors" and issubclass(cls, index.errors.QAError), name
        assert not hasattr(index.errors, name), name
    for name, cls in vars(index.errors).items():  # every index error is still importable from qa.errors
        if isinstance(cls, type) and issubclass(cls, index.errors.QAError):
            assert getattr(qa.errors, name) is cls, name
