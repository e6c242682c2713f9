"""Shared fixtures: temporary warehouses and small submissions written in the test."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def _streamlit_without_magic() -> None:
    """AppTest ignores dashboard/.streamlit/config.toml, so set its one option that matters
    for determinism here: magic would ast.parse each page in the script thread, which on
    CPython 3.11.7 can raise "SystemError: AST constructor recursion depth mismatch"."""
    from streamlit import config

    config.set_option("runner.magicEnabled", False)


_streamlit_without_magic()

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "data_samples" / "submissions"
REPLICATION = SAMPLES / "2001-03-replication"


@pytest.fixture
def warehouse_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty warehouse location, also exported as SCR_WAREHOUSE."""
    path = tmp_path / "wh" / "scr.duckdb"
    monkeypatch.setenv("SCR_WAREHOUSE", str(path))
    return path


def csv_folder(root: Path, name: str, sheets: dict[str, list[dict[str, object]]]) -> Path:
    """A CSV submission folder with one file per sheet."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for sheet, rows in sheets.items():
        pl.DataFrame(rows).write_csv(folder / f"{sheet}.csv")
    return folder


def write_workbook(
    path: Path,
    sheets: dict[str, list[dict[str, object]]],
    cells: Callable[..., None] | None = None,
) -> Path:
    """A workbook with typed cells: numbers as numbers, ISO dates as real Excel dates."""
    import xlsxwriter

    from warehouse.frame import frame

    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        columns = list(rows[0]) if rows else frame().sheets[name].column_names
        ws.write_row(0, 0, columns)
        for r, row in enumerate(rows, start=1):
            for c, column in enumerate(columns):
                value = row.get(column)
                if value is None:
                    continue
                if isinstance(value, str) and column.endswith("_date"):
                    ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date_format)
                else:
                    ws.write(r, c, value)
        if cells:
            cells(name, ws, columns)
    book.close()
    return path


def small_submission() -> dict[str, list[dict[str, object]]]:
    """Two synthetic reviews of board TST1 with children, recommendations and actions."""
    base = {
        "period": "2005-07",
        "board_code": "TST1",
        "board_name": "Test board",
        "region": "london",
        "author_status": "independent",
        "parent_ethnicity": "white_british",
    }
    return {
        "reviews": [
            base
            | {
                "review_id": "TR-1",
                "incident_date": "2005-06-30",
                "report_date": "2005-12-31",
                "report_pages": 30,
                "recommendations_total": 2,
                "action_points_total": 1,
            },
            base
            | {
                "review_id": "TR-2",
                "incident_date": "2006-01-10",
                "report_date": "2007-01-11",
                "report_pages": 31,
                "recommendations_total": 1,
                "action_points_total": 0,
            },
        ],
        "children": [
            {
                "child_id": "TC-1",
                "review_id": "TR-1",
                "age_months": 11,
                "gender": "male",
                "ethnicity": "mixed",
                "disability": "no",
                "incident_type": "death",
                "cp_register": "not_on_register",
                "legal_status": "none",
            },
            {
                "child_id": "TC-2",
                "review_id": "TR-2",
                "age_months": 12,
                "gender": "female",
                "ethnicity": "white_british",
                "disability": "no",
                "incident_type": "serious_injury",
                "cp_register": "on_register",
                "legal_status": "none",
            },
        ],
        "recommendations": [
            {"review_id": "TR-1", "rec_no": 1, "focus": "training", "agency": "health"},
            {"review_id": "TR-1", "rec_no": 2, "focus": "communication", "agency": "police"},
            {"review_id": "TR-2", "rec_no": 1, "focus": "training", "agency": "lscb"},
        ],
        "actions": [
            {
                "review_id": "TR-1",
                "action_no": 1,
                "rec_no": 1,
                "agency": "health",
                "status": "completed",
            },
        ],
    }


@pytest.fixture
def make_submission(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "small", sheets: dict | None = None, xlsx: bool = False) -> Path:
        folder = csv_folder(tmp_path / "subs", name, sheets or small_submission())
        if xlsx:
            return write_workbook(tmp_path / "subs" / f"{name}.xlsx", sheets or small_submission())
        return folder

    return make


@pytest.fixture(scope="session")
def replication_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A warehouse holding only the 2001-03 replication sample, built through Dagster."""
    from pipelines.runner import ingest

    path = tmp_path_factory.mktemp("replication") / "scr.duckdb"
    outcomes = ingest([REPLICATION], path, "pytest")
    assert [o.status for o in outcomes] == ["accepted"], [o.lines for o in outcomes]
    yield path
