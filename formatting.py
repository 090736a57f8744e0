"""How dates and sizes look to a Brazilian reader: one date filter, one size filter.

Dates are "15/05/2015 10:30" in the office's time zone (TIMEZONE); sizes "129,8 kb". These
are fixed formats, so they are written here directly: the O.S. page shows dozens of dates,
and a general-purpose locale library cost more time than the rest of the page (bench/).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(value: datetime) -> datetime:
    return value.astimezone(_zone(current_app.config["TIMEZONE"]))


def date_time(value: datetime | None) -> str:
    return local(value).strftime("%d/%m/%Y %H:%M") if value is not None else ""


def decimal(number: float) -> str:
    """1234.5 as "1.234,5"."""
    return f"{number:,.1f}".replace(",", "\0").replace(".", ",").replace("\0", ".")


def file_size(size: int | None) -> str:
    size = size or 0
    if size < 1024 * 1024:
        return f"{decimal(size / 1024)} kb"
    return f"{decimal(size / (1024 * 1024))} mb"


def init_app(app) -> None:
    app.add_template_filter(date_time, "datetime")
    app.add_template_filter(file_size, "filesize")
