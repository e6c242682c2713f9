"""The biennial report generated for a selection, and the board report, as one self-contained
HTML file (inline CSS and SVG) or a PDF printed from it by headless Chromium (``pdf.py``).

- :func:`build_report`: the full report (cover, methods, figures, Tables 2-20 beside the
  published 2001-03 figures, the study's errata, the audience's disclosure rules and the
  submissions it rests on) for a period and England, a region or a board;
- :func:`board_report_html` / :func:`board_report_pdf`: one board beside its region and
  England over pooled periods, two to four pages, for a board meeting (the dashboard's
  download and ``scr report --kind board``);
- :func:`add_report_parser` / :func:`run_report`: the ``scr report`` command (``cli.py``).

Every figure is read through :class:`warehouse.access.Access` for the report's principal,
so disclosure control is the dashboard's own.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # registering `scr report` must not import the read layer
    from warehouse.access import Access

Progress = Callable[[str], None]
TEMPLATE = "template.html.j2"


def _nothing(_: str) -> None:
    return None


@cache
def _environment() -> Any:
    import jinja2

    # Autoescape: board names and labels come from submissions.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(Path(__file__).parent)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_html(context: dict[str, Any]) -> str:
    """The report's context as one HTML document."""
    return _environment().get_template(TEMPLATE).render(**context)


def build_report(
    access: Access,
    period: str | None = None,
    region: str | None = None,
    board: str | None = None,
    *,
    agreement: tuple[Path, Path] | None = None,
    pool: int = 3,
    progress: Progress = _nothing,
) -> str:
    """The biennial report for the selection as HTML, read for ``access``'s principal
    (OutOfScope when the selection is not the principal's to see)."""
    from warehouse.report.content import full_report

    sel = access.select(period=period, region=region, board=board)
    context = full_report(access, sel, agreement=agreement, pool=pool, progress=progress)
    progress("writing the HTML")
    return render_html(context)


def board_report(
    access: Access,
    board: str,
    period: str | None = None,
    *,
    pool: int = 3,
    progress: Progress = _nothing,
) -> str:
    """The board report (one board beside its region and England, pooled periods) as HTML.
    OutOfScope for the public, or a board outside the principal's scope."""
    from warehouse.report.content import board_report as board_context
    from warehouse.report.content import check_board_audience

    check_board_audience(access, board)
    context = board_context(access, board, period, pool=pool, progress=progress)
    progress("writing the HTML")
    return render_html(context)


def board_report_html(
    access: Access, board: str, period: str | None = None, *, pool: int = 3
) -> bytes:
    """The board report as UTF-8 HTML bytes (the dashboard's download)."""
    return board_report(access, board, period, pool=pool).encode("utf-8")


def board_report_pdf(
    access: Access, board: str, period: str | None = None, *, pool: int = 3
) -> bytes:
    """The board report as PDF bytes, printed by headless Chromium
    (:class:`warehouse.report.pdf.PdfError` when there is none)."""
    from warehouse.report.pdf import html_to_pdf

    return html_to_pdf(board_report(access, board, period, pool=pool))


def to_pdf(html: str) -> bytes:
    from warehouse.report.pdf import html_to_pdf

    return html_to_pdf(html)


__all__ = [
    "board_report",
    "board_report_html",
    "board_report_pdf",
    "build_report",
    "render_html",
    "to_pdf",
]
