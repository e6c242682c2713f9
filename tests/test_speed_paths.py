"""The speed paths of `scr ingest` (issue 8, section 5) keep their promises: GX's context
prepared in a background thread is the one validations use, and the overlap is only for a
first submission big enough to hide the import."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import runner
from warehouse import expectations


def test_context_prepared_in_background_is_the_one_run_gx_uses() -> None:
    thread = expectations.prepare_in_background()
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert expectations._CONTEXT and expectations._gx() is expectations._CONTEXT[0]


def test_size_of_a_workbook_and_of_a_csv_folder(tmp_path: Path) -> None:
    book = tmp_path / "a.xlsx"
    book.write_bytes(b"x" * 10)
    folder = tmp_path / "csv"
    folder.mkdir()
    (folder / "reviews.csv").write_bytes(b"y" * 7)
    (folder / "children.csv").write_bytes(b"z" * 5)
    assert runner._size([book]) == 10
    assert runner._size([folder]) == 12
    assert runner._size([book, folder, tmp_path / "missing.xlsx"]) == 22


@pytest.mark.parametrize(("size", "overlaps"), [(1024, False), (64 * 2**20, True)])
def test_gx_import_overlaps_only_a_large_first_submission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int, overlaps: bool
) -> None:
    started: list[bool] = []
    monkeypatch.setattr(runner, "prepare_in_background", lambda: started.append(True))
    monkeypatch.setattr(runner, "refresh_marts", lambda *_: None)
    monkeypatch.setattr(
        runner, "ingest_one", lambda path, *_: runner.IngestOutcome(path, None, "x")
    )
    first = tmp_path / "first.xlsx"
    with open(first, "wb") as handle:
        handle.truncate(size)  # sparse: no disk used
    runner.ingest([first], tmp_path / "w" / "scr.duckdb")
    assert started == ([True] if overlaps else [])
