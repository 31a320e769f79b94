"""Settings from the environment: zero configuration by default, strict in production."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from bondplatform.settings import database_from_url

BASE_DIR = Path(__file__).resolve().parents[2]


def load_settings(**env: str) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with exactly these variables set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "LEDGER_SIGNING_KEY", "DATABASE_URL", "REDIS_URL"}
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import bondplatform.settings as s; print(s.DEBUG, s.Q_CLUSTER.get('redis', 'orm'))",
        ],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_with_nothing_set_it_runs_in_development():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "orm"]


def test_development_processes_share_one_generated_secret_key():
    """The web server and the django-q2 worker must agree: the worker unsigns queued tasks with it."""
    keys = set()
    for _ in range(2):
        clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
        result = subprocess.run(
            [sys.executable, "-c", "import bondplatform.settings as s; print(s.SECRET_KEY)"],
            cwd=BASE_DIR,
            env=clean,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        keys.add(result.stdout.strip())
    assert len(keys) == 1
    assert (BASE_DIR / ".dev-secret-key").stat().st_mode & 0o777 == 0o600


def test_secret_key_is_required_when_debug_is_off():
    result = load_settings(DEBUG="0", LEDGER_SIGNING_KEY="00" * 32)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_ledger_signing_key_is_required_when_debug_is_off():
    result = load_settings(DEBUG="false", SECRET_KEY="s" * 50)

    assert result.returncode != 0
    assert "LEDGER_SIGNING_KEY must be set when DEBUG is off" in result.stderr


def test_production_settings_load_with_both_keys_and_redis():
    result = load_settings(
        DEBUG="0", SECRET_KEY="s" * 50, LEDGER_SIGNING_KEY="00" * 32, REDIS_URL="redis://127.0.0.1:6379/0"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "redis://127.0.0.1:6379/0"]


def test_a_postgres_url_becomes_a_postgresql_database():
    db = database_from_url("postgres://bonds:p%40ss%2Fword@db.example.org:6543/mutual_bonds?sslmode=require")

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "mutual_bonds"
    assert db["USER"] == "bonds"
    assert db["PASSWORD"] == "p@ss/word"
    assert db["HOST"] == "db.example.org"
    assert db["PORT"] == "6543"
    assert db["OPTIONS"] == {"sslmode": "require", "prepare_threshold": 5}


@pytest.mark.parametrize(
    ("query", "threshold"), [("", 5), ("?prepare_threshold=none", None), ("?prepare_threshold=0", 0)]
)
def test_prepared_statements_can_be_turned_off_for_a_pooler(query, threshold):
    db = database_from_url(f"postgres://postgres@127.0.0.1/bondplatform{query}")

    assert db["OPTIONS"]["prepare_threshold"] == threshold


def test_a_prepare_threshold_that_is_not_a_number_is_refused_clearly():
    with pytest.raises(ImproperlyConfigured, match="prepare_threshold"):
        database_from_url("postgres://postgres@127.0.0.1/bondplatform?prepare_threshold=often")


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_postgres_url_spellings_and_defaults(scheme):
    db = database_from_url(f"{scheme}://postgres@127.0.0.1/bondplatform")

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "bondplatform",
        "postgres",
        "",
        "127.0.0.1",
        "",
    )


def test_a_sqlite_url_names_a_file():
    db = database_from_url("sqlite:///tmp/bonds.sqlite3")

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/tmp/bonds.sqlite3"


def test_other_databases_are_refused_clearly():
    with pytest.raises(ImproperlyConfigured, match="mysql"):
        database_from_url("mysql://root@localhost/bonds")


def test_env_example_lists_every_variable_the_settings_read():
    source = (BASE_DIR / "bondplatform" / "settings.py").read_text()
    read = set(re.findall(r'(?:os\.environ\.get|env_bool)\(\s*"([A-Z0-9_]+)"', source))
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.MULTILINE))

    assert read, "found no variables in settings.py: has the way it reads them changed?"
    assert read <= listed, f"missing from .env.example: {sorted(read - listed)}"
