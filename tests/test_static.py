"""The static SVG charts and text summary shown where notebook widgets cannot render."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from hypertuner.board.static import (
    TIME,
    Line,
    Section,
    StaticChart,
    Table,
    TextTable,
    _num,
    _ticks,
    clock,
    render_svg,
    summary_text,
)

SVG = "{http://www.w3.org/2000/svg}"


def _chart(title="train/loss", y=(3.0, 2.0, 1.5, 1.0), **kw) -> StaticChart:
    y = np.asarray(y, dtype=np.float64)
    return StaticChart(title, [Line(np.arange(len(y), dtype=np.float64), y)], **kw)


def _groups(svg: str) -> list[ET.Element]:
    return ET.fromstring(svg).findall(f"{SVG}g[@class='chart']")


def _lines(group: ET.Element) -> list[ET.Element]:
    return group.findall(f".//{SVG}path[@class='line']")


def _texts(group: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in group.iter(f"{SVG}text")]


def _y_labels(group: ET.Element) -> list[str]:
    # y tick labels are the texts right-aligned just left of the frame (x = 50 - 5)
    return [
        t.text
        for t in group.iter(f"{SVG}text")
        if t.get("text-anchor") == "end" and t.get("x") == "45"
    ]


def test_document_is_standalone_svg():
    """The output parses as XML and declares its namespace, size and viewBox."""
    root = ET.fromstring(render_svg([_chart(), _chart("b")], title="run x", columns=1))
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == (
        "320",
        "430",
        "0 0 320 430",
    )


def test_one_group_per_chart():
    """Seven charts make seven chart groups."""
    assert len(_groups(render_svg([_chart(str(i)) for i in range(7)]))) == 7


def test_data_points_count_the_finite_points():
    """The lines' data-points add up to the finite points drawn."""
    y = np.linspace(0, 1, 500)
    y[[10, 11, 300]] = [np.nan, np.inf, -np.inf]
    lines = _lines(_groups(render_svg([_chart(y=y)]))[0])
    assert [int(p.get("data-points")) for p in lines] == [10, 288, 199]


def test_nan_splits_the_line_in_two():
    """A NaN in the middle leaves two paths, one each side of the gap."""
    lines = _lines(_groups(render_svg([_chart(y=[1.0, 2.0, np.nan, 4.0, 5.0])]))[0])
    assert [p.get("data-points") for p in lines] == ["2", "2"]
    assert all(p.get("d").startswith("M") for p in lines)


def test_markup_in_titles_is_escaped():
    """A title holding markup shows as text, never as an element."""
    evil = "<script>alert(1)</script>"
    svg = render_svg([_chart(evil), _chart('a&b "q"')], title=evil)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "a&amp;b &quot;q&quot;" in svg
    assert ET.fromstring(svg).find(f".//{SVG}script") is None


def test_control_characters_do_not_break_the_xml():
    """A key holding an escape code still gives parsable XML."""
    assert len(_groups(render_svg([_chart("bad\x1b[0mkey\x00")]))) == 1


def test_empty_chart_says_no_points_yet():
    """A chart with no points shows a message and no line."""
    group = _groups(render_svg([_chart("empty", y=[])]))[0]
    assert "no points yet" in _texts(group)
    assert _lines(group) == []


def test_all_nan_chart_says_no_finite_points():
    """A chart whose points are all NaN says so instead of drawing."""
    group = _groups(render_svg([_chart(y=[np.nan, np.nan])]))[0]
    assert "no finite points" in _texts(group)
    assert _lines(group) == []


def test_bool_chart_is_a_step_line_with_false_true_ticks():
    """A bool chart labels its y ticks false and true and draws only flat and upright moves."""
    group = _groups(render_svg([_chart("ok", y=[0, 0, 1, 1, 0], kind="bool")]))[0]
    assert _y_labels(group) == ["false", "true"]
    # x runs 55..297 px in steps of 60.5; false sits at y 143, true at 53
    assert _lines(group)[0].get("d") == "M55,143H176V53H297V143"


def test_decimated_chart_has_a_caption():
    """A chart drawn from fewer points than held says how many of each."""
    chart = StaticChart("loss", [Line(np.arange(1800.0), np.ones(1800))], total=1_000_000)
    assert "1,000,000 pts, 1,800 drawn" in _texts(_groups(render_svg([chart]))[0])


def test_undecimated_chart_has_no_caption():
    """A chart drawn point for point shows no caption."""
    assert " drawn" not in render_svg([_chart(total=4)])


