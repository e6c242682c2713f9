"""Read a submission (an .xlsx workbook or a folder of CSVs) into all-text polars frames.

Nothing is typed here: every cell is read as text so that the coercion step can say exactly
what was wrong with it. Each frame carries ``_row``, the row number as Excel shows it (the
header is row 1). File-level problems (corrupt, encrypted, not UTF-8, no sheets, over the
limits ...) come back as issues, never as exceptions.

Memory stays bounded whatever the file: before fastexcel (or polars) is handed a workbook,
its zip is inspected here with the standard library, streaming each part through a fixed
buffer: entry count, declared and actual unpacked sizes, compression ratio, and each sheet's
used range and cell count. A workbook over any of :data:`LIMITS` is rejected with a report
line naming the limit, and nothing else is allocated for it.
"""

from __future__ import annotations

import codecs
import html
import re
import struct
import xml.parsers.expat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import polars as pl

from warehouse.frame import CodingFrame, frame, required_sheets
from warehouse.issues import ERROR, WARNING, combine, empty_issues, issue

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and legacy .xls
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one submission may hold. The only place these numbers are set (README:
    "Submissions"). Checked before anything is allocated for the data."""

    workbook_bytes: int = 100 * MB  # an .xlsx file as sent
    unpacked_bytes: int = 500 * MB  # all parts of a workbook, unpacked (declared and actual)
    compression_ratio: int = 200  # unpacked / packed size of any part over 1 MB
    zip_entries: int = 1_000  # parts in a workbook's zip
    rows: int = 200_000  # rows of a workbook sheet (Excel row numbers)
    columns: int = 200  # columns of a sheet or CSV file
    cells: int = 10_000_000  # cells of a sheet, and rows x columns of its used range
    csv_bytes: int = 1024 * MB  # one CSV file
    csv_rows: int = 5_000_000  # data rows of one CSV file


LIMITS = Limits()

CHUNK = MB  # streaming buffer for unpacking and scanning
RATIO_FLOOR = MB  # small parts compress well legitimately; the ratio matters for big ones
MAX_TAG = MB  # no XML tag in a sheet is longer (a longer one is refused, never buffered)


@dataclass
class RawSubmission:
    """Every sheet found, as text, plus any file-level issues."""

    source: Path
    kind: str  # "xlsx" or "csv"
    sheets: dict[str, pl.DataFrame] = field(default_factory=dict)
    issues: pl.DataFrame = field(default_factory=empty_issues)


def _size(n: int) -> str:
    """A byte count as people read it: 1.6 GB, 512 KB."""
    for unit, scale in (("GB", 1024**3), ("MB", MB), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}".replace(".0 ", " ")
    return f"{n:,} bytes"


def frame_sheet(name: str, cf: CodingFrame) -> str | None:
    """The coding-frame sheet a sheet or file name stands for, if any."""
    clean = name.strip().lower()
    if clean.endswith(".csv"):
        clean = clean[:-4]
    return clean if clean in cf.sheets else None


def _sheet_lookup(names: list[str], cf: CodingFrame) -> tuple[dict[str, str], pl.DataFrame]:
    """Map coding-frame sheet names to the names found; flag unknown and near-miss names."""
    found: dict[str, str] = {}
    problems = []
    for name in names:
        clean = frame_sheet(name, cf)
        if clean is not None and clean not in found:
            found[clean] = name
            if name.strip() != clean and name != f"{clean}.csv":
                problems.append(
                    issue(
                        "sheet_name",
                        f"sheet name {name!r} read as {clean!r}; name it exactly {clean!r}",
                        severity=WARNING,
                        sheet=clean,
                    )
                )
        elif clean is None and not name.strip().lower().startswith(
            ("notes", "_", "lists", "readme")
        ):
            problems.append(
                issue(
                    "unknown_sheet",
                    f"sheet {name!r} is not part of the coding frame and was ignored "
                    f"(sheets: {', '.join(cf.sheets)})",
                    severity=WARNING,
                )
            )
    for required in required_sheets(found):
        if required in cf.sheets and required not in found:
            problems.append(
                issue(
                    "missing_sheet",
                    f"required sheet {required!r} is missing "
                    f"(found: {', '.join(repr(n) for n in names[:20]) or 'none'}"
                    f"{f' and {len(names) - 20} more' if len(names) > 20 else ''})",
                    sheet=required,
                )
            )
    return found, combine(problems)


def _with_row_numbers(df: pl.DataFrame) -> pl.DataFrame:
    """Add the Excel row number and drop wholly blank rows (they carry no data)."""
    df = df.with_row_index("_row", offset=2)
    data = [c for c in df.columns if c != "_row"]
    if not data:
        return df.clear()
    blank = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in data]
    )
    return df.filter(~blank)


# --- CSV folders ------------------------------------------------------------------------


def _chunks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _looks_like(path: Path) -> str:
    """What a file that is not UTF-8 probably is (cp1252 leaves five bytes undefined)."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
    except UnicodeDecodeError:
        return "Latin-1 or another single-byte encoding"
    return "Windows-1252 (Excel's plain 'CSV' format)"


