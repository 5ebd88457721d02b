"""The settings a served trialdesk starts with (finding 10): no insecure secret key outside the
demo and the tests, the proxy's HTTPS header trusted only when configured, static files from
the installed package."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from tests.cli.processes import newcomer_env

SETTINGS_FILE = Path(__file__).parents[2] / "src" / "trialdesk" / "web" / "settings.py"
PRINT_SETTINGS = (
    "import json, trialdesk.web.settings as s; "
    "print(json.dumps({'SECRET_KEY': s.SECRET_KEY, 'PROXY': getattr(s, 'SECURE_PROXY_SSL_HEADER', None)}))"
)


def settings_in_a_process(cwd: Path, **env) -> subprocess.CompletedProcess:
    """The settings as `trialdesk serve` computes them: a fresh process, not under pytest."""
    return subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS], cwd=cwd, env=newcomer_env({"TRIALDESK_DEBUG": "0", **env}),
        capture_output=True, text=True, timeout=60,
    )


def test_without_a_secret_key_the_settings_refuse_to_load_even_with_debug_off(tmp_path):
    result = settings_in_a_process(tmp_path)
    assert result.returncode != 0
    assert "ImproperlyConfigured: TRIALDESK_SECRET_KEY is not set" in result.stderr
    assert "insecure" not in result.stdout


def test_the_secret_key_comes_from_the_environment_or_the_demos_secret_key_file(tmp_path):
    from_env = settings_in_a_process(tmp_path, TRIALDESK_SECRET_KEY="from-the-environment-" + "x" * 40)
    assert json.loads(from_env.stdout)["SECRET_KEY"].startswith("from-the-environment-"), from_env.stderr
    (tmp_path / "secret.key").write_text("written-by-the-demo-" + "y" * 40 + "\n")
    from_file = settings_in_a_process(tmp_path)
    assert json.loads(from_file.stdout)["SECRET_KEY"] == "written-by-the-demo-" + "y" * 40, from_file.stderr


def settings_module(monkeypatch, **env) -> dict:
    monkeypatch.delenv("TRIALDESK_PROXY_SSL_HEADER", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


@pytest.mark.parametrize(
    ("configured", "header"),
    [
        (None, None),
        ("0", None),
        ("1", ("HTTP_X_FORWARDED_PROTO", "https")),
        ("X-Forwarded-Scheme", ("HTTP_X_FORWARDED_SCHEME", "https")),
    ],
)
def test_the_proxy_ssl_header_is_trusted_only_when_configured(monkeypatch, configured, header):
    env = {} if configured is None else {"TRIALDESK_PROXY_SSL_HEADER": configured}
    assert settings_module(monkeypatch, **env).get("SECURE_PROXY_SSL_HEADER") == header


def test_static_files_are_served_by_whitenoise_from_the_installed_package(monkeypatch):
    values = settings_module(monkeypatch)
    middleware = values["MIDDLEWARE"]
    assert middleware.index("trialdesk.web.static_files.StaticFilesMiddleware") == (
        middleware.index("django.middleware.security.SecurityMiddleware") + 1
    )
    assert values["WHITENOISE_USE_FINDERS"] is True


def test_a_django_command_without_a_secret_key_is_one_clear_line(tmp_path):
    from tests.cli.processes import trialdesk

    result = trialdesk("manage", "check", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert result.stderr.startswith("trialdesk: TRIALDESK_SECRET_KEY is not set") and "Traceback" not in result.stderr


def test_a_collected_static_root_is_served_too_and_a_missing_one_is_no_warning(settings, tmp_path, recwarn):
    from django.test import Client

    (tmp_path / "collected").mkdir()
    (tmp_path / "collected" / "site-logo.txt").write_text("logo")
    settings.STATIC_ROOT = tmp_path / "collected"
    response = Client().get("/static/site-logo.txt")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"logo"
    settings.STATIC_ROOT = tmp_path / "never-collected"
    assert Client().get("/static/trialdesk/trialdesk.css").status_code == 200
    assert not [w for w in recwarn if "No directory" in str(w.message)]
