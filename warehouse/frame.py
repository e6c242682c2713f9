"""The coding frame: the single source of truth for sheets, columns, types and code lists.

Everything else (reading submissions, validation, the warehouse schema, the Excel template,
labels in the study tables) is derived from `coding_frame.yaml`, the project's copy of the
shared data standard.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

FRAME_PATH = Path(__file__).with_name("coding_frame.yaml")

# Warehouse column types for each coding-frame type.
SQL_TYPES = {"string": "VARCHAR", "code": "VARCHAR", "integer": "INTEGER", "date": "DATE"}


@dataclass(frozen=True)
class Code:
    code: str
    label: str


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool
    codes: str | None = None
    pattern: str | None = None
    min: int | None = None
    max: int | None = None
    max_length: int | None = None
    label: str | None = None
    note: str | None = None
    since: int = 1  # the frame version that added it to its sheet
    future_allowed: bool = False  # a date that is planned ahead (an agreed deadline)

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]

    @property
    def title(self) -> str:
        """A human label for the column: its frame label, else its name in words."""
        return self.label or self.name.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Sheet:
    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    required: bool

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")


@dataclass(frozen=True)
class CodingFrame:
    version: int
    code_lists: dict[str, tuple[Code, ...]]
    sheets: dict[str, Sheet]
    rules: tuple[str, ...] = field(default_factory=tuple)

    def codes(self, list_name: str) -> list[str]:
        return [c.code for c in self.code_lists[list_name]]

    def labels(self, list_name: str) -> dict[str, str]:
        return {c.code: c.label for c in self.code_lists[list_name]}

    def columns_with_prefix(self, sheet: str, prefix: str) -> list[Column]:
        return [c for c in self.sheets[sheet].columns if c.name.startswith(prefix)]


# The coded reviews: one submission's reviews and the rows that hang from them (version 1).
REVIEW_SHEETS = ("reviews", "children", "recommendations", "actions")
# Tracking an incident from notification to implemented action plan (version 2).
TRACKING_SHEETS = ("notifications", "action_updates")
# `reviews` and `children` must be present in every submission of reviews; the others are
# optional. A submission of tracking sheets alone (notifications and/or action_updates, no
# review sheet) needs neither.
REQUIRED_SHEETS = ("reviews", "children")


def tracking_only(present: Iterable[str]) -> bool:
    """Whether the sheets found make a submission of tracking sheets alone."""
    found = set(present)
    return bool(found & set(TRACKING_SHEETS)) and not found & set(REVIEW_SHEETS)


def required_sheets(present: Iterable[str]) -> tuple[str, ...]:
    """The sheets a submission holding ``present`` must have: reviews and children, unless
    it is a submission of tracking sheets alone."""
    return () if tracking_only(present) else REQUIRED_SHEETS


def _code_str(value: object) -> str:
    # YAML 1.1 reads bare yes/no as booleans; the frame quotes them, but be safe.
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def load_frame(path: Path = FRAME_PATH) -> CodingFrame:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    code_lists = {
        name: tuple(Code(_code_str(item["code"]), str(item["label"])) for item in items)
        for name, items in raw["code_lists"].items()
    }
    sheets = {}
    for sheet_name, spec in raw["sheets"].items():
        columns = tuple(
            Column(
                name=c["name"],
                type=c["type"],
                required=bool(c.get("required", False)),
                codes=c.get("codes"),
                pattern=c.get("pattern"),
                min=c.get("min"),
                max=c.get("max"),
                max_length=c.get("max_length"),
                label=c.get("label"),
                note=c.get("note"),
                since=int(c.get("since", 1)),
                future_allowed=bool(c.get("future_allowed", False)),
            )
            for c in spec["columns"]
        )
        sheets[sheet_name] = Sheet(
            name=sheet_name,
            key=tuple(spec["key"]),
            columns=columns,
            required=sheet_name in REQUIRED_SHEETS,
        )
    return CodingFrame(
        version=int(raw["version"]),
        code_lists=code_lists,
        sheets=sheets,
        rules=tuple(raw.get("rules", [])),
    )


@cache
def frame() -> CodingFrame:
    """The project's coding frame, loaded once per process."""
    return load_frame()
