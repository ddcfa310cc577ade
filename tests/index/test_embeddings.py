"""The embedder's backends: validation, the fingerprint rule, and (integration) that the exported
backends give torch's vectors and export only once."""

import numpy as np
import pytest

from index import embeddings
from index.embeddings import EMBED_BACKENDS, SentenceTransformerEmbedder, check_backend
from qa.config import Config
from qa.errors import ConfigError


@pytest.mark.unit
def test_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ValueError, match=r"embed_backend must be one of openvino, onnx, torch, got 'tensorrt'"):
        SentenceTransformerEmbedder(backend="tensorrt")
    assert check_backend("onnx") == "onnx"


@pytest.mark.unit
def test_config_validates_the_backend_and_reads_the_environment():
    assert Config.load(env={}).embed_backend == "openvino"
    assert Config.load(env={"GROUNDQA_EMBED_BACKEND": "torch"}).embed_backend == "torch"
    with pytest.raises(ConfigError, match=r"embed_backend must be one of openvino, onnx, torch, got 'gpu'"):
        Config.load(env={"GROUNDQA_EMBED_BACKEND": "gpu"})


@pytest.mark.unit
def test_backends_with_the_same_vectors_share_the_fingerprint(tmp_path):
    model = tmp_path / "pkg" / "model"
    model.mkdir(parents=True)
    prints = {b: SentenceTransformerEmbedder(str(model), backend=b).fingerprint for b in EMBED_BACKENDS}
    assert set(prints.values()) == {"pkg/model"}  # fp32 / bf16-matmul runtimes: within ~1e-4 cosine of torch


@pytest.mark.unit
def test_a_backend_that_changes_vectors_gets_its_own_fingerprint(tmp_path, monkeypatch):
    model = tmp_path / "pkg" / "model"
    model.mkdir(parents=True)
    monkeypatch.setitem(embeddings._VECTOR_SUFFIX, "onnx", "+int8")
    assert SentenceTransformerEmbedder(str(model), backend="onnx").fingerprint == "pkg/model+int8"
    assert SentenceTransformerEmbedder(str(model), backend="torch").fingerprint == "pkg/model"


@pytest.mark.unit
def test_export_folder_follows_the_weights(tmp_path):
    model = tmp_path / "pkg" / "model"
    model.mkdir(parents=True)
    (model / "model.safetensors").write_bytes(b"v1")
    emb = SentenceTransformerEmbedder(str(model), backend="openvino", cache_dir=tmp_path / "cache")
    first = emb.export_dir()
    assert first.parent == tmp_path / "cache" and first.name.endswith("-openvino")
    (model / "model.safetensors").write_bytes(b"v2, other weights")
    assert emb.export_dir() != first


@pytest.mark.unit
def test_a_model_the_exported_backend_cannot_run_falls_back_to_torch(tmp_path):
    model = tmp_path / "pkg" / "model"
    model.mkdir(parents=True)  # no tokenizer.json, no pooling: not exportable
    emb = SentenceTransformerEmbedder(str(model), backend="openvino", cache_dir=tmp_path / "cache")
    assert emb._load_exported() is None
    assert not (tmp_path / "cache").exists()


SENTENCES = [
    "The cat sat on the mat.",
    "Who won the 1998 FIFA World Cup?",
    "France beat Brazil 3-0 in the final at the Stade de France in Saint-Denis. " * 4,
    "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.",
]


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["openvino", "onnx"])
def test_exported_backend_matches_torch_and_exports_once(backend, tmp_path):
    torch_vecs = np.array(SentenceTransformerEmbedder(backend="torch").embed(SENTENCES))
    first = SentenceTransformerEmbedder(backend=backend, cache_dir=tmp_path)
    vecs = np.array(first.embed(SENTENCES))
    assert first.exports == 1
    assert vecs.shape == torch_vecs.shape
    assert np.all(np.sum(vecs * torch_vecs, axis=1) > 0.99)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    second = SentenceTransformerEmbedder(backend=backend, cache_dir=tmp_path)
    assert np.allclose(np.array(second.embed(SENTENCES)), vecs, atol=1e-5)
    assert second.exports == 0  # the cached export was used
    assert second.fingerprint == SentenceTransformerEmbedder(backend="torch").fingerprint


@pytest.mark.unit
def test_batches_cover_every_text_once_in_order_within_the_size():
    lengths = [120, 118, 40, 38, 37, 12, 11, 10, 9, 8]  # sorted longest first, as encode sorts them
    got = embeddings._batches(lengths, batch_size=4)
    assert [i for r in got for i in r] == list(range(len(lengths)))
    assert all(0 < len(r) <= 4 for r in got)


@pytest.mark.unit
def test_batches_keep_a_long_text_away_from_short_ones():
    # fixed batches of 4 would pad three 10-token sentences to one 300-token code block: 1200 padded tokens
    got = embeddings._batches([300, 10, 10, 10], batch_size=4, overhead=32)
    assert [list(r) for r in got] == [[0], [1, 2, 3]]


@pytest.mark.unit
def test_batches_of_equal_lengths_fill_to_the_size():
    got = embeddings._batches([20] * 9, batch_size=4, overhead=32)
    assert sorted(len(r) for r in got) == [1, 4, 4]  # no padding to save: as few calls as the size allows
