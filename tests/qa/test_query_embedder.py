"""The retrievers' embedder leaves each query's vector with the grounder's sentence encoder, so a question
retrieval embedded is not embedded again to pick its sentences."""

import numpy as np
import pytest

from qa.service import QueryEmbedder, SentenceEncoder


class CountingEmbedder:
    fingerprint = "counting-v1"

    def __init__(self):
        self.calls: list[list[str]] = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return [[float(len(t)), 1.0, 0.0] for t in texts]


@pytest.mark.unit
def test_a_query_embedded_for_retrieval_is_not_embedded_again_for_grounding():
    inner = CountingEmbedder()
    encoder = SentenceEncoder(inner)
    queries = QueryEmbedder(inner, encoder)
    assert queries.fingerprint == "counting-v1"
    vectors = queries.embed(["How did the US vote?"])
    got = encoder(["How did the US vote?", "The US voted against it."])
    assert inner.calls == [["How did the US vote?"], ["The US voted against it."]]
    np.testing.assert_allclose(got[0], np.asarray(vectors[0], dtype=np.float32))


@pytest.mark.unit
def test_remember_keeps_a_vector_the_encoder_already_has():
    inner = CountingEmbedder()
    encoder = SentenceEncoder(inner)
    first = encoder(["same"])[0].copy()
    encoder.remember(["same"], [[9.0, 9.0, 9.0]])
    np.testing.assert_allclose(encoder(["same"])[0], first)
    assert inner.calls == [["same"]]
