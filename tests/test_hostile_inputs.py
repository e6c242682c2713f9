"""Hostile and broken inputs: each is rejected with a short report, in bounded memory, and
changes nothing; I/O problems say what they are; a failed refresh after a commit says so.

Every file is built here (no binaries committed). Zip parts are written by hand where a
library would refuse to write them (a part lying about its size) or would take too long
(a 1.6 GB sheet, written as one compressed block repeated).
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.cli import main
from tests.conftest import REPO, csv_folder, small_submission, write_workbook
from warehouse.db import (
    WarehouseBusy,
    WarehouseUnavailable,
    archive_dir,
    connect,
    snapshot_path,
    snapshot_version,
    unavailable,
    writer_lock,
)
from warehouse.issues import combine, issue, report_lines
from warehouse.load import archive, check_submission, content_sha256
from warehouse.reader import LIMITS, Limits, read_submission

ENV = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "DAGSTER_DISABLE_TELEMETRY": "1"}
MEMORY_CEILING_MB = 400  # `scr validate` of a small workbook needs about 200 MB


# --- building hostile workbooks ---------------------------------------------------------


def workbook(path: Path, cells: Callable[..., None] | None = None) -> Path:
    return write_workbook(path, small_submission(), cells)


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rezip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def sheet_part(parts: dict[str, bytes], sheet: str = "reviews") -> str:
    """The zip part holding a sheet (xlsxwriter numbers them in the order written)."""
    order = list(small_submission())
    return f"xl/worksheets/sheet{order.index(sheet) + 1}.xml"


class RawPart:
    """A zip part given as raw deflate data, its CRC and the sizes it declares."""

    def __init__(self, name: str, deflated: Iterable[bytes], crc: int, size: int) -> None:
        self.name, self.deflated, self.crc, self.size = name, deflated, crc, size


def raw_zip(path: Path, parts: dict[str, bytes], raw: RawPart, declared_size: int) -> Path:
    """A zip of ``parts`` plus one part written as given, declaring ``declared_size``."""
    with open(path, "wb") as out:
        directory = []
        entries = [(n, d) for n, d in parts.items() if n != raw.name] + [(raw.name, raw)]
        for name, data in entries:
            offset = out.tell()
            if isinstance(data, RawPart):
                crc, size = data.crc, declared_size
                chunks: Iterable[bytes] = data.deflated
            else:
                crc, size = zlib.crc32(data), len(data)
                packer = zlib.compressobj(6, zlib.DEFLATED, -15)
                chunks = [packer.compress(data) + packer.flush()]
            encoded = name.encode()
            header_at = out.tell()
            out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, 0, 0, 0, 0, 0))
            out.write(encoded)
            packed = 0
            for chunk in chunks:
                out.write(chunk)
                packed += len(chunk)
            end = out.tell()
            out.seek(header_at)
            out.write(
                struct.pack(
                    "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, packed, size, len(encoded), 0
                )
            )
            out.seek(end)
            directory.append((encoded, crc, packed, size, offset))
        start = out.tell()
        for encoded, crc, packed, size, offset in directory:
            out.write(
                struct.pack(
                    "<4s6H3L5H2L",
                    b"PK\x01\x02",
                    20,
                    20,
                    0,
                    8,
                    0,
                    0,
                    crc,
                    packed,
                    size,
                    len(encoded),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
            )
            out.write(encoded)
        length = out.tell() - start
        count = len(directory)
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, length, start, 0))
    return path


def bomb_sheet(name: str, unpacked: int) -> RawPart:
    """A sheet of ``unpacked`` bytes of one repeated cell, deflated as one block repeated:
    after a full flush, deflating the same 8 MB again gives the same bytes."""
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        b'.org/spreadsheetml/2006/main"><dimension ref="A1"/><sheetData><row r="1">'
    )
    tail = b"</row></sheetData></worksheet>"
    unit = b'<c r="A2"><v>1</v></c>' * (8 * 1024 * 1024 // 22)
    repeats = (unpacked - len(head) - len(tail)) // len(unit)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(unit) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(tail) + packer.flush()
    crc = zlib.crc32(head)
    for _ in range(repeats):
        crc = zlib.crc32(unit, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + repeats * len(unit) + len(tail)
    return RawPart(name, [first, *([block] * repeats), last], crc, size)


# --- running `scr` in a child whose peak memory is measured ------------------------------


# A small launcher runs `scr`: a child's peak RSS counts the pages it had when forked, so
# forking from the test process (hundreds of MB by then) would be measured, not `scr`.
_LAUNCHER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "open(sys.argv[1], 'w').write(str(peak))\n"
    "sys.exit(code)\n"
)


def scr_measured(*args: str, warehouse: Path, timeout: float = 120) -> tuple[int, str, float]:
    """Exit code, output and peak RSS (MB) of `scr ...` in a child process of its own,
    started by a small launcher that reports its one child's peak (ru_maxrss, KB)."""
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak"
        proc = subprocess.run(
            [
                sys.executable,
                "-S",
                "-c",
                _LAUNCHER,
                str(peak_file),
                sys.executable,
                "-m",
                "pipelines.cli",
                "--warehouse",
                str(warehouse),
                *args,
            ],
            cwd=REPO,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        return proc.returncode, proc.stdout, int(peak_file.read_text()) / 1024


def assert_rejected_small(code: int, out: str, peak_mb: float, *expected: str) -> None:
    assert code == 1, out
    assert "Traceback" not in out and "internal error" not in out, out
    assert peak_mb < MEMORY_CEILING_MB, f"peak RSS {peak_mb:.0f} MB"
    assert len(out) < 4000, out[:4000]
    for text in expected:
        assert text in out, out


def xfd_workbook(path: Path) -> Path:
    """The small submission plus one cell at XFD1048576 (the last cell Excel allows)."""

    def far(name: str, ws: object, columns: list[str]) -> None:
        if name == "reviews":
            ws.write(1048575, 16383, "x")  # type: ignore[attr-defined]

    return workbook(path, far)


# --- workbooks over the limits: rejected before anything is allocated --------------------


def test_a_cell_at_xfd1048576_is_rejected_in_bounded_memory(tmp_path: Path) -> None:
    path = xfd_workbook(tmp_path / "far.xlsx")
    assert path.stat().st_size < 20_000
    code, out, peak = scr_measured("validate", str(path), warehouse=tmp_path / "w" / "scr.duckdb")
    assert_rejected_small(
        code,
        out,
        peak,
        "would be REJECTED",
        "sheet 'reviews' uses range A1:XFD1048576: more than the 200,000 rows / 200 columns",
    )


def test_a_zip_bomb_is_rejected_in_bounded_memory(tmp_path: Path) -> None:
    parts = parts_of(workbook(tmp_path / "ok.xlsx"))
    sheet = bomb_sheet(sheet_part(parts), 1_600_000_000)
    bomb = raw_zip(tmp_path / "bomb.xlsx", parts, sheet, sheet.size)
    assert bomb.stat().st_size < 6_000_000 and sheet.size > 1_500_000_000
    with zipfile.ZipFile(bomb) as zf:  # a valid zip: its first bytes unpack as declared
        assert zf.getinfo(sheet.name).file_size == sheet.size
        assert zf.open(sheet.name).read(100).startswith(b"<?xml")
    start = time.monotonic()
    code, out, peak = scr_measured("validate", str(bomb), warehouse=tmp_path / "w" / "scr.duckdb")
    assert_rejected_small(
        code,
        out,
        peak,
        "declares 1.5 GB unpacked (part xl/worksheets/sheet1.xml: 1.5 GB): "
        "more than the 500 MB a submission may hold",
    )
    assert time.monotonic() - start < 60


def test_a_part_unpacking_to_more_than_it_declares_is_stopped_early(tmp_path: Path) -> None:
    parts = parts_of(workbook(tmp_path / "ok.xlsx"))
    sheet = bomb_sheet(sheet_part(parts), 1_600_000_000)
    liar = raw_zip(tmp_path / "liar.xlsx", parts, sheet, declared_size=10_000)
    code, out, peak = scr_measured("validate", str(liar), warehouse=tmp_path / "w" / "scr.duckdb")
    assert_rejected_small(
        code,
        out,
        peak,
        "part xl/worksheets/sheet1.xml of the workbook unpacks to more than the 9.8 KB it declares",
    )


def test_parts_claiming_huge_sizes_are_rejected(tmp_path: Path) -> None:
    parts = parts_of(workbook(tmp_path / "ok.xlsx"))
    name = sheet_part(parts)
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    honest = RawPart(
        name, [packer.compress(parts[name]) + packer.flush()], zlib.crc32(parts[name]), 0
    )
    claims = raw_zip(tmp_path / "claims.xlsx", parts, honest, declared_size=4_000_000_000)
    raw = read_submission(claims)
    assert raw.sheets == {}
    assert raw.issues["description"].to_list() == [
        "the workbook declares 3.7 GB unpacked (part xl/worksheets/sheet1.xml: 3.7 GB): "
        "more than the 500 MB a submission may hold"
    ]
    # Within the total but claiming more than it holds: damaged, never trusted.
    short = raw_zip(tmp_path / "short.xlsx", parts, honest, declared_size=len(parts[name]) + 5)
    (description,) = read_submission(short).issues["description"].to_list()
    assert "is not a readable .xlsx workbook (part xl/worksheets/sheet1.xml is damaged)" in (
        description
    )


def test_a_dimension_that_lies_is_caught_by_streaming_the_sheet(tmp_path: Path) -> None:
    parts = parts_of(xfd_workbook(tmp_path / "far.xlsx"))
    name = sheet_part(parts)
    parts[name] = parts[name].replace(b'ref="A1:XFD1048576"', b'ref="A1:M3"')
    raw = read_submission(rezip(tmp_path / "lie.xlsx", parts))
    assert raw.issues.select("sheet", "rule", "description").rows() == [
        (
            "reviews",
            "over_limit",
            "sheet 'reviews' uses range A1:XFD1048576 (its <dimension> says A1:M3): more "
            "than the 200,000 rows / 200 columns a sheet may have",
        )
    ]


def test_cells_without_references_are_placed_by_an_xml_parse(tmp_path: Path) -> None:
    """Cells may omit `r` (their place is then implied): the fast byte scan hands such a
    sheet to expat, which places every cell, finds error cells, and enforces the limits."""

    def error_cell(name: str, ws: object, columns: list[str]) -> None:
        if name == "children":
            ws.write_formula(2, columns.index("age_months"), "=1/0", None, "#DIV/0!")  # type: ignore[attr-defined]

    original = workbook(tmp_path / "refs.xlsx", error_cell)
    parts = parts_of(original)
    for name in [n for n in parts if n.startswith("xl/worksheets/")]:
        parts[name] = re.sub(rb'(<c) r="[A-Z]+[0-9]+"', rb"\1", parts[name])
        parts[name] = re.sub(rb"<dimension[^>]*/>", b"", parts[name])
    bare = read_submission(rezip(tmp_path / "bare.xlsx", parts))
    expected = read_submission(original)
    assert bare.issues.equals(expected.issues)
    assert bare.issues.filter(pl.col("rule") == "excel_error").select(
        "sheet", "row_number", "column_name", "value"
    ).rows() == [("children", 3, "age_months", "#DIV/0!")]
    assert bare.sheets.keys() == expected.sheets.keys()
    for sheet, frame in expected.sheets.items():
        assert bare.sheets[sheet].equals(frame), sheet
    # 300 cells in one row, none with a reference: column KN, over the 200 allowed.
    wide = "".join("<c><v>1</v></c>" for _ in range(300)).encode()
    name = sheet_part(parts)
    parts[name] = parts[name].replace(
        b"</sheetData>", b'<row r="9">' + wide + b"</row></sheetData>"
    )
    (description,) = (
        read_submission(rezip(tmp_path / "wide.xlsx", parts)).issues["description"].to_list()
    )
    assert description == (
        "sheet 'reviews' uses range A1:KN9: more than the 200,000 rows / 200 columns a sheet "
        "may have"
    )


def test_too_many_parts(tmp_path: Path) -> None:
    parts = parts_of(workbook(tmp_path / "ok.xlsx"))
    parts |= {f"xl/media/pad{i}.bin": b"" for i in range(LIMITS.zip_entries)}
    (description,) = (
        read_submission(rezip(tmp_path / "parts.xlsx", parts)).issues["description"].to_list()
    )
    assert description == (
        f"the workbook has {len(parts):,} parts: more than the 1,000 an .xlsx workbook may have"
    )


def test_limits_are_set_in_one_frozen_dataclass(tmp_path: Path) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        LIMITS.rows = 10  # type: ignore[misc]
    path = workbook(tmp_path / "ok.xlsx")
    assert read_submission(path).issues.filter(pl.col("severity") == "error").height == 0
    cases = {
        Limits(rows=2): "sheet 'reviews' uses range A1:L3: more than the 2 rows / 200 columns",
        Limits(columns=11): "uses range A1:L3: more than the 200,000 rows / 11 columns",
        Limits(cells=30): "uses range A1:L3 (36 cells): more than the 30 cells a sheet may have",
        Limits(workbook_bytes=1000): "the workbook is ",
        Limits(unpacked_bytes=5000): "more than the 4.9 KB a submission may hold",
        Limits(zip_entries=5): "parts: more than the 5 an .xlsx workbook may have",
    }
    for limits, text in cases.items():
        (description,) = read_submission(path, limits=limits).issues["description"].to_list()
        assert text in description, (limits, description)


def test_a_rejected_hostile_workbook_leaves_the_ledger_decided_and_nothing_changed(
    tmp_path: Path, make_submission: Callable[..., Path]
) -> None:
    warehouse = tmp_path / "w" / "scr.duckdb"
    assert main(["--warehouse", str(warehouse), "ingest", str(make_submission())]) == 0
    before = core_rows(warehouse)
    code, out, peak = scr_measured(
        "ingest", str(xfd_workbook(tmp_path / "far.xlsx")), warehouse=warehouse
    )
    assert code == 1 and "REJECTED far.xlsx" in out and "uses range A1:XFD1048576" in out, out
    assert core_rows(warehouse) == before
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        statuses = con.execute(
            "SELECT original_name, status FROM submissions ORDER BY received_at"
        ).fetchall()
    finally:
        con.close()
    assert statuses == [("small", "accepted"), ("far.xlsx", "rejected")]


def core_rows(warehouse: Path) -> list[list[tuple]]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return [
            con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
            for t in ("reviews", "children", "recommendations", "actions")
        ]
    finally:
        con.close()


# --- CSV folders over the limits ---------------------------------------------------------


def test_csv_files_over_the_limits(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, "s", small_submission())
    found = {
        limits: read_submission(folder, limits=limits).issues.filter(pl.col("severity") == "error")
        for limits in (Limits(csv_bytes=200), Limits(csv_rows=2))
    }
    big = found[Limits(csv_bytes=200)].filter(pl.col("sheet") == "reviews")
    assert big["rule"].to_list() == ["file_too_large"]
    assert re.fullmatch(
        r"reviews\.csv is [0-9]+ bytes: more than the 200 bytes a CSV file may be",
        big["description"][0],
    )
    many = found[Limits(csv_rows=2)]
    assert many.select("sheet", "rule", "description").rows() == [
        (
            "recommendations",
            "too_many_rows",
            "recommendations.csv has more than the 2 rows a CSV file may have",
        )
    ]


def test_ten_thousand_columns_give_a_short_report(tmp_path: Path, capsys) -> None:
    folder = csv_folder(tmp_path, "wide", small_submission())
    children = pl.read_csv(folder / "children.csv", infer_schema=False)
    extra = pl.DataFrame({f"extra_{i:05d}": ["x"] * children.height for i in range(10_000)})
    pl.concat([children, extra], how="horizontal").write_csv(folder / "children.csv")
    assert main(["--warehouse", str(tmp_path / "w.duckdb"), "validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert len(out) < 1500, out
    assert (
        "children.csv has 10,009 columns: more than the 200 columns a sheet may have (not in "
        "the coding frame: 'extra_00000', 'extra_00001', 'extra_00002', 'extra_00003', "
        "'extra_00004' and 9,995 more)" in out
    )


def test_a_folder_named_like_a_pattern_is_read_as_it_is(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path / "[draft]*?", "s", small_submission())
    raw = read_submission(folder)
    assert raw.issues.height == 0 and raw.sheets["reviews"].height == 2


# --- bounded reports ---------------------------------------------------------------------


def test_a_five_million_character_cell_gives_a_short_report(tmp_path: Path, capsys) -> None:
    sheets = small_submission()
    sheets["children"][0]["child_id"] = "C" * 5_000_000
    folder = csv_folder(tmp_path, "huge", sheets)
    warehouse = str(tmp_path / "w.duckdb")
    assert main(["--warehouse", warehouse, "validate", str(folder)]) == 1
    out = capsys.readouterr().out
    assert len(out) < 3000, out[:3000]
    assert "children, child_id" in out and "'" + "C" * 59 + "…' (row 2" in out
    assert main(["--warehouse", warehouse, "validate", str(folder), "--format", "json"]) == 1
    text = capsys.readouterr().out
    assert len(text) < 10_000
    values = [i["value"] for i in json.loads(text)["issues"] if i["column_name"] == "child_id"]
    assert values and all(len(v) <= 200 and v.endswith("…") for v in values)


def test_many_problems_of_one_kind_are_counted_not_listed(tmp_path: Path) -> None:
    folder = csv_folder(tmp_path, "s", small_submission())
    children = pl.read_csv(folder / "children.csv", infer_schema=False)
    extra = pl.DataFrame({f"extra_{i:03d}": ["x"] * children.height for i in range(150)})
    pl.concat([children, extra], how="horizontal").write_csv(folder / "children.csv")
    _, issues = check_submission(None, folder)
    lines = [line for line in report_lines(issues) if "unknown_column" in line or "extra_" in line]
    assert len(lines) == 6, lines
    assert lines[-1].startswith(
        "[ERROR] children: 145 more columns with the same problem (unknown_column): "
        "'extra_005', 'extra_006', 'extra_007', …"
    )


def test_report_lines_escape_what_a_terminal_would_act_on() -> None:
    found = combine(
        [
            issue(
                "unknown_column",
                "unknown column",
                sheet="children",
                column_name="evil\u202e\x1b[2J",
                row_number=1,
                value="x\u200by",
            )
        ]
    )
    (line,) = report_lines(found)
    assert "\x1b" not in line and "\u202e" not in line and "\u200b" not in line
    assert "evil\\u202e\\x1b[2J" in line and "'x\\u200by'" in line


# --- a refresh failing after the commit ---------------------------------------------------


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def snapshot_reviews(warehouse: Path) -> int:
    con = duckdb.connect(str(snapshot_path(warehouse)), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM reviews").fetchall()[0][0]
    finally:
        con.close()


def dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **TEXT)
    return int(proc.stdout)


TEXT: dict = {"capture_output": True, "text": True, "check": True}


def test_a_refresh_failing_after_the_commit_says_exactly_that(
    make_submission: Callable[..., Path],
    warehouse_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    monkeypatch.setenv("SCR_FAULT_POINT", "snapshot")
    monkeypatch.setenv("SCR_FAULT_MODE", "raise")  # fail after the copy is written, before the swap
    assert main(["ingest", str(make_submission())]) == 3
    out, err = capsys.readouterr()
    assert out.startswith("accepted small as S"), out
    assert (
        "scr: small is accepted and loaded into the warehouse, but refreshing the marts and the "
        "dashboard snapshot failed (warehouse.db.InjectedFault: fault injected at snapshot): the "
        "dashboard is stale. Run "
        "`scr build --refresh` to republish them (the next ingest also does)." in err
    ), err
    assert "nothing was changed" not in out + err and "internal error" not in err
    assert leftovers(warehouse_file.parent) == []
    assert not snapshot_path(warehouse_file).exists()
    assert len(core_rows(warehouse_file)[0]) == 2  # loaded, whatever the dashboard shows
    # The next ingest republishes, even one whose submission is rejected.
    monkeypatch.delenv("SCR_FAULT_POINT")
    bad = small_submission()
    bad["children"][0]["gender"] = "boy"
    assert main(["ingest", str(make_submission("bad", bad))]) == 1
    assert snapshot_reviews(warehouse_file) == 2
    # `scr build --refresh` failing keeps the previous snapshot, and says so.
    version = snapshot_version(warehouse_file)
    monkeypatch.setenv("SCR_FAULT_POINT", "snapshot")
    capsys.readouterr()
    assert main(["build", "--refresh"]) == 3
    assert "the dashboard still shows the previous snapshot" in capsys.readouterr().err
    assert snapshot_version(warehouse_file) == version
    assert leftovers(warehouse_file.parent) == []
    # A copy left by a writer that was killed is removed by the next refresh.
    orphan = snapshot_path(warehouse_file).with_name(f"scr.snapshot.duckdb.{dead_pid()}.tmp")
    orphan.write_bytes(b"half a copy")
    monkeypatch.delenv("SCR_FAULT_POINT")
    assert main(["build", "--refresh"]) == 0
    assert "republished the marts and the snapshot" in capsys.readouterr().out
    assert leftovers(warehouse_file.parent) == []
    assert snapshot_version(warehouse_file) != version and snapshot_reviews(warehouse_file) == 2


def test_build_refresh_needs_a_warehouse(tmp_path: Path, capsys) -> None:
    assert main(["--warehouse", str(tmp_path / "none.duckdb"), "build", "--refresh"]) == 1
    assert "no warehouse at" in capsys.readouterr().err


# --- paths are parameters, never SQL -------------------------------------------------------


def test_a_warehouse_in_a_folder_named_with_quotes_works(
    make_submission: Callable[..., Path], tmp_path: Path, capsys
) -> None:
    warehouse = tmp_path / 'o\'q "x"; [y]*' / "it's.duckdb"
    assert main(["--warehouse", str(warehouse), "ingest", str(make_submission())]) == 0
    assert snapshot_reviews(warehouse) == 2
    capsys.readouterr()
    assert main(["--warehouse", str(warehouse), "tables", "--period", "2005-07"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"][0]["n"] == 2
    from warehouse.access import Access

    assert Access(warehouse).frame("SELECT count(*) AS n FROM reviews")["n"][0] == 2


# --- --out never replaces the warehouse's own files -----------------------------------------


def kept_files(warehouse: Path) -> dict[str, Path]:
    from warehouse.accounts import security_path, session_key_path

    return {
        "warehouse": warehouse,
        "snapshot": snapshot_path(warehouse),
        "archived file": archive_dir(warehouse) / "0123abcd.xlsx",
        "lock file": warehouse.with_name("scr.duckdb.lock"),
        "security store": security_path(warehouse),
        "session key": session_key_path(warehouse),
    }


def test_out_refuses_to_overwrite_the_warehouse_files(tmp_path: Path, capsys) -> None:
    warehouse = tmp_path / "wh" / "scr.duckdb"
    files = kept_files(warehouse)
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"keep me")
    link = tmp_path / "link.json"
    link.symlink_to(warehouse)
    targets = [*files.values(), archive_dir(warehouse), archive_dir(warehouse) / "new.csv", link]
    for target in targets:
        for command in (["tables", "--format", "csv"], ["template"]):
            assert main(["--warehouse", str(warehouse), *command, "--out", str(target)]) == 2
            err = capsys.readouterr().err
            assert "would overwrite" in err and "write the output somewhere else" in err, err
    assert all(path.read_bytes() == b"keep me" for path in files.values())
    assert not (archive_dir(warehouse) / "new.csv").exists()
    elsewhere = tmp_path / "wh" / "blank.xlsx"
    assert main(["--warehouse", str(warehouse), "template", "--out", str(elsewhere)]) == 0
    assert zipfile.is_zipfile(elsewhere)


# --- an archived copy is checked before it is trusted ---------------------------------------


def test_an_altered_archived_copy_is_set_aside_not_loaded(
    make_submission: Callable[..., Path], warehouse_file: Path, capsys
) -> None:
    folder = make_submission()
    assert main(["ingest", str(folder)]) == 0
    archived = archive_dir(warehouse_file) / content_sha256(folder)
    edited = (archived / "children.csv").read_text().replace("mixed", "white_british")
    (archived / "children.csv").write_text(edited)
    capsys.readouterr()
    assert main(["ingest", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "2 reviews (0 new, 0 replaced, 2 unchanged)" in out, out
    assert "the archived copy of this content had been altered since it was archived" in out
    assert content_sha256(archived) == content_sha256(folder)
    (aside,) = [p for p in archived.parent.iterdir() if ".altered-" in p.name]
    assert (aside / "children.csv").read_text() == edited
    con = duckdb.connect(str(warehouse_file), read_only=True)
    try:
        assert con.execute("SELECT DISTINCT sha256 FROM submissions").fetchall() == [
            (content_sha256(folder),)
        ]
        assert con.execute("SELECT ethnicity FROM children WHERE child_id = 'TC-1'").fetchall() == [
            ("mixed",)
        ]
    finally:
        con.close()


def test_a_workbook_archived_copy_is_rehashed(tmp_path: Path) -> None:
    path = workbook(tmp_path / "ok.xlsx")
    sha = content_sha256(path)
    stored, aside = archive(path, tmp_path / "archive", sha)
    assert aside is None and stored.read_bytes() == path.read_bytes()
    assert archive(path, tmp_path / "archive", sha) == (stored, None)  # a good copy is kept
    stored.write_bytes(b"edited")
    again, aside = archive(path, tmp_path / "archive", sha)
    assert again == stored and stored.read_bytes() == path.read_bytes()
    assert aside is not None and aside.read_bytes() == b"edited"
    assert sorted(p.name for p in stored.parent.iterdir()) == sorted([stored.name, aside.name])


# --- I/O errors say what they are ----------------------------------------------------------


def test_a_file_that_is_not_a_duckdb_database_says_so(
    tmp_path: Path, make_submission: Callable[..., Path], capsys
) -> None:
    warehouse = tmp_path / "scr.duckdb"
    warehouse.write_bytes(b"this is a spreadsheet, not a database\n" * 100)
    for command in (["tables"], ["ingest", str(make_submission())], ["validate", "x.xlsx"]):
        assert main(["--warehouse", str(warehouse), *command]) == 1
        err = capsys.readouterr().err
        assert (
            f"scr: cannot use the warehouse {warehouse}: it is not a DuckDB database file" in err
        ), err
        assert "in use" not in err
    assert warehouse.read_bytes() == b"this is a spreadsheet, not a database\n" * 100


def test_permission_denied_says_so(tmp_path: Path, make_submission: Callable[..., Path]) -> None:
    warehouse = tmp_path / "w" / "scr.duckdb"
    assert main(["--warehouse", str(warehouse), "ingest", str(make_submission())]) == 0
    warehouse.chmod(0)
    command = [sys.executable, "-m", "pipelines.cli", "--warehouse", str(warehouse), "tables"]
    if os.geteuid() == 0:  # root reads anything: run without the capabilities that allow it
        setpriv = shutil.which("setpriv")  # util-linux, essential on Debian: never skipped
        assert setpriv is not None, "root needs setpriv (util-linux) to run without DAC rights"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]
    try:
        proc = subprocess.run(command, cwd=REPO, env=ENV, capture_output=True, text=True)
    finally:
        warehouse.chmod(0o644)
    assert proc.returncode == 1, proc.stderr
    assert f"scr: cannot use the warehouse {warehouse}: permission denied" in proc.stderr
    assert "in use" not in proc.stderr and "Traceback" not in proc.stderr


def test_only_a_real_lock_conflict_is_in_use(tmp_path: Path) -> None:
    warehouse = tmp_path / "scr.duckdb"
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', "
            "flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy, match="is in use by another process"):
            connect(warehouse, read_only=True, wait_seconds=0)
    finally:
        holder.kill()
        holder.wait()


def test_each_io_error_is_named(tmp_path: Path) -> None:
    path = tmp_path / "scr.duckdb"
    cases = {
        OSError(errno.ENOSPC, "No space left on device"): "the disk is full",
        OSError(errno.EACCES, "Permission denied"): "permission denied",
        OSError(errno.EROFS, "Read-only file system"): "the file system is read-only",
        duckdb.IOException('IO Error: Cannot open file "x": Permission denied'): "permission "
        "denied",
        duckdb.IOException("IO Error: something else went wrong"): "IO Error: something else",
    }
    for exc, words in cases.items():
        message = str(unavailable(path, exc))
        assert message.startswith(f"cannot use the warehouse {path}: {words}"), message
        assert "in use" not in message
    # A folder the lock file cannot be written in: named, not "busy".
    locked = tmp_path / "ro"
    locked.mkdir()
    (locked / "scr.duckdb.lock").mkdir()  # a directory where the lock file should be
    with pytest.raises(WarehouseUnavailable, match="cannot use the warehouse's lock file"):
        with writer_lock(locked / "scr.duckdb"):
            pass