@pytest.mark.parametrize(
    ("lo", "hi", "expand", "labels"),
    [
        (0, 1e6, True, ["0", "250k", "500k", "750k", "1M"]),
        (0, 0.002, True, ["0", "0.0005", "0.001", "0.0015", "0.002"]),
        (-3.2, -1.1, True, ["-4", "-3", "-2", "-1"]),
        (-0.32, -0.11, True, ["-0.4", "-0.3", "-0.2", "-0.1"]),
        (-0.4, 2.1, True, ["-1", "0", "1", "2", "3"]),
        (1e-5, 5e-5, True, ["1e-05", "2e-05", "3e-05", "4e-05", "5e-05"]),
        (0, 11_994, False, ["0", "2.5k", "5k", "7.5k", "10k"]),
        (12_345, 12_400, False, ["12.36k", "12.38k", "12.4k"]),
    ],
)
def test_tick_labels_are_round_and_compact(lo, hi, expand, labels):
    """Ticks are round numbers with short labels; y ticks enclose the data, x ticks lie inside."""
    assert _ticks(lo, hi, expand)[1] == labels


def test_a_time_axis_is_ticked_in_round_durations_read_as_clocks():
    """Seconds since the start read 0:00, 1:00, 2:00 (or 1:00:00), as the board's axis."""
    x = np.linspace(0.0, 250.0, 50)
    chart = StaticChart("loss", [Line(x, np.cos(x))], x_label=TIME)
    texts = _texts(_groups(render_svg([chart]))[0])
    assert ["0:00", "1:00", "2:00"] == [t for t in texts if re.fullmatch(r"\d+:\d\d", t)][:3]
    assert TIME in texts and not any(t.endswith("k") for t in texts), texts
    assert [clock(s) for s in (5, 59.6, 754, 3723, 2 * 86400 + 3600)] == [
        "0:05",
        "1:00",
        "12:34",
        "1:02:03",
        "2d 1:00:00",
    ]
    assert clock(1.25, 0.5) == "0:01.2" and clock(-90) == "-1:30"


def test_numbers_are_formatted_compactly():
    """Numbers print as 0.001, 1.5k, 2M, 1e-05, never as long floats."""
    values = [0.001, 1500, 2e6, 1e-5, 999.97, 0.1 + 0.2, -0.5, 0.0, float("nan")]
    assert [_num(v) for v in values] == [
        "0.001",
        "1.5k",
        "2M",
        "1e-05",
        "1k",
        "0.3",
        "-0.5",
        "0",
        "nan",
    ]


def test_constant_and_single_point_series_still_draw():
    """A flat series draws a flat line and a lone point a dot, each with padded round ticks."""
    groups = _groups(render_svg([_chart(y=[0.5] * 4), _chart(y=[7.0])]))
    flat, dot = (_lines(g)[0] for g in groups)
    assert flat.get("data-points") == "4"
    assert len(set(re.findall(r",([\d.]+)", flat.get("d")))) == 1
    assert dot.get("data-points") == "1" and dot.get("d").endswith("h0")
    assert _y_labels(groups[0]) == ["0.45", "0.475", "0.5", "0.525", "0.55"]
    assert _y_labels(groups[1]) == ["6", "6.5", "7", "7.5", "8"]


def test_extreme_values_do_not_crash():
    """Huge, infinite and mixed values render to parsable XML."""
    y = [1.7e308, -1.7e308, np.inf, np.nan, 1e-320, 0.0]
    assert len(_lines(_groups(render_svg([_chart(y=y)]))[0])) == 2


def test_coordinates_have_at_most_one_decimal():
    """Every number in a line's path has at most one decimal."""
    d = _lines(_groups(render_svg([_chart(y=np.random.default_rng(1).random(300))]))[0])[0]
    assert not re.search(r"\.\d\d", d.get("d"))


def test_x_and_y_must_match_in_length():
    """A chart whose x and y differ in length is refused."""
    with pytest.raises(ValueError, match=r"x and y differ in length \(3 != 2\)"):
        Line(np.zeros(3), np.zeros(2))


def test_no_charts_still_makes_a_document():
    """An empty board renders a one-line message."""
    assert ET.fromstring(render_svg([])).find(f".//{SVG}text").text == "nothing logged yet"


def test_summary_text_lines_up_columns():
    """Numbers get 4 significant digits, texts and bools only a last value."""
    rows = [
        ("train/loss", 12_000, 0.0312, 0.0298, 2.31),
        ("phase", 12_000, "cosine", None, None),
        ("ok", 12_000, True, None, None),
    ]
    assert summary_text("run 20261126-101530-swift-heron", "finished", rows) == (
        "run 20261126-101530-swift-heron · finished · 3 keys\n"
        "key          points    last      min       max\n"
        "train/loss   12,000    0.0312    0.0298    2.31\n"
        "phase        12,000    cosine\n"
        "ok           12,000    True"
    )


