"""Tests for analysis.present.sparkline: an embedded SVG line with its values on hover."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import numpy as np

from analysis.present.sparkline import HEIGHT, PAD, WIDTH, sparkline


def _svg(markup: str) -> ET.Element:
    data = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', markup).group(1)
    return ET.fromstring(base64.b64decode(data))


def test_line_through_the_values_with_the_last_marked():
    markup = sparkline([1.0, 3.0, 2.0], ["Q1", "Q2", "Q3"], "{:.0f}".format)
    assert markup.startswith('<img class="sparkline"')
    assert 'title="Q1: 1; Q2: 3; Q3: 2"' in markup
    svg = _svg(markup)
    ns = "{http://www.w3.org/2000/svg}"
    points = [
        tuple(map(float, p.split(","))) for p in svg.find(f"{ns}polyline").get("points").split()
    ]
    # Hand: x steps (96 - 6) / 2 = 45 from 3; the lowest value sits at y = 24 - 3, the highest at 3.
    assert points == [(PAD, HEIGHT - PAD), (PAD + 45, PAD), (WIDTH - PAD, (HEIGHT) / 2)]
    dot = svg.find(f"{ns}circle")
    assert (float(dot.get("cx")), float(dot.get("cy"))) == points[-1]


def test_gaps_split_the_line_and_too_few_values_draw_nothing():
    svg = _svg(sparkline([1.0, 2.0, np.nan, 3.0, 4.0]))
    assert len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 2
    assert sparkline([np.nan, 1.0]) == "" and sparkline([]) == ""


def test_hover_text_is_escaped():
    assert "&lt;b&gt;" in sparkline([1.0, 2.0], ["<b>", "x"])
