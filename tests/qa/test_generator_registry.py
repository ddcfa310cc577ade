"""One generator registry, {name: factory}: the built-ins and registered generators are made the same way."""

from __future__ import annotations

import pytest

import qa
import qa.config
from index.memory_store import InMemoryStore
from qa.errors import ConfigError
from qa.generators import GENERATORS, ExtractiveGenerator, LocalGenerator, OpenAIGenerator, register_generator
from tests.fakes import HashEmbedder, ScriptedGenerator

DOC = "The harbour bridge opened in 1932. It carries eight lanes of traffic and two railway tracks."


def open_memory(tmp_path, **options):
    return qa.open(home=tmp_path / "home", embedder=HashEmbedder(), store=InMemoryStore(), **options)


@pytest.mark.unit
def test_built_ins_are_registered_and_config_reads_the_same_registry(tmp_path):
    assert {"local", "openai", "extractive"} <= set(GENERATORS)
    assert qa.config.GENERATORS is GENERATORS
    s = open_memory(tmp_path, openai_base_url="http://127.0.0.1:9/v1", llm_ctx=1024)
    assert isinstance(s.generator("extractive"), ExtractiveGenerator)
    local = s.generator("local")
    assert isinstance(local, LocalGenerator) and local.n_ctx == 1024  # from the config
    assert s.generator("openai").base_url == "http://127.0.0.1:9/v1"
    assert s.generator("local") is local  # made once per service: a second call returns the first one


@pytest.mark.unit
def test_a_registered_generator_answers_like_a_built_in(tmp_path):
    """tests/fakes.py registers "first-sentence" with register_generator, the hook third parties use."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bridge.txt").write_text(DOC)
    s = open_memory(tmp_path, generator="first-sentence")
    s.ingest([tmp_path / "docs"])
    assert "first-sentence" in s.generator_names() and {"local", "openai", "extractive"} <= set(s.generator_names())
    answer = s.ask("When did the harbour bridge open?")
    assert answer.generator == "first-sentence"
    assert "1932" in answer.raw_answer and not answer.refused
    assert all(DOC[c.start:c.end] == c.quote for c in answer.citations) and answer.citations


@pytest.mark.unit
def test_registering_again_replaces_and_each_service_builds_its_own(tmp_path):
    made = []

    def factory(config, grounder):
        made.append(config.top_k)
        return ScriptedGenerator(lambda q, ps: "", name="counted")

    register_generator("counted", factory)
    register_generator("counted", factory)
    open_memory(tmp_path / "a", top_k=3).generator("counted")
    open_memory(tmp_path / "b", top_k=5).generator("counted")
    assert made == [3, 5]


@pytest.mark.unit
@pytest.mark.parametrize("name", ["", " padded ", "groundqa", 7])
def test_unusable_generator_names_are_refused(name):
    with pytest.raises(ConfigError, match="not usable"):
        register_generator(name, lambda config, grounder: None)
    with pytest.raises(ConfigError, match="callable"):
        register_generator("fine-name", "not a factory")


@pytest.mark.unit
def test_an_unknown_generator_names_the_choices_and_the_hook(tmp_path):
    with pytest.raises(ConfigError) as info:
        open_memory(tmp_path).generator("nope")
    assert "extractive" in info.value.message and "register_generator" in info.value.message


@pytest.mark.unit
def test_generators_that_run_in_process_are_always_reachable(tmp_path):
    s = open_memory(tmp_path)
    for name in ("extractive", "first-sentence"):
        assert s.generator(name).ping() is None and s.generator(name).load() is None


@pytest.mark.integration
def test_an_unreachable_llm_server_says_how_to_fix_it():
    import socket

    from qa.errors import ModelUnavailable

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gen = OpenAIGenerator(f"http://127.0.0.1:{port}/v1", "m")
    with pytest.raises(ModelUnavailable, match="GROUNDQA_OPENAI_BASE_URL"):
        gen.ping()
