from pathlib import Path

import pytest

from kb_builder.config import load_config
from kb_builder.errors import ConfigError


def test_the_project_config_loads():
    cfg = load_config(Path(__file__).resolve().parents[1] / "kb.yml")
    assert "facilities" in cfg.category_ids
    assert cfg.index_dir.is_absolute()
    assert cfg.db_url.startswith("sqlite:///")


def test_bad_settings_are_all_named_with_their_line(tmp_path):
    path = tmp_path / "kb.yml"
    path.write_text(
        "paths:\n  site: out\n  sitee: typo\ncategories:\n  - {id: Bad Id, zh: 坏, en: Bad}\ntimezone: Mars/Base\n",
        encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}:3: field 'paths.sitee': is not a known field" in text
    assert f"{path}:5: field 'categories.0.id'" in text
    assert "unknown time zone 'Mars/Base'" in text


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "kb.yml"
    path.write_text("categories:\n  - id: a\n   zh: broken\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:3: YAML syntax error" in str(info.value)


def test_environment_overrides_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://localhost/test")
    cfg = load_config(Path(__file__).resolve().parents[1] / "kb.yml")
    assert cfg.db_url == "postgresql://localhost/test"


def test_trusted_proxies_comes_from_the_environment_and_is_checked(monkeypatch):
    project = Path(__file__).resolve().parents[1] / "kb.yml"
    assert load_config(project).server.trusted_proxies == 0
    monkeypatch.setenv("KB_TRUSTED_PROXIES", "1")
    assert load_config(project).server.trusted_proxies == 1
    monkeypatch.setenv("KB_TRUSTED_PROXIES", "-1")
    with pytest.raises(ConfigError) as info:
        load_config(project)
    assert "server.trusted_proxies" in str(info.value)
