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


PROJECT = Path(__file__).resolve().parents[1] / "kb.yml"


@pytest.mark.parametrize("name, value, expected", [
    ("KB_TRUSTED_PROXIES", "many", "field 'server.trusted_proxies': Input should be a valid integer"),
    ("KB_RATELIMIT_ENABLED", "maybe", "field 'rate_limits.enabled': Input should be a valid boolean"),
    ("KB_RATELIMIT_STORAGE", "redis:/host", "unknown rate-limit storage 'redis:/host' (expected one of memory://"),
    ("KB_SECRET_KEY", "hunter2", "too short to sign sessions: use at least 16 random characters"),
    ("KB_IDENTITY_KEYS", "not-a-key,also-bad", "key 1 of 2 is not a Fernet key"),
])
def test_a_bad_variable_is_named_with_what_it_expects(name, value, expected):
    with pytest.raises(ConfigError) as info:
        load_config(PROJECT, environ={name: value})
    text = str(info.value)
    assert f"environment variable {name}: " in text and expected in text
    assert f"Fix: correct {name} or unset it" in text
    assert str(PROJECT) not in text  # the file is not blamed for the environment's value


@pytest.mark.parametrize("name, value", [("KB_SECRET_KEY", "hunter2"), ("KB_IDENTITY_KEYS", "s3cr3t-not-a-key")])
def test_a_bad_secret_is_never_echoed(name, value):
    with pytest.raises(ConfigError) as info:
        load_config(PROJECT, environ={name: value})
    assert value not in str(info.value)


def test_every_override_reaches_its_key():
    from cryptography.fernet import Fernet
    keys = [Fernet.generate_key().decode() for _ in range(2)]
    cfg = load_config(PROJECT, environ={
        "KB_SITE_DIR": "/srv/site", "KB_INDEX_DIR": "/srv/index", "KB_DATABASE_URL": "postgresql://db/kb",
        "KB_API_BASE_URL": "https://api.example", "KB_TRUSTED_PROXIES": "2", "KB_SECRET_KEY": "x" * 32,
        "KB_IDENTITY_KEYS": f"{keys[0]}, {keys[1]}", "KB_RATELIMIT_STORAGE": "redis://127.0.0.1:6379",
        "KB_RATELIMIT_ENABLED": "0", "KB_RATELIMIT_PREFIX": "kb2"})
    assert (cfg.site_dir, cfg.index_dir, cfg.db_url) == (Path("/srv/site"), Path("/srv/index"), "postgresql://db/kb")
    assert (cfg.site.api_base_url, cfg.server.trusted_proxies) == ("https://api.example", 2)
    assert cfg.secrets.secret_key.get_secret_value() == "x" * 32 and cfg.secrets.identity_keys == tuple(keys)
    limits = cfg.rate_limits
    assert (limits.enabled, limits.storage, limits.key_prefix) == (False, "redis://127.0.0.1:6379", "kb2")
    assert "x" * 32 not in repr(cfg) and keys[0] not in repr(cfg)


def test_an_empty_variable_counts_as_unset():
    assert load_config(PROJECT, environ={"KB_TRUSTED_PROXIES": "", "KB_SECRET_KEY": ""}).secrets.secret_key is None


def test_secrets_in_kb_yml_are_refused(tmp_path):
    path = tmp_path / "kb.yml"
    path.write_text("categories:\n  - {id: a, zh: 甲, en: A}\nsecrets:\n  secret_key: committed-by-mistake\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert (f"{path}:3: field 'secrets': secrets do not belong in kb.yml, which is kept with the content. "
            f"Fix: remove the section and set KB_SECRET_KEY and KB_IDENTITY_KEYS in the environment") in str(info.value)


def test_kb_config_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_config(environ={"KB_CONFIG": str(PROJECT)}).root == PROJECT.parent
    with pytest.raises(ConfigError) as info:
        load_config(environ={"KB_CONFIG": str(tmp_path / "missing.yml")})
    assert f"{tmp_path / 'missing.yml'}: file not found. Fix: create it or point KB_CONFIG at it" in str(info.value)


def test_flask_config_holds_the_validated_object_and_takes_no_flat_copies(kb_tree, tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    from intake_api import create_app, crypto
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("KB_SECRET_KEY", "s" * 40)
    monkeypatch.setenv("KB_IDENTITY_KEYS", key)
    monkeypatch.setenv("KB_RATELIMIT_ENABLED", "0")
    monkeypatch.setenv("KB_RATELIMIT_PREFIX", "kb-config-test")
    db = f"sqlite:///{tmp_path / 'c.db'}"
    app = create_app({"KB_CONFIG": str(kb_tree / "kb.yml"), "KB_OVERRIDES": {"database_url": db}})
    try:
        assert app.config["KB"].db_url == db
        for flat in ("DATABASE_URL", "INDEX_DIR", "SITE_DIR", "SITE_BASE_PATH", "INSTANCE_DIR"):
            assert flat not in app.config
        assert app.config["SECRET_KEY"] == "s" * 40
        assert (app.config["RATELIMIT_ENABLED"], app.config["RATELIMIT_KEY_PREFIX"]) == (False, "kb-config-test")
        assert Fernet(key.encode()).decrypt(crypto.ring().encrypt(b"identity")) == b"identity"
        assert not (kb_tree / "instance" / "secret_key").exists()
        assert not (kb_tree / "instance" / "identity.keys").exists()
    finally:
        app.extensions["db_engine"].dispose()


def test_a_flat_key_passed_to_create_app_says_what_replaces_it(kb_tree, tmp_path):
    from intake_api import create_app
    with pytest.raises(ConfigError) as info:
        create_app({"KB_CONFIG": str(kb_tree / "kb.yml"), "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
    assert ("create_app: field 'DATABASE_URL': is no longer a Flask setting. Fix: pass "
            "KB_OVERRIDES={'database_url': ...} and read config['KB']") in str(info.value)


def test_a_rate_limit_that_does_not_parse_is_named_with_its_line(tmp_path):
    path = tmp_path / "kb.yml"
    path.write_text("categories:\n  - {id: a, zh: 甲, en: A}\nrate_limits:\n  submit: lots\n  login: 5/minute;50/hour\n",
                    encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    text = str(info.value)
    assert f"{path}:4: field 'rate_limits.submit': 'lots' is not a rate limit (write e.g. 20/minute" in text
    assert f"{path}:5: field 'rate_limits.login': '5/minute;50/hour': give one limit, e.g. 10/minute" in text


def test_a_limit_that_kb_yml_does_not_declare_is_refused_at_import():
    from intake_api.limits import limit
    with pytest.raises(ValueError, match=r"no rate limit 'undeclared': declare rate_limits.undeclared in kb_builder/config.py"):
        limit("undeclared")
