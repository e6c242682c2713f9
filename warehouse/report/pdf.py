"""The report's PDF: the same self-contained HTML printed by headless Chromium.

Why Chromium's print-to-PDF and not WeasyPrint: Chromium is already installed for the
browser tests (Playwright), so the PDF needs no new dependency (WeasyPrint brings Pango,
cairo and its own CSS engine); and it lays out the very HTML, CSS and inline SVG a reader
opens in a browser, print stylesheet and page breaks included, so the two never drift.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_ENV = "SCR_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 180


class PdfError(RuntimeError):
    """No Chromium to print with, or it did not produce a valid PDF. The message says what
    to do, in plain words."""


def chromium_path() -> str:
    """The Chromium to print with: $SCR_CHROMIUM, else the first found on PATH (Debian's
    /usr/bin/chromium). PdfError when there is none."""
    configured = os.environ.get(CHROMIUM_ENV, "").strip()
    if configured:
        if shutil.which(configured) or Path(configured).is_file():
            return configured
        raise PdfError(f"{CHROMIUM_ENV}={configured!r} is not an executable Chromium")
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise PdfError(
        "a PDF needs Chromium to print the report, and none was found (install the "
        f"'chromium' package, or set {CHROMIUM_ENV} to its path); "
        "the .html report needs nothing else"
    )


def page_count(pdf: bytes) -> int:
    """Pages of a PDF by its page objects (``/Type /Page``, not ``/Pages``): Chromium writes
    page dictionaries uncompressed."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def check_pdf(pdf: bytes) -> int:
    """The page count of a valid PDF, else PdfError."""
    if not pdf.startswith(b"%PDF-"):
        raise PdfError("Chromium did not produce a PDF")
    if b"%%EOF" not in pdf[-2048:]:
        raise PdfError("the PDF Chromium produced is incomplete")
    pages = page_count(pdf)
    if pages < 1:
        raise PdfError("the PDF Chromium produced has no page")
    return pages


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` (one self-contained document) to PDF with headless Chromium (A4, the
    page size and margins of its print stylesheet, no browser header or footer)."""
    browser = chromium_path()
    with tempfile.TemporaryDirectory(prefix="scr-report-") as work:
        folder = Path(work)
        source = folder / "report.html"
        target = folder / "report.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",  # runs as root in containers; the page is our own file
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            f"--user-data-dir={folder / 'profile'}",
            "--no-pdf-header-footer",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                check=False,
                env={**os.environ, "HOME": str(folder)},
            )
        except subprocess.TimeoutExpired:
            raise PdfError(
                f"Chromium did not finish printing the report in {TIMEOUT_SECONDS} s"
            ) from None
        except OSError as exc:
            raise PdfError(f"Chromium could not be started ({browser}): {exc}") from None
        if not target.exists():
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            raise PdfError(
                f"Chromium printed no PDF (exit {done.returncode})"
                + (f": {detail[0][:200]}" if detail else "")
            )
        pdf = target.read_bytes()
    check_pdf(pdf)
    return pdf
