"""Where the synthetic sample submissions live, and which files in a folder are submissions."""

from __future__ import annotations

from pathlib import Path

SAMPLE_SUBMISSIONS = Path(__file__).resolve().parent.parent / "data_samples" / "submissions"


def sample_paths(source: Path = SAMPLE_SUBMISSIONS) -> list[Path]:
    """Workbooks and CSV folders in ``source``, in name order (the order `scr build` loads)."""
    return sorted(
        p
        for p in Path(source).iterdir()
        if not p.name.startswith(".") and (p.is_dir() or p.suffix.lower() == ".xlsx")
    )
