"""Server-side render time of every dashboard page, on the sample data and on a synthetic
national set ten times larger.

    .venv/bin/python scripts/bench_dashboard.py [--factor 10] [--repeat 3] [--warehouse PATH]

Builds the sample warehouse in a temporary folder (or uses --warehouse), copies its core
tables ``--factor`` times with suffixed ids into a second warehouse, then renders each page
through Streamlit's AppTest: *cold* is the first render after clearing the data cache (what
the first visitor after a new snapshot waits for), *warm* a rerun with the cache filled (every
later visitor). Reports the median of ``--repeat`` runs; the aim is under one second a page.
This is a report, not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.sample_warehouses import build_sample_warehouse, scaled_warehouse  # noqa: E402
from warehouse.access import Access  # noqa: E402

APP = REPO / "dashboard" / "app.py"
# AppTest runs without a server: drop the notices that say so on every run.
for _name in (
    "streamlit.runtime.caching.cache_data_api",
    "streamlit.runtime.scriptrunner_utils.script_run_context",
):
    logging.getLogger(_name).addFilter(lambda record: False)
AIM_SECONDS = 1.0


def scenarios(warehouse: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(name, page file, query parameters): every page, with defaults and the heavier views."""
    busiest = Access(warehouse).boards().sort("reviews", descending=True)["board_code"][0]
    return [
        ("National overview", "views/overview.py", {}),
        ("Study tables (England)", "views/study_tables.py", {}),
        ("Study tables (London)", "views/study_tables.py", {"region": "london"}),
        ("Region (all regions)", "views/region.py", {}),
        ("Region (London)", "views/region.py", {"region": "london"}),
        ("Board benchmark (funnel)", "views/benchmark.py", {}),
        ("Board benchmark (a board)", "views/benchmark.py", {"board": busiest}),
        ("Themes", "views/themes.py", {}),
        ("Recommendations (search)", "views/recommendations.py", {"q": "domestic violence"}),
        ("Data quality", "views/data_quality.py", {}),
    ]


def render_times(page: str, params: dict[str, str]) -> tuple[float, float]:
    """(cold, warm) seconds for one server-side render of ``page``."""
    import streamlit as st
    from streamlit import config
    from streamlit.testing.v1 import AppTest

    config.set_option("runner.magicEnabled", False)  # as dashboard/.streamlit/config.toml
    from dashboard.auth import PRINCIPAL_KEY
    from warehouse.principal import ANALYST

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state[PRINCIPAL_KEY] = ANALYST  # a national analyst's session (past sign-in)
    at.query_params.update(params)
    at.run()
    at.query_params.update(params)
    if page != "views/overview.py":
        at.switch_page(page)
    st.cache_data.clear()
    start = time.perf_counter()
    at.run()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    at.run()
    warm = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{page} raised: {at.exception[0].value}")
    return cold, warm


def bench(label: str, warehouse: Path, repeat: int) -> pl.DataFrame:
    os.environ["SCR_WAREHOUSE"] = str(warehouse)
    size = Access(warehouse).indicators(Access(warehouse).select())
    reviews = int(size.filter(pl.col("indicator") == "reviews")["value"][0])
    print(f"\n{label}: {reviews:,} reviews ({warehouse})", flush=True)
    rows = []
    for name, page, params in scenarios(warehouse):
        runs = [render_times(page, params) for _ in range(repeat)]
        cold = statistics.median(r[0] for r in runs)
        warm = statistics.median(r[1] for r in runs)
        flag = "" if cold < AIM_SECONDS else f"  (over {AIM_SECONDS:.0f} s)"
        print(f"  {name:<28} cold {cold:6.3f} s   warm {warm:6.3f} s{flag}", flush=True)
        rows.append({"data": label, "page": name, "cold_s": cold, "warm_s": warm})
    return pl.DataFrame(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--factor", type=int, default=10, help="size of the large set")
    parser.add_argument("--repeat", type=int, default=3, help="renders per page (median)")
    parser.add_argument("--warehouse", type=Path, help="a built warehouse to use as sample")
    args = parser.parse_args()
    os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    with tempfile.TemporaryDirectory(prefix="scr-bench-") as tmp:
        sample = args.warehouse
        if sample is None:
            print("building the sample warehouse ...", flush=True)
            sample = build_sample_warehouse(Path(tmp) / "sample" / "scr.duckdb")
        print(f"building the {args.factor}x national set ...", flush=True)
        large = scaled_warehouse(sample, Path(tmp) / "large" / "scr.duckdb", args.factor)
        results = pl.concat(
            [
                bench("sample data", sample, args.repeat),
                bench(f"{args.factor}x national set", large, args.repeat),
            ]
        )
    slowest = results.sort("cold_s", descending=True).row(0, named=True)
    print(
        f"\nslowest cold render: {slowest['page']} on the {slowest['data']}, "
        f"{slowest['cold_s']:.3f} s; pages over {AIM_SECONDS:.0f} s cold: "
        f"{results.filter(pl.col('cold_s') >= AIM_SECONDS).height} of {results.height}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
