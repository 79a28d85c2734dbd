"""One config-error formatter: every config kind names the file and the line of each bad field."""
from __future__ import annotations

import pytest

from rerank_fix.errors import ConfigError


def _error(load, path) -> str:
    with pytest.raises(ConfigError) as info:
        load(path)
    return str(info.value)


def test_every_config_kind_names_file_and_line(tmp_path):
    from rerank_fix.finetune.config import load_config
    from rerank_fix.mine.config import load_mine_config
    from rerank_fix.pipeline.recipe import load_recipe
    from rerank_fix.rewrite.config import load_rewrite_config

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: x\npipelines:\n  - name: dense\n    stages: [{dense: {top_kk: 5}}]\n")
    finetune = tmp_path / "finetune.yaml"
    finetune.write_text("model:\n  name: bundled\ntrain:\n  learnig_rate: 0.1\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text("retriever: bm25\nnegatives_per_query: 3\n")
    rewrite = tmp_path / "rewrite.yaml"
    rewrite.write_text("rewrite:\n  backend: spell\n  spel: {}\n")
    assert f"{recipe}:4: pipelines[0].stages[0].dense.top_kk" in _error(load_recipe, recipe)
    assert f"{finetune}:4: train.learnig_rate: unknown field" in _error(load_config, finetune)
    assert f"{mine}:2: negatives_per_query: unknown field" in _error(load_mine_config, mine)
    assert f"{rewrite}:3: spel: unknown field" in _error(load_rewrite_config, rewrite)
