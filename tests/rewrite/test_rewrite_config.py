"""Typed rewrite config: YAML defaults in sync with the code, readable validation errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from rerank_fix.errors import ConfigError
from rerank_fix.rewrite.config import PromptConfig, RewriteConfig, load_rewrite_config, rewrite_config_from_dict

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "rewrite"


def test_default_yaml_equals_builtin_defaults():
    assert load_rewrite_config(CONFIGS / "default.yaml") == RewriteConfig()


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load(path):
    config = load_rewrite_config(path)
    assert config.backend in {"spell", "openai", "llamacpp", "callable"}


def test_overrides_and_nesting(tmp_path):
    path = tmp_path / "rw.yaml"
    path.write_text("rewrite:\n  backend: openai\n  openai:\n    model: m1\n    timeout: 5\n", encoding="utf-8")
    config = load_rewrite_config(path, {"openai": {"model": "m2"}, "mode": "fuse"})
    assert (config.backend, config.mode, config.openai.model, config.openai.timeout) == ("openai", "fuse", "m2", 5.0)


@pytest.mark.parametrize("data,message", [
    ({"backend": "gpt"}, "backend"),
    ({"backend": "openai"}, "needs openai.model"),
    ({"backend": "llamacpp"}, "needs llamacpp.gguf"),
    ({"openai": {"timeout": -1}}, "openai.timeout"),
    ({"openai": {"base_url": "localhost:8000"}}, "http:// or https://"),
    ({"gate": {"max_tokens": 0}}, "gate.max_tokens"),
    ({"spel": {}}, "spel: unknown field"),
    ({"prompt": {"user": "Fix this"}}, "must contain the placeholder {query}"),
    ({"prompt": {"system": "About {topic}"}}, "unknown placeholder(s) ['topic']"),
    ({"prompt": {"user": "{query} {"}}, "not a valid template"),
])
def test_invalid_configs_name_the_field(data, message):
    with pytest.raises(ConfigError) as info:
        rewrite_config_from_dict(data, "my.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("my.yaml: ")


def test_yaml_errors_name_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("backend: spell\nmode: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml:\d+: malformed YAML"):
        load_rewrite_config(path)
    with pytest.raises(ConfigError, match="not found"):
        load_rewrite_config(tmp_path / "missing.yaml")
    listed = tmp_path / "list.yaml"
    listed.write_text("- backend\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_rewrite_config(listed)


def test_prompt_template_with_literal_braces():
    prompt = PromptConfig(system="Answer as JSON like {{\"q\": ...}} about {domain_hint}", user="Q: {query}",
                          examples=())
    messages = prompt.messages("do {golddish} grow", domain_hint="fish")
    assert messages == [{"role": "system", "content": 'Answer as JSON like {"q": ...} about fish'},
                        {"role": "user", "content": "Q: do {golddish} grow"}]
