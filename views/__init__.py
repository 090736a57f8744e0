"""Blueprints, one per area of the site, and the function that registers them."""


def register_blueprints(app) -> None:
    from models import OfficeSetting
    from fieldtypes import HELP
    from uploads import ACCEPT
    from views import account, admin, public, staff
    from views import os as os_views

    app.register_blueprint(public.bp)
    app.register_blueprint(os_views.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(admin.bp)
    account.register_context(app)
    if app.config["ENV_NAME"] == "development":
        from views import dev

        app.register_blueprint(dev.bp)

    @app.context_processor
    def office_context():
        return {"office": OfficeSetting.values(), "upload_accept": ACCEPT}

    app.jinja_env.globals["field_help"] = HELP  # macros see globals, not the page's context