def _check_csv_text(path: Path, sheet: str) -> tuple[bool, pl.DataFrame]:
    """Whether the file is UTF-8 with something in it, streamed (never held whole)."""
    with open(path, "rb") as handle:
        head = handle.read(2)
    if head in (b"\xff\xfe", b"\xfe\xff"):
        return False, issue(
            "encoding",
            f"{path.name} is not UTF-8; it looks like UTF-16 (Excel 'Unicode Text'). "
            "Save it as 'CSV UTF-8'",
            sheet=sheet,
        )
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    lines = 0
    blank = True
    for chunk in _chunks(path):
        pending = len(decoder.getstate()[0])  # bytes of a character split across chunks
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            # exc.start counts from the held-back bytes, which precede this chunk.
            line = lines + chunk[: max(exc.start - pending, 0)].count(b"\n") + 1
            return False, issue(
                "encoding",
                f"{path.name} is not UTF-8; it looks like {_looks_like(path)} "
                f"(first non-UTF-8 byte on line {line}). Save it as 'CSV UTF-8 (comma delimited)'",
                sheet=sheet,
            )
        lines += chunk.count(b"\n")
        blank = blank and not text.strip()
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False, issue(
            "encoding", f"{path.name} is not UTF-8: it ends in a cut-off character", sheet=sheet
        )
    if blank:
        required = frame().sheets[sheet].required
        return False, issue(
            "empty_sheet",
            f"{path.name} is empty (no header row)" + ("" if required else "; read as no rows"),
            sheet=sheet,
            severity=ERROR if required else WARNING,
        )
    return True, empty_issues()


