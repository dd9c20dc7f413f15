"""The database URL comes from the flag, then the environment, then the config file, else embedded."""

from __future__ import annotations

from pathlib import Path

import pytest

from viewer.db.settings import ConfigError, UrlSource, caseline_home, resolve_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CASELINE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CASELINE_DATABASE_URL", raising=False)
    return tmp_path / "home"


def test_home_is_created_private(home: Path) -> None:
    assert caseline_home() == home.resolve()
    assert home.stat().st_mode & 0o077 == 0


def test_embedded_by_default(home: Path) -> None:
    settings = resolve_settings()
    assert settings.uses_embedded and settings.url_source is UrlSource.EMBEDDED
    assert settings.idle_lock_minutes == 15


def test_precedence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('database_url = "postgresql://file/db"\nidle_lock_minutes = 5\n')
    assert resolve_settings().database_url == "postgresql://file/db"
    assert resolve_settings().url_source is UrlSource.CONFIG_FILE
    assert resolve_settings().idle_lock_minutes == 5
    monkeypatch.setenv("CASELINE_DATABASE_URL", "postgresql://env/db")
    assert resolve_settings().database_url == "postgresql://env/db"
    assert resolve_settings("postgresql://flag/db").url_source is UrlSource.FLAG
    assert resolve_settings("postgresql://flag/db").database_url == "postgresql://flag/db"


@pytest.mark.parametrize(
    "content",
    ["database_url = [1, 2]\n", "this is not toml", "idle_lock_minutes = 0\n", 'database_url = ""\n'],
)
def test_bad_config_is_a_clear_error(home: Path, content: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(content)
    with pytest.raises(ConfigError) as info:
        resolve_settings()
    assert "config.toml" in str(info.value)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("nonsense", "is not a URL"),
        ("mysql://clinic@db/caseline", "needs PostgreSQL"),
        ("sqlite:///caseline.db", "needs PostgreSQL"),
        ("postgresql+psycopg2://clinic@db/caseline", "names the driver"),
    ],
)
def test_a_url_that_is_not_postgresql_is_a_config_error(home: Path, url: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint) as caught:
        resolve_settings(url.replace("clinic@", "clinic:s3cret@"))
    assert "s3cret" not in str(caught.value)  # the message never repeats a password


@pytest.mark.parametrize(
    "url", ["postgresql://a@db/c", "postgres://a@db/c", "postgresql+psycopg://a@/c?host=/tmp"]
)
def test_postgresql_urls_are_accepted(home: Path, url: str) -> None:
    assert resolve_settings(url).database_url == url


def test_a_home_that_is_a_file_or_cannot_be_made_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain_file = tmp_path / "notes.txt"
    plain_file.write_text("not a folder")
    monkeypatch.setenv("CASELINE_HOME", str(plain_file))
    with pytest.raises(ConfigError, match="is not a folder"):
        caseline_home()
    monkeypatch.setenv("CASELINE_HOME", str(plain_file / "home"))
    with pytest.raises(ConfigError, match="cannot create the Caseline home"):
        caseline_home()


def test_a_damaged_demo_accounts_file_leaves_the_sign_in_to_typing(tmp_path: Path) -> None:
    from viewer.services.sign_in import demo_accounts

    (tmp_path / "demo-credentials.json").write_text('{"users": [{"username": "demo_a"')
    assert demo_accounts(tmp_path) == []
    (tmp_path / "demo-credentials.json").write_text('{"users": [{"username": "demo_a"}]}')
    assert demo_accounts(tmp_path) == []


def test_a_misspelt_setting_is_refused_by_name(home: Path) -> None:
    """ "idle_lock_minuts = 5" was ignored in silence, and the lock kept its 15 minutes."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("idle_lock_minuts = 5\n")
    with pytest.raises(ConfigError, match=r"unknown setting idle_lock_minuts in .*config\.toml") as refused:
        resolve_settings()
    assert "idle_lock_minutes" in str(refused.value)  # the right spelling, to copy
