"""How dates and sizes look to a Brazilian reader: one date filter, one size filter.

Dates are "15/05/2015 10:30" in the office's time zone (TIMEZONE); sizes "129,8 kb". These
are fixed formats, so they are written here directly: the O.S. page shows dozens of dates,
and a general-purpose locale library cost more time than the rest of the page (bench/).
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local(value: datetime) -> datetime:
    return value.astimezone(_zone(current_app.config["TIMEZONE"]))


def date_time(value: datetime | None) -> str:
    if value is None:
        return ""
    d = local(value)
    return f"{d.day:02}/{d.month:02}/{d.year} {d.hour:02}:{d.minute:02}"


def iso_minute(value: datetime) -> str:
    """The UTC minute, for <time datetime="...">: "2026-11-30T13:20Z"."""
    if value.utcoffset():
        value = value.astimezone(timezone.utc)
    return f"{value.year:04}-{value.month:02}-{value.day:02}T{value.hour:02}:{value.minute:02}Z"


def decimal(number: float) -> str:
    """1234.5 as "1.234,5"."""
    return f"{number:,.1f}".replace(",", "\0").replace(".", ",").replace("\0", ".")


def file_size(size: int | None) -> str:
    size = size or 0
    if size < 1024 * 1024:
        return f"{decimal(size / 1024)} kb"
    return f"{decimal(size / (1024 * 1024))} mb"


def init_app(app) -> None:
    from models import format_number

    app.add_template_filter(date_time, "datetime")
    app.add_template_filter(iso_minute, "iso_minute")
    app.add_template_filter(format_number, "os_number")  # 2172 as "00002172"
    app.add_template_filter(file_size, "filesize")
