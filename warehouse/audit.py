"""The audit trail: who saw, downloaded or signed in to what, and when.

Append-only rows in the security store (:func:`warehouse.accounts.open_store`); SQLite
triggers abort any UPDATE or DELETE. Columns: ``at`` (UTC, ISO 8601), ``name``, ``role``,
``scope``, ``action``, ``detail`` (JSON text: the page and selection, the file, the client).

A view is recorded *before* its data is sent, so :func:`record` raises
:class:`AuditUnavailable` when it cannot write and the caller must then show nothing.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl

from warehouse.accounts import _iso, _now, open_store
from warehouse.principal import Principal

ACTIONS: frozenset[str] = frozenset(
    {
        "sign_in",
        "sign_in_failed",
        "sign_out",
        "view",
        "download",
        "refused",  # a link or request for something outside the viewer's scope
        "user_added",
        "user_removed",
    }
)
COLUMNS: tuple[str, ...] = ("at", "name", "role", "scope", "action", "detail")
# One page view's selection fits easily; a pasted megabyte of search text does not belong.
MAX_DETAIL_CHARS = 8000
MAX_NAME_CHARS = 64


class AuditUnavailable(RuntimeError):
    """The audit trail could not be written: whatever it was meant to record must not happen."""


def _detail_json(detail: dict | str) -> str:
    payload = detail if isinstance(detail, dict) else ({"note": detail} if detail else {})
    # ensure_ascii: control and bidi characters from a URL or a form arrive escaped, so the
    # trail is safe to print in a terminal.
    text = json.dumps(payload, ensure_ascii=True, sort_keys=True, default=str)
    if len(text) > MAX_DETAIL_CHARS:
        text = json.dumps({"truncated": text[:MAX_DETAIL_CHARS]}, ensure_ascii=True)
    return text


def record(
    warehouse: Path,
    principal: Principal | None,
    action: str,
    detail: dict | str = "",
    *,
    name: str | None = None,
) -> None:
    """Append one row. ``name`` overrides the principal's (e.g. the username typed in a
    failed sign-in, when there is no principal). Raises :class:`AuditUnavailable` when
    the row cannot be written, and ValueError for an unknown action."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: one of {', '.join(sorted(ACTIONS))}")
    who = name if name is not None else (principal.name if principal else None)
    row = [
        _iso(_now()),
        who[:MAX_NAME_CHARS] if who is not None else None,
        principal.role if principal else None,
        principal.scope_code if principal else None,
        action,
        _detail_json(detail),
    ]
    try:
        with open_store(warehouse) as con:
            con.execute(
                "INSERT INTO audit (at, name, role, scope, action, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                row,
            )
    except (sqlite3.Error, OSError) as exc:
        raise AuditUnavailable(f"the audit trail cannot be written: {exc}") from exc


def _since_text(since: datetime | date) -> str:
    """The lower bound in the trail's own text format (naive datetimes are UTC)."""
    if not isinstance(since, datetime):
        since = datetime.combine(since, time.min)
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return _iso(since)


def read(warehouse: Path, since: datetime | date | None = None) -> pl.DataFrame:
    """The trail in the order it was written (from ``since``, a date meaning its UTC
    midnight): ``at`` as a UTC datetime, the other columns as text."""
    with open_store(warehouse) as con:
        rows = con.execute(
            "SELECT at, name, role, scope, action, detail FROM audit WHERE at >= ? ORDER BY id",
            [_since_text(since) if since is not None else ""],
        ).fetchall()
    frame = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    return frame.with_columns(
        pl.col("at").str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", time_unit="us", time_zone="UTC")
    )
