"""Read a submission (an .xlsx workbook or a folder of CSVs) into all-text polars frames.

Nothing is typed here: every cell is read as text so that the coercion step can say exactly
what was wrong with it. Each frame carries ``_row``, the row number as Excel shows it (the
header is row 1). File-level problems (corrupt, encrypted, not UTF-8, no sheets ...) come
back as issues, never as exceptions.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import polars as pl

from warehouse.frame import CodingFrame, frame
from warehouse.issues import ERROR, WARNING, combine, empty_issues, issue

EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted .xlsx and legacy .xls
ERROR_CELL = re.compile(rb'<c r="([A-Z]+)([0-9]+)"[^>]*?t="e"[^>]*>.*?<v>([^<]*)</v>', re.S)


@dataclass
class RawSubmission:
    """Every sheet found, as text, plus any file-level issues."""

    source: Path
    kind: str  # "xlsx" or "csv"
    sheets: dict[str, pl.DataFrame] = field(default_factory=dict)
    issues: pl.DataFrame = field(default_factory=empty_issues)


def _sheet_lookup(names: list[str], cf: CodingFrame) -> tuple[dict[str, str], pl.DataFrame]:
    """Map coding-frame sheet names to the names found; flag unknown and near-miss names."""
    found: dict[str, str] = {}
    problems = []
    for name in names:
        clean = name.strip().lower()
        if clean.endswith(".csv"):
            clean = clean[:-4]
        if clean in cf.sheets and clean not in found:
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
        elif not clean.startswith(("notes", "_", "lists", "readme")):
            problems.append(
                issue(
                    "unknown_sheet",
                    f"sheet {name!r} is not part of the coding frame and was ignored "
                    f"(sheets: {', '.join(cf.sheets)})",
                    severity=WARNING,
                )
            )
    for sheet in cf.sheets.values():
        if sheet.required and sheet.name not in found:
            problems.append(
                issue(
                    "missing_sheet",
                    f"required sheet {sheet.name!r} is missing "
                    f"(found: {', '.join(repr(n) for n in names) or 'none'})",
                    sheet=sheet.name,
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


def _decode_csv(path: Path, sheet: str) -> tuple[str | None, pl.DataFrame]:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        guess = "UTF-16 (Excel 'Unicode Text')"
    else:
        try:
            return data.decode("utf-8-sig"), empty_issues()
        except UnicodeDecodeError as exc:
            try:
                data.decode("cp1252")
                guess = "Windows-1252 (Excel's plain 'CSV' format)"
            except UnicodeDecodeError:
                guess = "Latin-1 or another single-byte encoding"
            line = data[: exc.start].count(b"\n") + 1
            where = f" (first non-UTF-8 byte on line {line})"
            return None, issue(
                "encoding",
                f"{path.name} is not UTF-8; it looks like {guess}{where}. "
                "Save it as 'CSV UTF-8 (comma delimited)'",
                sheet=sheet,
            )
    return None, issue(
        "encoding",
        f"{path.name} is not UTF-8; it looks like {guess}. Save it as 'CSV UTF-8'",
        sheet=sheet,
    )


def _read_csv_text(text: str, name: str, sheet: str) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    if not text.strip():
        required = frame().sheets[sheet].required
        return None, issue(
            "empty_sheet",
            f"{name} is empty (no header row)" + ("" if required else "; read as no rows"),
            sheet=sheet,
            severity=ERROR if required else WARNING,
        )
    try:
        df = pl.read_csv(
            text.encode("utf-8"),
            infer_schema=False,
            has_header=True,
            truncate_ragged_lines=False,
        )
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, issue(
            "unreadable_csv", f"{name} could not be read as CSV: {first}", sheet=sheet
        )
    return _with_row_numbers(df), empty_issues()


def read_csv_folder(folder: Path, cf: CodingFrame) -> RawSubmission:
    raw = RawSubmission(source=folder, kind="csv")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
    if not files:
        others = sorted(p.name for p in folder.iterdir())
        raw.issues = issue(
            "empty_submission",
            f"folder {folder.name!r} holds no CSV files; expected reviews.csv and children.csv "
            f"(required), recommendations.csv and actions.csv"
            + (f"; found: {', '.join(others[:10])}" if others else " ; it is empty"),
        )
        return raw
    found, problems = _sheet_lookup([p.name for p in files], cf)
    parts = [problems]
    for sheet, name in found.items():
        text, enc_problem = _decode_csv(folder / name, sheet)
        parts.append(enc_problem)
        if text is None:
            continue
        df, read_problem = _read_csv_text(text, name, sheet)
        parts.append(read_problem)
        if df is not None:
            raw.sheets[sheet] = df
    raw.issues = combine(parts)
    return raw


def _excel_error_cells(path: Path, sheet_names: list[str]) -> dict[str, pl.DataFrame]:
    """Cells holding an Excel error (#N/A, #REF! ...), which the reader turns into blanks."""
    found: dict[str, pl.DataFrame] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            workbook = zf.read("xl/workbook.xml").decode("utf-8", "replace")
            rels = zf.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
            targets = dict(re.findall(r'Id="([^"]+)"[^>]*Target="([^"]+)"', rels))
            targets |= {k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="([^"]+)"', rels)}
            for name, rid in re.findall(r'<sheet [^>]*name="([^"]+)"[^>]*r:id="([^"]+)"', workbook):
                if name not in sheet_names or rid not in targets:
                    continue
                target = targets[rid].lstrip("/")
                member = target if target.startswith("xl/") else str(PurePosixPath("xl") / target)
                cells = ERROR_CELL.findall(zf.read(member))
                if cells:
                    found[name] = pl.DataFrame(
                        {
                            "column_letter": [c.decode() for c, _, _ in cells],
                            "_row": [int(r) for _, r, _ in cells],
                            "error_value": [v.decode() for _, _, v in cells],
                        }
                    )
    except (KeyError, zipfile.BadZipFile, OSError):
        return {}
    return found


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def read_workbook(path: Path, cf: CodingFrame) -> RawSubmission:
    import fastexcel

    raw = RawSubmission(source=path, kind="xlsx")
    head = path.read_bytes()[:8]
    if head == OLE_MAGIC:
        raw.issues = issue(
            "unreadable_workbook",
            f"{path.name} is password-protected (encrypted) or an old .xls file; "
            "remove the password and save it as an Excel .xlsx workbook",
        )
        return raw
    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
    except Exception as exc:  # fastexcel raises several error types for broken files
        raw.issues = issue(
            "unreadable_workbook",
            f"{path.name} is not a readable .xlsx workbook ({type(exc).__name__}); "
            "open it in Excel and save it again as .xlsx",
        )
        return raw
    found, problems = _sheet_lookup(names, cf)
    parts = [problems]
    errors = _excel_error_cells(path, list(found.values()))
    for sheet, name in found.items():
        try:
            df = pl.from_arrow(reader.load_sheet(name, dtypes="string").to_arrow())
        except Exception as exc:  # a sheet with no header row or unreadable cells
            parts.append(
                issue(
                    "unreadable_sheet",
                    f"sheet {name!r} could not be read ({type(exc).__name__}: "
                    f"{str(exc).splitlines()[0] if str(exc) else ''})",
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
        if name in errors:
            letters = pl.DataFrame(
                {
                    "column_letter": [column_letter(i) for i in range(df.width)],
                    "column_name": df.columns,
                }
            )
            cells = (
                errors[name]
                .join(letters, on="column_letter", how="inner")
                .filter(pl.col("_row") > 1)
            )
            raw_errors = cells.select(
                pl.lit(ERROR).alias("severity"),
                pl.lit(sheet).alias("sheet"),
                pl.col("_row").cast(pl.Int64).alias("row_number"),
                pl.col("column_name"),
                pl.col("error_value").alias("value"),
                pl.lit("excel_error").alias("rule"),
                pl.lit("cell holds an Excel error value instead of data").alias("description"),
                pl.lit("fix the formula or type the value").alias("hint"),
            )
            parts.append(raw_errors)
            # Keep the error text in the cell so the row is not mistaken for a blank one.
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
            df = df.drop("_idx")
        raw.sheets[sheet] = _with_row_numbers(df)
    raw.issues = combine(parts)
    return raw


def read_submission(path: Path | str, cf: CodingFrame | None = None) -> RawSubmission:
    cf = cf or frame()
    path = Path(path)
    if not path.exists():
        raw = RawSubmission(source=path, kind="missing")
        raw.issues = issue("not_found", f"{path} does not exist")
        return raw
    if path.is_dir():
        return read_csv_folder(path, cf)
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return read_workbook(path, cf)
    raw = RawSubmission(source=path, kind="unknown")
    raw.issues = issue(
        "unsupported_file",
        f"{path.name}: a submission is an .xlsx workbook or a folder of CSV files "
        "(reviews.csv, children.csv, recommendations.csv, actions.csv)",
    )
    return raw
