"""The National overview's section of real published figures (issue 10): apart from the
synthetic sample, labelled real, every point linking to its source; for every role."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_dashboard import access, open_page, sample_warehouse, warehouse  # noqa: F401
from warehouse.access import Access


def test_the_overview_shows_the_real_figures_with_their_sources(
    warehouse: Path,  # noqa: F811
    access: Access,  # noqa: F811
) -> None:
    at = open_page("overview")
    assert "Real published national figures" in [h.value for h in at.header]
    assert any("Real, published figures" in i.value for i in at.info)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    published = [s for s in specs if "notifications" in json.dumps(s.get("title", "")).lower()]
    assert published, "no chart of notifications"
    used = access.published_series()
    for spec in published:
        encodings = json.dumps(spec)
        assert '"href"' in encodings and "source_url" in encodings  # each point links
    # the figures' text alternative names every figure shown, as published
    described = " ".join(s.get("description", "") for s in published)
    notified = access.published_charts()["notifications"]
    assert notified.height and all(t in described for t in notified["value_text"])
    assert set(notified["source_url"]) <= set(used["source_url"])
