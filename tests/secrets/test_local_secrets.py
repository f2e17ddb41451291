"""valueFrom references (Secrets Manager ARNs with their optional parts, SSM ARNs and names)
and their values from the local secrets file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from batchyard.batch.secrets import (
    SECRETS_MANAGER,
    SSM,
    InvalidReference,
    LocalSecrets,
    SecretReference,
    SecretUnavailable,
    parse,
)

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-AbCdEf"
PARAMETER = "arn:aws:ssm:us-east-1:123456789012:parameter"


@pytest.mark.parametrize(
    ("value_from", "reference"),
    [
        (SECRET, SecretReference(SECRETS_MANAGER, "prod/db-AbCdEf")),
        (f"{SECRET}:username::", SecretReference(SECRETS_MANAGER, "prod/db-AbCdEf", "username")),
        (
            f"{SECRET}::AWSPREVIOUS:",
            SecretReference(SECRETS_MANAGER, "prod/db-AbCdEf", None, "AWSPREVIOUS"),
        ),
        (f"{SECRET}:::v1", SecretReference(SECRETS_MANAGER, "prod/db-AbCdEf", None, None, "v1")),
        (f"{PARAMETER}/prod/token", SecretReference(SSM, "/prod/token")),
        (f"{PARAMETER}/token", SecretReference(SSM, "token")),
        ("token", SecretReference(SSM, "token")),
        ("/prod/token", SecretReference(SSM, "/prod/token")),
    ],
)
def test_value_from_names_a_secret_or_a_parameter(
    value_from: str, reference: SecretReference
) -> None:
    assert parse(value_from) == reference


@pytest.mark.parametrize(
    "value_from",
    [
        "",
        "arn:aws:s3:::bucket/key",
        f"{SECRET}:username",
        f"{SECRET}::AWSCURRENT:v1",
        "arn:aws:secretsmanager:us-east-1:123456789012:other:prod/db",
        f"{PARAMETER}",
    ],
)
def test_a_malformed_value_from_is_refused(value_from: str) -> None:
    with pytest.raises(InvalidReference):
        parse(value_from)


def _store(tmp_path: Path, document: object) -> LocalSecrets:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps(document))
    return LocalSecrets(path)


def test_values_come_from_the_file(tmp_path: Path) -> None:
    store = _store(
        tmp_path,
        {
            "secretsmanager": {
                "prod/db": json.dumps({"username": "app", "port": 5432}),
                "plain": "hunter2",
                "as-object": {"a": 1},
            },
            "ssm": {"/prod/token": "abc", "token": "def"},
        },
    )
    asked = [
        {"name": "DB", "valueFrom": SECRET},
        {"name": "USER", "valueFrom": f"{SECRET}:username::"},
        {"name": "PORT", "valueFrom": f"{SECRET}:port:AWSCURRENT:"},
        {"name": "PLAIN", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:plain"},
        {"name": "OBJECT", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:as-object"},
        {"name": "TOKEN", "valueFrom": f"{PARAMETER}/prod/token"},
        {"name": "SHORT", "valueFrom": "token"},
    ]
    assert store.environment(asked) == {
        "DB": '{"username": "app", "port": 5432}',
        "USER": "app",
        "PORT": "5432",
        "PLAIN": "hunter2",
        "OBJECT": '{"a": 1}',
        "TOKEN": "abc",
        "SHORT": "def",
    }


@pytest.mark.parametrize(
    ("value_from", "why"),
    [
        ("arn:aws:secretsmanager:us-east-1:1:secret:missing", "no such secret"),
        ("/missing", "no such parameter"),
        (f"{SECRET}:nokey::", "no JSON key nokey"),
        (f"{SECRET}::AWSPREVIOUS:", "version AWSPREVIOUS not found"),
        (f"{SECRET}:::v1", "version v1 not found"),
        ("arn:aws:s3:::bucket/key", "neither a Secrets Manager secret nor an SSM parameter"),
    ],
)
def test_what_cannot_be_resolved_says_why(tmp_path: Path, value_from: str, why: str) -> None:
    store = _store(tmp_path, {"secretsmanager": {"prod/db": '{"username": "app"}'}})
    with pytest.raises(SecretUnavailable, match=why):
        store.environment([{"name": "X", "valueFrom": value_from}])


def test_a_missing_file_holds_nothing_and_a_broken_one_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SecretUnavailable, match="no such parameter"):
        LocalSecrets(tmp_path / "absent.json").environment([{"name": "X", "valueFrom": "p"}])
    for broken in ("{not json", '["a list"]', '{"ssm": "not an object"}'):
        (tmp_path / "broken.json").write_text(broken)
        with pytest.raises(SecretUnavailable, match="secrets file"):
            LocalSecrets(tmp_path / "broken.json").environment([{"name": "X", "valueFrom": "p"}])