def _polars_problem(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _too_many_columns(name: str, columns: list[str], sheet: str, limits: Limits) -> pl.DataFrame:
    expected = set(frame().sheets[sheet].column_names)
    unknown = [c for c in columns if c not in expected]
    shown = ", ".join(repr(c[:40] + ("…" if len(c) > 40 else "")) for c in unknown[:5])
    more = f" and {len(unknown) - 5:,} more" if len(unknown) > 5 else ""
    return issue(
        "too_many_columns",
        f"{name} has {len(columns):,} columns: more than the {limits.columns:,} columns "
        f"a sheet may have (not in the coding frame: {shown}{more})",
        sheet=sheet,
        hint="delete the columns that are not in the coding frame",
    )


def _read_csv_file(
    path: Path, sheet: str, limits: Limits
) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    size = path.stat().st_size
    if size > limits.csv_bytes:
        return None, issue(
            "file_too_large",
            f"{path.name} is {_size(size)}: more than the {_size(limits.csv_bytes)} "
            "a CSV file may be",
            sheet=sheet,
            hint="split the submission into several",
        )
    readable, problem = _check_csv_text(path, sheet)
    if not readable:
        return None, problem
    # glob=False: a folder named like a pattern ("[draft]*") is still one file.
    options = {
        "infer_schema": False,
        "has_header": True,
        "truncate_ragged_lines": False,
        "glob": False,
    }
    try:
        header = pl.read_csv(path, n_rows=0, **options).columns
        if len(header) > limits.columns:
            return None, _too_many_columns(path.name, header, sheet, limits)
        # One row more than allowed: enough to know the file is over, never the whole of it.
        df = pl.read_csv(path, n_rows=limits.csv_rows + 1, **options)
    except pl.exceptions.PolarsError as exc:
        return None, issue(
            "unreadable_csv",
            f"{path.name} could not be read as CSV: {_polars_problem(exc)}",
            sheet=sheet,
        )
    if df.height > limits.csv_rows:
        return None, issue(
            "too_many_rows",
            f"{path.name} has more than the {limits.csv_rows:,} rows a CSV file may have",
            sheet=sheet,
            hint="split the submission into several",
        )
    return _with_row_numbers(df), empty_issues()


def read_csv_folder(folder: Path, cf: CodingFrame, limits: Limits = LIMITS) -> RawSubmission:
    raw = RawSubmission(source=folder, kind="csv")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        others = sorted(p.name for p in folder.iterdir())
        raw.issues = issue(
            "empty_submission",
            f"folder {folder.name!r} holds no CSV files; expected reviews.csv and children.csv "
            f"(required), recommendations.csv and actions.csv, or notifications.csv and/or "
            f"action_updates.csv"
            + (f"; found: {', '.join(others[:10])}" if others else " ; it is empty"),
        )
        return raw
    found, problems = _sheet_lookup([p.name for p in files], cf)
    parts = [problems]
    for sheet, name in found.items():
        df, problem = _read_csv_file(folder / name, sheet, limits)
        parts.append(problem)
        if df is not None:
            raw.sheets[sheet] = df
    raw.issues = combine(parts)
    return raw


# --- workbook inspection ----------------------------------------------------------------


class _Refused(Exception):
    """The workbook breaks a limit or is damaged; the message is the report line."""

    def __init__(self, message: str, rule: str = "over_limit", sheet: str | None = None):
        super().__init__(message)
        self.rule = rule
        self.sheet = sheet


def _zip_entry_count(handle: BinaryIO, size: int) -> int | None:
    """Entries declared by the end-of-central-directory record, read before zipfile parses
    the directory (which would allocate an object per entry, however many there are)."""
    tail_size = min(size, 65_557)  # the record (22 bytes) plus the longest comment
    handle.seek(size - tail_size)
    tail = handle.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack("<H", tail[at + 10 : at + 12])[0]
    locator = at - 20
    if count == 0xFFFF and locator >= 0 and tail[locator : locator + 4] == b"PK\x06\x07":
        # zip64: the locator gives the offset of the zip64 record, which holds the count.
        (record,) = struct.unpack("<Q", tail[locator + 8 : locator + 16])
        handle.seek(record)
        zip64 = handle.read(56)
        if zip64[:4] == b"PK\x06\x06" and len(zip64) == 56:
            count = struct.unpack("<Q", zip64[32:40])[0]
    return count


@dataclass
class _Unpacked:
    """Bytes unpacked so far across the workbook, against the limit."""

    limits: Limits
    total: int = 0

    def add(self, n: int) -> None:
        self.total += n
        if self.total > self.limits.unpacked_bytes:
            raise _Refused(
                f"the workbook unpacks to more than the {_size(self.limits.unpacked_bytes)} "
                "a submission may hold"
            )


def _unpack(handle: BinaryIO, info: zipfile.ZipInfo, budget: _Unpacked) -> Iterator[bytes]:
    """One part's bytes as they unpack, CHUNK at a time, from the raw zip data.

    Counts the bytes actually produced rather than trusting the declared size (zipfile
    would silently stop at it; another reader might not), and checks the CRC at the end.
    """
    damaged = f"part {info.filename} is damaged"
    handle.seek(info.header_offset)
    header = handle.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise _Refused(damaged, "unreadable_workbook")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    handle.seek(info.header_offset + 30 + name_length + extra_length)
    inflate = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    left, pending, produced, crc = info.compress_size, b"", 0, 0
    while True:
        if not pending:
            if left <= 0:
                break
            pending = handle.read(min(CHUNK, left))
            if not pending:
                raise _Refused(damaged, "unreadable_workbook")
            left -= len(pending)
        try:
            if inflate is None:
                out, pending = pending, b""
            else:
                out = inflate.decompress(pending, CHUNK)
                pending = inflate.unconsumed_tail
        except zlib.error:
            raise _Refused(damaged, "unreadable_workbook") from None
        produced += len(out)
        if produced > info.file_size:
            raise _Refused(
                f"part {info.filename} of the workbook unpacks to more than the "
                f"{_size(info.file_size)} it declares",
            )
        budget.add(len(out))
        crc = zlib.crc32(out, crc)
        if out:
            yield out
        if inflate is not None and inflate.eof:
            break
    if produced != info.file_size or crc != info.CRC:
        raise _Refused(damaged, "unreadable_workbook")


# Cells as Excel, xlsxwriter and openpyxl write them: un-prefixed, `r` first.
CELL_TAGS = (b"<c ", b"<c>", b"<c/>")
PREFIXED_CELL_TAGS = (b":c ", b":c>", b":c/>")
CELL_REF = re.compile(rb'<c r="([A-Z]+)([0-9]+)"')
REF = re.compile(r"^([A-Za-z]+)([0-9]+)$")
DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref="([^"]*)"')
ROOT_PREFIX = re.compile(rb"<([A-Za-z_][\w.-]*):worksheet\b")
# An error cell: its tag, an optional formula, then the error value (#N/A, #DIV/0! ...).
ERROR_CELL = re.compile(
    rb'<c r="([A-Z]+)([0-9]+)"[^>]*?t="e"[^>/]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?<v>([^<]*)</v>'
)
SPLIT_CELL = 64 * 1024  # a cell carried over to the next chunk, whole, if it is no longer


