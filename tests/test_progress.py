"""Progress on long work (issue 10): a bar on a terminal, nothing when output is piped."""

from __future__ import annotations

import io

from rich.console import Console

from pipelines.runner import _progress


def test_piped_output_gets_no_progress() -> None:
    out = io.StringIO()
    with _progress(5, Console(file=out, force_terminal=False)) as step:
        step("checking and loading a.xlsx")
    assert out.getvalue() == ""


def test_a_terminal_sees_each_step() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with _progress(3, console) as step:
        step("checking and loading a.xlsx")
        console.print("between steps")
        step("refreshing the study tables and publishing the snapshot")
    shown = out.getvalue()
    assert "between steps" in shown
    assert "checking and loading a.xlsx" in shown and "0/3" in shown
    assert "refreshing the study tables" in shown and "1/3" in shown
