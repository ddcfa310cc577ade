"""The Store contract (tests/index/store_contract.py) on every store we ship."""

from __future__ import annotations

import pytest

from index.memory_store import InMemoryStore
from index.store import ChromaStore
from tests.index.store_contract import StoreContract


@pytest.mark.integration
class TestChromaStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        return ChromaStore(path=tmp_path / "chroma")


@pytest.mark.unit
class TestInMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return InMemoryStore()


@pytest.mark.unit
@pytest.mark.parametrize("url, address", [
    ("http://chroma.internal:9000", ("chroma.internal", 9000, False)),  # an explicit port wins
    ("https://chroma.internal:8443", ("chroma.internal", 8443, True)),
    ("https://chroma.example.com", ("chroma.example.com", 443, True)),  # https: a TLS proxy on 443
    ("http://127.0.0.1", ("127.0.0.1", 8000, False)),  # http: what `chroma run` listens on
])
def test_chroma_address_explicit_port_else_scheme_default(url, address):
    from index.store import chroma_address

    assert chroma_address(url) == address


@pytest.mark.unit
@pytest.mark.parametrize("url", ["ftp://host", "localhost:8000", "http://host:port"])
def test_a_bad_chroma_url_is_a_config_error_that_says_the_fix(url):
    from index.errors import ConfigError
    from index.store import chroma_address

    with pytest.raises(ConfigError, match="http://127.0.0.1:8000"):
        chroma_address(url)
