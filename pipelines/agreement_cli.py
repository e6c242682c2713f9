"""`scr agreement PATH_A PATH_B [--format text|json]`: the command line of
``warehouse.agreement`` (which does the work and knows no command line)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from warehouse.agreement import run_agreement


def cmd_agreement(args: argparse.Namespace) -> int:
    return run_agreement(
        Path(args.path_a), Path(args.path_b), args.format, sys.stdout, err=sys.stderr
    )


def add_agreement_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register `agreement` on the `scr` command's subparsers."""
    p = subparsers.add_parser(
        "agreement",
        help="double-coding agreement of two submissions of the same reviews: per coded "
        "column the paired items, percent agreement and Cohen's kappa with its 95%% interval, "
        "then every disagreement; exit 1 if a submission has errors, 2 if the review_ids differ",
    )
    p.add_argument("path_a", metavar="PATH_A", help="coder A's submission (.xlsx or CSV folder)")
    p.add_argument("path_b", metavar="PATH_B", help="coder B's submission, the same reviews")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_agreement)
    return p
