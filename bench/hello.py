"""The bare Flask app bench/run compares against: one route, same gunicorn settings."""

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/")
    def hello():
        return "hello"

    return app
