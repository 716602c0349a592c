"""`make run` leaves a checkout in which the README's `flask --app wsgi …` commands run."""

from __future__ import annotations

import os
import stat
from unittest import mock

import pytest
from dotenv import dotenv_values

from membership import devserver
from membership.config import DEV_SECRET_KEY, ConfigError, from_environment

SETTINGS = (
    *("SECRET_KEY", "HOST", "PORT", "BASE_URL", "WEBHOOK_PROCESSING", "STRIPE_API_BASE"),
    *("SANDBOX_PORT", "STRIPE_SECRET_KEY", "MEMBERSHIP_DEV_SERVER", "FLASK_DEBUG"),
)


def test_a_command_without_any_secret_still_refuses_to_start():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        from_environment({})  # what a README command met before


def test_the_first_make_run_writes_an_env_the_commands_start_with(tmp_path):
    env_file = tmp_path / ".env"
    assert devserver.write_env_file(env_file, {"PORT": "5093"}) is True

    config = from_environment(dotenv_values(env_file))  # a command: no make run, no debug

    assert len(config["SECRET_KEY"]) >= 40 and config["SECRET_KEY"] != DEV_SECRET_KEY
    assert config["BASE_URL"] == "http://127.0.0.1:5093"
    assert config["WEBHOOK_PROCESSING"] == "queued"
    assert config["STRIPE_API_BASE"] == "http://127.0.0.1:12111"  # the sandbox make run starts
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600  # it holds a secret


def test_with_a_real_stripe_key_the_env_names_no_sandbox(tmp_path):
    env_file = tmp_path / ".env"
    devserver.write_env_file(env_file, {"STRIPE_SECRET_KEY": "sk_test_x"})
    values = dotenv_values(env_file)
    assert "STRIPE_API_BASE" not in values
    assert "STRIPE_SECRET_KEY" not in values  # secrets of the shell are not copied to disk


def test_an_existing_env_is_never_overwritten(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=mine\n")
    assert devserver.write_env_file(env_file, {"PORT": "5093"}) is False
    assert env_file.read_text() == "SECRET_KEY=mine\n"


@pytest.fixture
def shell(tmp_path, monkeypatch):
    """Run prepare_environment() against a .env in tmp_path and a shell without settings."""
    monkeypatch.setattr(devserver, "ENV_FILE", tmp_path / ".env")
    with mock.patch.dict(os.environ):
        for name in SETTINGS:
            os.environ.pop(name, None)
        yield os.environ


def test_later_runs_and_commands_share_the_first_runs_secret_and_address(shell, capsys):
    shell["PORT"] = "5093"
    devserver.prepare_environment()
    first = dict(shell)
    assert "Wrote" in capsys.readouterr().out

    for name in SETTINGS:  # a new shell: `make run` again, with nothing set
        shell.pop(name, None)
    devserver.prepare_environment()

    assert shell["SECRET_KEY"] == first["SECRET_KEY"]
    assert shell["BASE_URL"] == "http://127.0.0.1:5093" == first["BASE_URL"]
    assert shell["PORT"] == "5093"
    assert dotenv_values(devserver.ENV_FILE)["SECRET_KEY"] == first["SECRET_KEY"]


def test_a_port_set_in_the_shell_moves_this_runs_address_and_says_so(shell, capsys):
    devserver.prepare_environment()  # the first run: 127.0.0.1:5000
    for name in SETTINGS:
        shell.pop(name, None)
    shell["PORT"] = "6001"
    devserver.prepare_environment()
    assert shell["BASE_URL"] == "http://127.0.0.1:6001"
    assert "the flask commands use http://127.0.0.1:5000 (.env)" in capsys.readouterr().out
