"""Error pages in Portuguese, for every error a browser or a script can cause."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app import db
from formatting import file_size
from security import is_safe_next

log = logging.getLogger(__name__)

MESSAGES = {
    400: ("Requisição inválida", "Não foi possível entender o que foi enviado. Volte e tente novamente."),
    403: ("Acesso negado", "Você não tem permissão para ver esta página."),
    404: ("Página não encontrada", "O endereço pode estar incorreto ou a página não existe mais."),
    405: ("Ação não permitida", "Esta página não aceita esse tipo de envio."),
    413: ("Envio grande demais", "Nada foi recebido: o envio passa do limite de {limit}. Volte à página anterior (o botão Voltar do navegador costuma manter o texto escrito) e anexe arquivos menores ou menos arquivos de cada vez."),
    429: ("Muitas tentativas", "Você fez muitas tentativas em pouco tempo. Aguarde alguns minutos e tente novamente."),
    500: ("Erro interno", "Ocorreu um erro inesperado. Tente novamente em instantes."),
}


def _back_path() -> str | None:
    """The page of ours a refused form was sent from (browsers send it: Referrer-Policy
    same-origin), to open it again. Ours: the request's host, or BASE_URL's behind a proxy
    that does not pass the Host on."""
    parts = urlsplit(request.referrer or "")
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    ours = {request.host, urlsplit(current_app.config["BASE_URL"]).netloc}
    return path if parts.netloc in ours and is_safe_next(path) else None


def _render(code: int, title: str | None = None, message: str | None = None, headers=None):
    fallback = MESSAGES[500] if code >= 500 else MESSAGES[400]
    default_title, default_message = MESSAGES.get(code, fallback)
    if code == 413:
        default_message = default_message.format(
            limit=file_size(current_app.config["MAX_CONTENT_LENGTH"]))
    back = _back_path() if request.method == "POST" else None
    return (
        render_template("errors/error.html", code=code, title=title or default_title,
                        message=message or default_message, back=back),
        code,
        headers or {},
    )


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(
            400, "Formulário expirado",
            "Por segurança, o formulário expirou. Volte à página, recarregue-a e envie novamente.",
        )

    @app.errorhandler(429)
    def too_many(error):
        if request.endpoint == "public.status_check":
            # Answer on the form itself and keep what was typed.
            from views.public import StatusCheckForm

            form = StatusCheckForm()
            return render_template("public/home.html", form=form, rate_limited=True), 429
        return _render(429)

    @app.errorhandler(HTTPException)
    def http_error(error):
        # Keep the status and headers that matter (Allow on 405, Content-Range on 416).
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        # Our own aborts carry a Portuguese description; Werkzeug's defaults are English.
        ours = error.description if error.description != type(error).description else None
        return _render(error.code or 400, message=ours, headers=headers)

    @app.errorhandler(Exception)
    def unexpected(error):
        db.session.rollback()
        # The rule, not the path: paths of e-mailed links carry tokens.
        log.exception("erro inesperado em %s", request.url_rule.rule if request.url_rule else "?")
        return _render(500)