def column_number(letters: str | bytes) -> int:
    """A, Z, AA, XFD -> 1, 26, 27, 16384."""
    n = 0
    for char in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        n = n * 26 + ord(char) - 64
    return n


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class _SheetScan:
    """What streaming one sheet's XML found: its extent, cell count and error cells."""

    name: str
    limits: Limits
    dimension: str | None = None
    max_row: int = 0
    max_column: int = 0
    cells: int = 0
    errors: list[tuple[str, int, str]] = field(default_factory=list)

    def range_text(self) -> str:
        return f"A1:{column_letter(max(self.max_column, 1) - 1)}{max(self.max_row, 1)}"

    def check(self, where: str | None = None) -> None:
        """Refuse as soon as the sheet is over a limit (called while streaming)."""
        limits = self.limits
        used = where or self.range_text()
        told = (
            f" (its <dimension> says {self.dimension})" if where is None and self.dimension else ""
        )
        if self.max_row > limits.rows or self.max_column > limits.columns:
            raise _Refused(
                f"sheet {self.name!r} uses range {used}{told}: more than the "
                f"{limits.rows:,} rows / {limits.columns:,} columns a sheet may have",
                sheet=self.name,
            )
        area = self.max_row * self.max_column
        if area > limits.cells or self.cells > limits.cells:
            counted = f"{max(area, self.cells):,} cells"
            raise _Refused(
                f"sheet {self.name!r} uses range {used}{told} ({counted}): more than the "
                f"{limits.cells:,} cells a sheet may have",
                sheet=self.name,
            )

    def read_dimension(self, head: bytes) -> None:
        """Trust a <dimension> only to refuse early: a small one may still be a lie."""
        found = DIMENSION.search(head)
        if not found:
            return
        self.dimension = found.group(1).decode("ascii", "replace")[:40]
        last = REF.match(self.dimension.split(":")[-1])
        if last:
            declared = _SheetScan(self.name, self.limits)
            declared.max_column, declared.max_row = column_number(last[1]), int(last[2])
            declared.check(where=self.dimension)


def _fast_scan(chunks: Iterator[bytes], scan: _SheetScan) -> bool:
    """Scan the sheet with byte searches; False if some cell is not written the usual way
    (no `r`, a namespace prefix, `r` not first), when only a real XML parse can place it."""
    usual = True

    def scan_part(part: bytes) -> None:
        nonlocal usual
        refs = CELL_REF.findall(part)
        tags = sum(part.count(t) for t in CELL_TAGS)
        usual = usual and tags == len(refs) and not any(t in part for t in PREFIXED_CELL_TAGS)
        scan.cells += tags
        if refs:
            scan.max_column = max(scan.max_column, *map(column_number, {c for c, _ in refs}))
            scan.max_row = max(scan.max_row, *map(int, {r for _, r in refs}))
        if b't="e"' in part:
            found = ERROR_CELL.findall(part)
            scan.errors += [(c.decode(), int(r), v.decode("utf-8", "replace")) for c, r, v in found]
        scan.check()

    tail = b""
    first = True
    for chunk in chunks:
        data = tail + chunk
        if first:
            scan.read_dimension(data[:65536])
            usual = ROOT_PREFIX.search(data[:65536]) is None
            first = False
        # Cut before the last cell so no cell is split (cells do not nest); a cell too long
        # to carry (a huge inline string) is cut after its last complete tag instead: text
        # between tags holds no tag, so dropping it loses nothing the scan counts.
        cut = data.rfind(b"<c ")
        if cut < 0 or len(data) - cut > SPLIT_CELL:
            lt = data.rfind(b"<")
            cut = lt if lt >= 0 and data.find(b">", lt) < 0 else len(data)
        scan_part(data[:cut])
        tail = data[cut:]
        if len(tail) > MAX_TAG:
            raise _Refused(f"sheet {scan.name!r} holds an XML tag over 1 MB long", sheet=scan.name)
    scan_part(tail)
    return usual


