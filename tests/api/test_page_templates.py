"""Every HTML page Podium serves names its own icon: without one, browsers ask for
/favicon.ico, which is a 404 in the access log and a console error on the page."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


@pytest.mark.parametrize("page", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_each_page_names_its_icon(page: str) -> None:
    head = (TEMPLATES / page).read_text().split("</head>", 1)[0]
    assert '<link rel="icon"' in head
