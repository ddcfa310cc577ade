from pathlib import Path

import pytest

from qa.config import Config
from qa.errors import ConfigError, QAError

pytestmark = pytest.mark.unit


def test_precedence_defaults_then_env_then_options(tmp_path):
    env = {"GROUNDQA_HOME": str(tmp_path), "GROUNDQA_TOP_K": "7", "GROUNDQA_GENERATOR": "extractive"}
    c = Config.load(env=env, top_k=None, generator="local")
    assert c.home == tmp_path and c.top_k == 7 and c.generator == "local"
    assert c.chroma_path == tmp_path / "chroma"


def test_default_home_is_per_user():
    c = Config.load(env={})
    assert c.home.name == "groundqa" and str(Path.home()) in str(c.home)


def test_openai_key_falls_back_to_the_standard_variable():
    assert Config.load(env={"OPENAI_API_KEY": "k"}).openai_api_key == "k"
    assert Config.load(env={"OPENAI_API_KEY": "k", "GROUNDQA_OPENAI_API_KEY": "g"}).openai_api_key == "g"


@pytest.mark.parametrize("env", [{"GROUNDQA_TOP_K": "many"}, {"GROUNDQA_TOP_K": "0"}, {"GROUNDQA_KEEP_UNSUPPORTED": "maybe"}])
def test_bad_values_are_config_errors(env):
    with pytest.raises(ConfigError) as info:
        Config.load(env=env)
    assert "GROUNDQA_" in info.value.message or "top_k" in info.value.message


def test_config_is_immutable():
    c = Config.load(env={})
    with pytest.raises(Exception):
        c.top_k = 3
    assert c.with_(top_k=3).top_k == 3 and c.top_k == 4


def test_errors_carry_status_and_code():
    err = ConfigError("x")
    assert isinstance(err, QAError) and err.status == 400
    assert err.to_dict() == {"error": {"code": "config_error", "message": "x"}}