def _exact_scan(chunks: Iterator[bytes], scan: _SheetScan) -> None:
    """Place every cell as a spreadsheet reader would (explicit or implied position) with
    expat, fed CHUNK at a time; text is never accumulated except an error cell's value."""
    scan.max_row = scan.max_column = scan.cells = 0
    scan.errors = []
    state = {"row": 0, "column": 0, "error": None, "value": ""}
    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = False

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local == "row":
            r = attrs.get("r", "")
            state["row"] = int(r) if r.isdigit() else state["row"] + 1
            state["column"] = 0
            scan.max_row = max(scan.max_row, state["row"])
        elif local == "c":
            ref = REF.match(attrs.get("r", ""))
            row = state["row"]
            if ref:
                state["column"], row = column_number(ref[1]), int(ref[2])
            else:
                state["column"] += 1
            scan.cells += 1
            scan.max_row = max(scan.max_row, row)
            scan.max_column = max(scan.max_column, state["column"])
            state["error"] = (
                (column_letter(state["column"] - 1), row) if attrs.get("t") == "e" else None
            )
            state["value"] = ""
            if scan.cells % 4096 == 0:
                scan.check()
        elif local == "v" and state["error"]:
            parser.CharacterDataHandler = text

    def text(data: str) -> None:
        state["value"] = (state["value"] + data)[:64]

    def end(name: str) -> None:
        if name.rpartition(":")[2] == "v" and state["error"]:
            scan.errors.append((*state["error"], state["value"]))
            state["error"] = None
            parser.CharacterDataHandler = None

    def doctype(*_: object) -> None:
        raise _Refused(f"sheet {scan.name!r} declares a DTD, which a workbook never does")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.StartDoctypeDeclHandler = doctype
    try:
        for data in chunks:
            parser.Parse(data, False)
        parser.Parse(b"", True)
    except xml.parsers.expat.ExpatError as exc:
        raise _Refused(
            f"sheet {scan.name!r} is not well-formed XML ({exc})", "unreadable_workbook"
        ) from None
    scan.check()


def _attributes(tag: bytes) -> dict[str, str]:
    return {
        key.decode(): html.unescape(value.decode("utf-8", "replace"))
        for key, value in re.findall(rb'([\w:.-]+)\s*=\s*"([^"]*)"', tag)
    }


@dataclass
class WorkbookCheck:
    """The outcome of inspecting a workbook's zip: sheet names (in workbook order), error
    cells per sheet, and the sheets whose extent was checked."""

    names: list[str] = field(default_factory=list)
    errors: dict[str, pl.DataFrame] = field(default_factory=dict)
    checked: set[str] = field(default_factory=set)


