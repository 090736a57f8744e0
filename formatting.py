"""How dates and sizes look to a Brazilian reader: one date filter, one size filter.

Dates are "15/05/2015 10:30" in the office's time zone; sizes "129,8 kb".
"""

from __future__ import annotations

from datetime import datetime

from babel.numbers import format_decimal
from flask_babel import format_datetime


def date_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value, "dd/MM/yyyy HH:mm")


def date_only(value: datetime | None) -> str:
    if value is None:
        return ""
    return format_datetime(value, "dd/MM/yyyy")


def file_size(size: int | None) -> str:
    size = size or 0
    if size < 1024 * 1024:
        number, unit = size / 1024, "kb"
    else:
        number, unit = size / (1024 * 1024), "mb"
    return f"{format_decimal(number, format='#,##0.0', locale='pt_BR')} {unit}"


def init_app(app) -> None:
    app.add_template_filter(date_time, "datetime")
    app.add_template_filter(date_only, "date")
    app.add_template_filter(file_size, "filesize")
