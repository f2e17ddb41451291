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
    assert settings.job_user == "batchyard-jobs"


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


def test_job_user_and_the_work_directory_beside_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(
        environ={"BATCHYARD_JOB_USER": "jobs", "BATCHYARD_DATA_DIR": str(tmp_path / "d")},
        config_file=tmp_path / "absent.toml",
    )
    assert settings.job_user == "jobs"
    assert settings.work_dir == tmp_path / "d-work"


def test_database_url_setting_wins_over_the_data_dir_default(tmp_path: Path) -> None:
    url = "postgresql+psycopg://localhost/batchyard"
    settings = load_settings(environ={"BATCHYARD_DATABASE_URL": url}, config_file=tmp_path / "x")
    assert settings.resolved_database_url == url


def test_unknown_setting_in_file_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text("prot = 1\n")
    with pytest.raises(ValueError, match="prot"):
        load_settings(environ={}, config_file=config)


CREDENTIAL = ('[[credentials]]\naccess_key_id = "AKIDEXAMPLE000001"\n'
              'secret_access_key = "s3cret"\naccount_id = "111122223333"\n')


def test_without_credentials_the_server_is_in_development_mode(tmp_path: Path) -> None:
    settings = load_settings(environ={}, config_file=tmp_path / "absent.toml")
    assert settings.development_mode
    assert settings.credentials == ()


def test_credentials_come_from_the_config_file_and_the_credentials_file(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text('port = 4600\n' + CREDENTIAL)
    extra = tmp_path / "more.toml"
    extra.write_text(CREDENTIAL.replace("000001", "000002").replace("1111", "4444"))
    settings = load_settings(environ={"BATCHYARD_CREDENTIALS_FILE": str(extra)},
                             config_file=config)
    assert not settings.development_mode
    assert [(c.access_key_id, c.account_id) for c in settings.credentials] == [
        ("AKIDEXAMPLE000001", "111122223333"), ("AKIDEXAMPLE000002", "444422223333"),
    ]
    assert "s3cret" not in repr(settings)


def test_credentials_under_a_batchyard_section(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text("[batchyard]\nport = 4600\n" + CREDENTIAL.replace("[[credentials]]",
                                                                        "[[batchyard.credentials]]"))
    settings = load_settings(environ={}, config_file=config)
    assert settings.credentials[0].secret_access_key == "s3cret"


@pytest.mark.parametrize(("text", "problem"), [
    (CREDENTIAL.replace('account_id = "111122223333"', 'account_id = "12"'), "12 digits"),
    (CREDENTIAL.replace("secret_access_key", "secret"), "unknown key"),
    (CREDENTIAL.replace('"AKIDEXAMPLE000001"', '"bad key!"'), "access_key_id"),
    (CREDENTIAL + CREDENTIAL, "configured twice"),
    ('credentials = "AKID:secret"\n', "[[credentials]] tables"),
])
def test_bad_credentials_are_errors(tmp_path: Path, text: str, problem: str) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text(text)
    with pytest.raises(ValueError, match=problem.replace("[", r"\[")):
        load_settings(environ={}, config_file=config)


def test_a_missing_credentials_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_settings(environ={"BATCHYARD_CREDENTIALS_FILE": str(tmp_path / "none.toml")},
                      config_file=tmp_path / "absent.toml")


def test_list_settings_from_the_file_and_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text('server_names = ["batchyard.internal"]\n')
    settings = load_settings(
        environ={"BATCHYARD_ALLOWED_ORIGINS": "https://a.example, https://b.example"},
        config_file=config,
    )
    assert settings.server_names == ("batchyard.internal",)
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


def test_api_destinations_reach_private_addresses_only_in_development_mode(
    tmp_path: Path,
) -> None:
    config = tmp_path / "batchyard.toml"
    config.write_text(CREDENTIAL)
    assert load_settings(environ={}, config_file=tmp_path / "absent.toml").private_destinations
    assert not load_settings(environ={}, config_file=config).private_destinations
    allowed = {"BATCHYARD_API_DESTINATIONS_PRIVATE": "true"}
    assert load_settings(environ=allowed, config_file=config).private_destinations
    with pytest.raises(ValueError, match="api_destinations_private"):
        load_settings(environ={"BATCHYARD_API_DESTINATIONS_PRIVATE": "yes"}, config_file=config)