def test_summary_text_right_aligns_counts_and_keeps_one_line_per_key():
    """Point counts align on their last digit; a newline in a text value stays on its row."""
    rows = [("a", 1_234_567, 123456.7, -0.000123, 1e9), ("b", 5, "two\nlines", None, None)]
    assert summary_text("", "running", rows) == (
        "running · 2 keys\n"
        "key          points   last        min         max\n"
        "a         1,234,567   123.5k      -0.000123   1G\n"
        "b                 5   two lines"
    )


def test_sections_are_headed_with_their_counts_after_the_unprefixed_charts():
    """As the board lays keys out: unprefixed charts first, untitled; then each
    section under its name and its number of keys (more than drawn when cut)."""
    svg = render_svg([_chart("loss"), Section("train", [_chart("train/a")], count=5)])
    root = ET.fromstring(svg)
    (heading,) = root.findall(f"{SVG}g[@class='section']")
    assert "".join(heading.itertext()) == "▾ train  5"
    titles = [_texts(g)[0] for g in _groups(svg)]
    assert titles == ["loss", "train/a"]
    # the section's chart sits below its heading, the unprefixed one above it
    tops = [float(g.get("transform").split(",")[1].rstrip(")")) for g in _groups(svg)]
    heading_y = float(heading.find(f"{SVG}text").get("y"))
    assert tops[0] < heading_y < tops[1]


def test_each_line_takes_its_colour_and_nan_is_counted_and_marked_in_it():
    """A chart of two runs draws each in its colour; the NaN of the whole series
    (not only of the points drawn) are counted in red and marked at the bottom edge."""
    x = np.arange(10.0)
    lines = [
        Line(x, x, "#1f77b4"),
        Line(x, -x, "#d62728", nan=3, inf=1, bad=np.array([2.0, 2.0, 7.0, 9.0])),
    ]
    (group,) = _groups(render_svg([StaticChart("loss", lines)]))
    strokes = [g.get("stroke") for g in group.iter(f"{SVG}g") if g.get("stroke")]
    assert strokes == ["#1f77b4", "#d62728"]
    assert "3 NaN, 1 inf" in _texts(group)
    counted = [t for t in group.iter(f"{SVG}tspan") if "NaN" in (t.text or "")]
    assert counted[0].get("fill") == "#c62828"
    (marks,) = group.findall(f"{SVG}path[@class='bad']")
    assert marks.get("stroke") == "#d62728"
    assert marks.get("d").count("M") == 3  # one per place, 2.0 twice is one mark


def test_text_keys_show_their_latest_values_after_the_charts():
    """A text key gets a small table of its newest values with how many it holds."""
    table = TextTable("phase", [("12,000", "cosine <b>"), ("11,999", "warm")], total=12_000)
    svg = render_svg([_chart()], texts=[table])
    texts = ["".join(t.itertext()) for t in ET.fromstring(svg).iter(f"{SVG}text")]
    at = texts.index("phase")
    assert texts[at : at + 6] == [
        "phase",
        "latest 2 of 12,000",
        "12,000",
        "cosine <b>",
        "11,999",
        "warm",
    ]


def test_header_legend_and_table_draw_as_text_in_their_colours():
    """A comparison's picture: a header whose status is coloured, a legend of run
    labels, a note of the shared params and a table of runs led by swatches."""
    table = Table(
        ["name", "lr •"],
        [["run-a", "0.1"], ["run-b", ("crashed", "#c62828")]],
        ["#1f77b4", "#d62728"],
        "same for all runs: hidden=64",
    )
    svg = render_svg(
        [StaticChart("loss", [Line([0, 1], [1, 0])])],
        title=[("2 runs", None), ("1 crashed", "#c62828")],
        legend=[("lr=0.1", "#1f77b4"), ("lr=0.03", "#d62728")],
        table=table,
    )
    root = ET.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert texts[0] == "2 runs · 1 crashed"
    assert texts[1:3] == ["lr=0.1", "lr=0.03"]
    assert texts[3:10] == ["same for all runs: hidden=64", "name", "lr •", "run-a", "0.1"] + [
        "run-b",
        "crashed",
    ]
    fills = {"".join(t.itertext()): t.get("fill") for t in root.iter(f"{SVG}text")}
    assert fills["crashed"] == "#c62828"
    swatches = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.get("width") == "12"]
    assert swatches == ["#1f77b4", "#d62728"]
