"""Real published national figures (not the synthetic coded sample), for every principal.

The figures are public information (each with its source and the verbatim quote holding
it), so the scoped copies hold them whole (``snapshot.PASS_THROUGH``); their ledger does not
leave the server. The views show them apart from the coded data and labelled as real.
"""

from __future__ import annotations

import polars as pl

from warehouse.access.connection import AccessCore, reads
from warehouse.published import chart_groups, published_series

REAL_FIGURES_LABEL = "Real published national figures (not the synthetic sample)"


class PublishedReads(AccessCore):
    """The published national series: the figures used, every source, and chart groups."""

    @reads
    def published_series(self, every_source: bool = False) -> pl.DataFrame:
        """The figures the product uses, one per series, period and measure (with
        ``every_source``: every source's row, disagreements included, ``used`` marking
        the one shown). Columns: see :func:`warehouse.published.published_series`."""
        with self.connect() as con:
            return published_series(con, every_source=every_source)

    @reads
    def published_charts(self) -> dict[str, pl.DataFrame]:
        """The used figures grouped for charts (notifications, deaths_and_harm, reviews,
        headline_percents), every row with its source_url, source_title and quote."""
        with self.connect() as con:
            return chart_groups(published_series(con))
