"""Settings come from defaults < batchyard.toml < BATCHYARD_* environment."""

from pathlib import Path

import pytest

from batchyard.config import load_settings


def test_defaults_match_the_documented_ones(tmp_path: Path) -> None:
    settings = load_settings(environ={}, config_file=tmp_path / "absent.toml")
    assert (settings.host, settings.port, settings.region, settings.account_id) == (
        "127.0.0.1", 4580, "us-east-1", "123456789012"
    )
    assert settings.data_dir == Path(".batchyard")
    assert settings.resolved_database_url.endswith("/.batchyard/batchyard.db")
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.time_scale == 1.0


def test_file_overrides_defaults_and_environment_overrides_file(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text('port = 4600\nregion = "eu-west-1"\naccount_id = "111122223333"\n')
    settings = load_settings(
        environ={"BATCHYARD_PORT": "4700", "BATCHYARD_DATA_DIR": str(tmp_path / "d")},
        config_file=config,
    )
    assert settings.port == 4700
    assert settings.region == "eu-west-1"
    assert settings.account_id == "111122223333"
    assert settings.data_dir == tmp_path / "d"


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text("[batchyard]\ntime_scale = 60\n")
    settings = load_settings(environ={"BATCHYARD_CONFIG": str(config)})
    assert settings.time_scale == 60.0


def test_database_url_setting_wins_over_the_data_dir_default(tmp_path: Path) -> None:
    url = "postgresql+psycopg://localhost/batchyard"
    settings = load_settings(environ={"BATCHYARD_DATABASE_URL": url}, config_file=tmp_path / "x")
    assert settings.resolved_database_url == url


def test_unknown_setting_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ValueError, match="prot"):
        load_settings(environ={}, config_file=config)
