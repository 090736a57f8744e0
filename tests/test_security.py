"""Security basics that every page shares: headers, CSRF, settings, safe redirects."""

import pytest

from app import create_app
from security import is_safe_next


def test_pages_carry_a_strict_content_security_policy_and_other_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_are_versioned_by_content_and_kept_for_a_year(app, client):
    import hashlib
    import pathlib
    import re

    page = client.get("/").get_data(as_text=True)
    for name in ("app.css", "editor.js", "favicon.svg"):
        version = hashlib.sha256(pathlib.Path(app.static_folder, name).read_bytes()).hexdigest()[:12]
        url = re.search(rf'"(/static/{re.escape(name)}\?v=[0-9a-f]+)"', page).group(1)
        assert url.endswith(f"v={version}")  # a changed file gets a new address
        with client.get(url) as response:
            assert response.status_code == 200
            assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Without a version the file may change under the same address: a week, as before.
    with client.get("/static/app.css") as response:
        assert "immutable" not in response.headers["Cache-Control"]


def test_templates_have_no_inline_scripts_or_styles(app):
    import pathlib
    import re

    for path in pathlib.Path(app.root_path, "templates").rglob("*.html"):
        if "email" in path.parts:
            continue  # mail clients need inline styles; e-mails are not served as pages
        text = path.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert "<style" not in text and " style=" not in text, path


def test_every_form_post_without_csrf_token_is_refused(app, client):
    import re

    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    assert posts, "no POST routes?"
    for rule in posts:
        url = re.sub(r"<int[^>]*>", "1", rule.rule.replace("<numero>", "00000001"))
        url = re.sub(r"<[^>]+>", "x", url)
        response = client.post(url, data={"email": "a@exemplo.com.br"})
        assert response.status_code == 400, rule.rule
        assert "Formulário expirado" in response.get_data(as_text=True)


def test_unknown_pages_and_methods_answer_in_portuguese(client):
    response = client.get("/nao-existe")
    assert response.status_code == 404
    assert "Página não encontrada" in response.get_data(as_text=True)
    response = client.delete("/")
    assert response.status_code == 405
    assert "Ação não permitida" in response.get_data(as_text=True)


def test_oversized_requests_get_a_portuguese_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/verificar", data={"email": "x" * 5000})
    assert response.status_code == 413
    assert "Envio grande demais" in response.get_data(as_text=True)


def test_dev_mail_catcher_exists_only_in_development(client, tmp_path):
    assert client.get("/dev/mail").status_code == 404
    dev = create_app("development", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'dev.db'}",
                     UPLOAD_DIR=str(tmp_path / "up"))
    assert any(r.rule == "/dev/mail" for r in dev.url_map.iter_rules())


@pytest.mark.parametrize("missing", ["SECRET_KEY", "DATABASE_URL", "BASE_URL"])
def test_production_refuses_to_start_without_its_settings(monkeypatch, missing):
    env = {"SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite://", "BASE_URL": "https://os.exemplo.gov.br"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(missing)
    with pytest.raises(RuntimeError, match=missing):
        create_app("production")


def test_production_refuses_the_development_key(monkeypatch):
    from config import DEV_SECRET_KEY

    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("BASE_URL", "https://os.exemplo.gov.br")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app("production", SECRET_KEY=DEV_SECRET_KEY)


def test_production_sets_secure_cookies_behind_https(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("BASE_URL", "https://os.exemplo.gov.br")
    app = create_app("production", SECRET_KEY="k" * 40, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert not any(r.rule.startswith("/dev") for r in app.url_map.iter_rules())


@pytest.mark.parametrize("target,safe", [
    ("/os/00002172", True), ("/", True), ("//evil.example", False), ("https://evil.example", False),
    ("/\\evil.example", False), ("javascript:alert(1)", False), ("", False), (None, False),
    ("/ok\nSet-Cookie:x", False),
])
def test_only_local_paths_are_safe_redirect_targets(target, safe):
    assert is_safe_next(target) is safe


def test_untouched_fields_are_not_announced_as_invalid(client, catalogue):
    for path in ("/", "/os/nova", "/cadastro", "/entrar", "/atendimento/"):
        html = client.get(path).get_data(as_text=True)
        assert "aria-invalid" not in html, path
        assert '="None"' not in html, path


def test_error_pages_keep_their_status_and_headers(client):
    response = client.delete("/")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_behind_a_trusted_proxy_limits_count_each_citizen(app, tmp_path, smtp_server):
    from conftest import csrf_token

    proxied = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         UPLOAD_DIR=str(tmp_path / "up"), TRUSTED_PROXIES=1,
                         RATELIMIT_STATUS_CHECK="2 per minute")
    statuses = {}
    for citizen in ("200.1.1.1", "200.2.2.2"):
        client = proxied.test_client()
        token = csrf_token(client)
        for _ in range(2):
            response = client.post("/verificar", data={"csrf_token": token, "email": "a@exemplo.com.br",
                                                       "number": "1"},
                                   headers={"X-Forwarded-For": citizen})
            statuses.setdefault(citizen, []).append(response.status_code)
    with proxied.app_context():
        from app import db

        db.session.remove()
        db.engine.dispose()
    assert statuses == {"200.1.1.1": [303, 303], "200.2.2.2": [303, 303]}


def test_https_behind_the_proxy_tells_browsers_to_stay_on_https(app, tmp_path):
    proxied = create_app("testing", SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
                         UPLOAD_DIR=str(tmp_path / "up"), TRUSTED_PROXIES=1)
    client = proxied.test_client()
    secure = client.get("/", headers={"X-Forwarded-Proto": "https"})
    plain = client.get("/")
    with proxied.app_context():  # this second app's connections are closed here, not by the GC
        from app import db

        db.session.remove()
        db.engine.dispose()
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert secure.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Strict-Transport-Security" not in plain.headers  # plain http: nothing to pin


def test_the_flask_command_lists_our_commands_without_settings(tmp_path):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("APP_ENV", "SECRET_KEY", "DATABASE_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    result = subprocess.run([flask, "--app", "app", "--help"], cwd=root, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("db", "demo", "mail", "os", "staff"):
        assert f"  {command} " in result.stdout, command