def inspect_workbook(path: Path, cf: CodingFrame, limits: Limits = LIMITS) -> WorkbookCheck:
    """Check a workbook against the limits before any reader allocates for it.

    Raises _Refused with the report line. Every XML part is streamed (actual sizes and
    CRCs); the sheets that map to the coding frame are scanned for their used range.
    """
    size = path.stat().st_size
    if size > limits.workbook_bytes:
        raise _Refused(
            f"the workbook is {_size(size)}: more than the {_size(limits.workbook_bytes)} "
            "a workbook may be"
        )
    with open(path, "rb") as handle:
        count = _zip_entry_count(handle, size)
        if count is None:
            raise _Refused("not a zip", "unreadable_workbook")
        if count > limits.zip_entries:
            raise _Refused(
                f"the workbook has {count:,} parts: more than the {limits.zip_entries:,} "
                "an .xlsx workbook may have"
            )
        try:
            infos = zipfile.ZipFile(handle).infolist()
        except (zipfile.BadZipFile, ValueError, OSError):
            raise _Refused("not a zip", "unreadable_workbook") from None
        if len(infos) > limits.zip_entries:
            raise _Refused(
                f"the workbook has {len(infos):,} parts: more than the "
                f"{limits.zip_entries:,} an .xlsx workbook may have"
            )
        declared = sum(i.file_size for i in infos)
        if declared > limits.unpacked_bytes:
            biggest = max(infos, key=lambda i: i.file_size)
            raise _Refused(
                f"the workbook declares {_size(declared)} unpacked (part {biggest.filename}: "
                f"{_size(biggest.file_size)}): more than the {_size(limits.unpacked_bytes)} "
                "a submission may hold"
            )
        for info in infos:
            if info.flag_bits & 0x1:
                raise _Refused("encrypted", "unreadable_workbook")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _Refused(
                    f"part {info.filename} uses a compression Excel does not write",
                    "unreadable_workbook",
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR and ratio > limits.compression_ratio:
                raise _Refused(
                    f"part {info.filename} of the workbook unpacks {ratio:,.0f} times larger "
                    f"({_size(info.compress_size)} to {_size(info.file_size)}): more than the "
                    f"{limits.compression_ratio:,} times a workbook part may"
                )
        by_name = {i.filename: i for i in infos}
        budget = _Unpacked(limits)

        def small_part(name: str) -> bytes:
            info = by_name.get(name)
            if info is None:
                raise _Refused(f"no {name}", "unreadable_workbook")
            if info.file_size > 16 * MB:
                raise _Refused(f"part {name} is {_size(info.file_size)}; a workbook's is small")
            return b"".join(_unpack(handle, info, budget))

        workbook = small_part("xl/workbook.xml")
        rels = small_part("xl/_rels/workbook.xml.rels")
        targets = {}
        for tag in re.findall(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>", rels):
            attrs = _attributes(tag)
            if "Id" in attrs and "Target" in attrs:
                target = attrs["Target"]
                targets[attrs["Id"]] = (
                    target.lstrip("/")
                    if target.startswith("/")
                    else str(PurePosixPath("xl") / target)
                )
        check = WorkbookCheck()
        sheets: dict[str, str] = {}  # part -> sheet name, for the sheets that will be read
        for tag in re.findall(rb"<(?:[\w.-]+:)?sheet\b([^>]*)>", workbook):
            attrs = _attributes(tag)
            name = attrs.get("name")
            rid = next((v for k, v in attrs.items() if k.endswith(":id")), None)
            if name is None:
                continue
            check.names.append(name)
            if frame_sheet(name, cf) is not None and rid in targets and targets[rid] in by_name:
                sheets[targets[rid]] = name
        for info in infos:
            if info.filename in sheets:
                name = sheets[info.filename]
                scan = _SheetScan(name, limits)
                if not _fast_scan(_unpack(handle, info, budget), scan):
                    _exact_scan(_unpack(handle, info, budget), scan)
                check.checked.add(name)
                if scan.errors:
                    letters, rows, values = zip(*scan.errors, strict=True)
                    check.errors[name] = pl.DataFrame(
                        {"column_letter": letters, "_row": rows, "error_value": values},
                        schema={
                            "column_letter": pl.String,
                            "_row": pl.Int64,
                            "error_value": pl.String,
                        },
                    )
            elif info.filename.endswith((".xml", ".rels")) and info.filename not in (
                "xl/workbook.xml",
                "xl/_rels/workbook.xml.rels",
            ):
                # A part the reader may open: make sure it unpacks to what it says.
                for _ in _unpack(handle, info, budget):
                    pass
    return check


def _excel_errors(
    df: pl.DataFrame, sheet: str, errors: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Issues for cells holding an Excel error (#N/A, #REF! ...), which the reader turns into
    blanks; the error text is put back in the cell so its row is not taken for a blank one."""
    letters = pl.DataFrame(
        {"column_letter": [column_letter(i) for i in range(df.width)], "column_name": df.columns}
    )
    cells = errors.join(letters, on="column_letter", how="inner").filter(pl.col("_row") > 1)
    found = cells.select(
        pl.lit(ERROR).alias("severity"),
        pl.lit(sheet).alias("sheet"),
        pl.col("_row").cast(pl.Int64).alias("row_number"),
        pl.col("column_name"),
        pl.col("error_value").alias("value"),
        pl.lit("excel_error").alias("rule"),
        pl.lit("cell holds an Excel error value instead of data").alias("description"),
        pl.lit("fix the formula or type the value").alias("hint"),
    )
    patch = cells.select("_row", "column_name", "error_value")
    df = df.with_row_index("_idx", offset=2)
    for column in patch["column_name"].unique().to_list():
        rows = patch.filter(pl.col("column_name") == column)
        df = (
            df.join(
                rows.select(pl.col("_row").cast(pl.UInt32).alias("_idx"), "error_value"),
                on="_idx",
                how="left",
            )
            .with_columns(pl.coalesce("error_value", column).alias(column))
            .drop("error_value")
        )
    return df.drop("_idx"), found


def _unreadable(path: Path, detail: str) -> pl.DataFrame:
    # "the file", not path.name: an ingest reads the archived copy, named by its hash, and
    # the report's header already names the file the user sent.
    return issue(
        "unreadable_workbook",
        f"the file is not a readable .xlsx workbook ({detail}); "
        "open it in Excel and save it again as .xlsx",
    )


def read_workbook(path: Path, cf: CodingFrame, limits: Limits = LIMITS) -> RawSubmission:
    raw = RawSubmission(source=path, kind="xlsx")
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head == OLE_MAGIC:
        raw.issues = issue(
            "unreadable_workbook",
            "the workbook is password-protected (encrypted) or an old .xls file; "
            "remove the password and save it as an Excel .xlsx workbook",
        )
        return raw
    try:
        check = inspect_workbook(path, cf, limits)
    except _Refused as refused:
        if refused.rule == "unreadable_workbook":
            raw.issues = _unreadable(path, str(refused))
        else:
            raw.issues = issue(
                refused.rule,
                str(refused),
                sheet=frame_sheet(refused.sheet, cf) if refused.sheet else None,
                hint="delete unused rows, columns and sheets (or split the submission), "
                "then save it again",
            )
        return raw

    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
    except BaseException as exc:  # fastexcel raises several error types (and Rust panics)
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raw.issues = _unreadable(path, type(exc).__name__)
        return raw
    found, problems = _sheet_lookup(names, cf)
    parts = [problems]
    for sheet, name in found.items():
        if name not in check.checked:  # never hand the reader a sheet that was not checked
            parts.append(
                issue("unreadable_sheet", f"sheet {name!r} could not be checked", sheet=sheet)
            )
            continue
        try:
            df = pl.from_arrow(reader.load_sheet(name, dtypes="string").to_arrow())
        except BaseException as exc:  # a sheet with no header row or unreadable cells
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            parts.append(
                issue(
                    "unreadable_sheet",
                    f"sheet {name!r} could not be read ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0][:200] if str(exc) else ''})",
                    sheet=sheet,
                )
            )
            continue
        assert isinstance(df, pl.DataFrame)
        if df.width == 0:
            parts.append(
                issue("empty_sheet", f"sheet {name!r} is empty (no header row)", sheet=sheet)
            )
            continue
        df = df.cast(pl.String)
        if name in check.errors:
            df, found_errors = _excel_errors(df, sheet, check.errors[name])
            parts.append(found_errors)
        raw.sheets[sheet] = _with_row_numbers(df)
    raw.issues = combine(parts)
    return raw


def read_submission(
    path: Path | str, cf: CodingFrame | None = None, limits: Limits = LIMITS
) -> RawSubmission:
    cf = cf or frame()
    path = Path(path)
    if not path.exists():
        raw = RawSubmission(source=path, kind="missing")
        raw.issues = issue("not_found", f"{path} does not exist")
        return raw
    if path.is_dir():
        return read_csv_folder(path, cf, limits)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return read_workbook(path, cf, limits)
    raw = RawSubmission(source=path, kind="unknown")
    raw.issues = issue(
        "unsupported_file",
        f"{path.name}: a submission is an .xlsx workbook or a folder of CSV files "
        "(reviews.csv, children.csv, recommendations.csv, actions.csv; notifications.csv, "
        "action_updates.csv)",
    )
    return raw
