"""The HTML report: self-contained, and its metrics table agrees with evaluate_run."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from imagefolders import train_tiny_run, write_class_folders

from tlstudio.cli import main
from tlstudio.evaluation import evaluate_run
from tlstudio.evaluation.report import write_report


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return train_tiny_run(tmp_path_factory.mktemp("run"), {"red": 8, "green": 8, "blue": 8})[0]


class ReportParser(HTMLParser):
    """Collects the rows of <table id="metrics"> and <table id="averages"> as (text,
    data-value) cells, and every src/href in the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[tuple[str, str | None]]]] = {
            "metrics": [], "averages": []}
        self.metrics_rows = self.tables["metrics"]
        self.links: list[str] = []
        self.images: list[str] = []
        self.polylines = 0
        self._table: str | None = None
        self._in_body = False
        self._cell: list[str] | None = None
        self._value: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key):
                self.links.append(a[key] or "")
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "polyline":
            self.polylines += 1
        if tag == "table":
            self._table = a.get("id")
        elif tag == "tbody" and self._table in self.tables:
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[self._table or ""].append([])
        elif tag == "td" and self._in_body:
            self._cell, self._value = [], a.get("data-value")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.tables[self._table or ""][-1].append(("".join(self._cell).strip(), self._value))
            self._cell = None
        elif tag == "tbody":
            self._in_body = False
        elif tag == "table":
            self._table = None


def test_report_is_self_contained_and_matches_the_evaluation(
    trained_run: Path, tmp_path: Path
) -> None:
    # Folder names swapped against the colours so there are confident mistakes to show.
    swapped = write_class_folders(tmp_path / "swapped", {"blue": 3, "red": 3, "green": 3})
    out = write_report(trained_run, tmp_path / "out" / "report.html", data_dir=swapped)
    html = out.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(html)
    parser.close()

    result = evaluate_run(trained_run, swapped)
    rows = parser.metrics_rows
    assert [cells[0][0] for cells in rows] == list(result.classes)  # one row per class
    for cells, expected in zip(rows, result.evaluation.per_class, strict=True):
        assert len(cells) == 5
        values = (expected.precision, expected.recall, expected.f1)
        for (text, exact), value in zip(cells[1:4], values, strict=True):
            assert float(exact) == value
            assert text == f"{value:.3f}"
        assert int(cells[4][0]) == expected.support
    # Self-contained: every image is embedded and nothing points elsewhere.
    assert all(link.startswith("data:image/png;base64,") for link in parser.links)
    mistakes = result.confident_mistakes(8)
    assert mistakes and len(parser.images) == 2 * len(mistakes)  # picture + Grad-CAM each
    assert parser.polylines == 4  # train/val loss, train/val accuracy
    assert 'id="confusion"' in html and "&quot;backbone&quot;: &quot;tiny_cnn&quot;" in html
    assert not list(out.parent.glob(".*.tmp"))  # the atomic write left no temp file


def test_report_on_the_validation_split(trained_run: Path, tmp_path: Path) -> None:
    out = write_report(trained_run, tmp_path / "report.html")
    parser = ReportParser()
    parser.feed(out.read_text(encoding="utf-8"))
    assert [cells[0][0] for cells in parser.metrics_rows] == ["blue", "green", "red"]


def test_report_on_a_folder_missing_classes_averages_over_those_it_has(
    trained_run: Path, tmp_path: Path
) -> None:
    # The reviewer's case: `tlstudio report RUN --data other` where other/ holds only some
    # of the run's classes. "blue" has no images here.
    other = write_class_folders(tmp_path / "other", {"red": 4, "green": 3})
    out = tmp_path / "rep.html"
    assert main(["report", str(trained_run), "--data", str(other), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    parser = ReportParser()
    parser.feed(html)
    parser.close()

    rows = {cells[0][0]: cells[1:] for cells in parser.tables["metrics"]}
    assert list(rows) == ["blue", "green", "red"]  # still one row per class
    blue = rows["blue"]
    assert [text for text, _ in blue[1:3]] == ["\u2014", "\u2014"]  # recall, F1 undefined
    assert blue[1][1] is None and blue[2][1] is None  # no number behind them
    assert blue[3][0] == "0"
    assert blue[0][0] in ("\u2014", "0.000")  # 0 only if some image was predicted blue
    assert "No images of: blue." in html

    # The averages, recomputed from the per-class rows of the two classes with images.
    present = [[float(value) for _, value in rows[name][:3]] + [int(rows[name][3][0])]
               for name in ("green", "red")]
    averages = {cells[0][0]: [float(v) for _, v in cells[1:4]]
                for cells in parser.tables["averages"]}
    total = sum(p[3] for p in present)
    for column in range(3):
        macro = sum(p[column] for p in present) / 2
        weighted = sum(p[column] * p[3] for p in present) / total
        assert averages["macro avg"][column] == pytest.approx(macro)
        assert averages["weighted avg"][column] == pytest.approx(weighted)
    # Every image is of a class with a row: weighted recall is the accuracy.
    accuracy = evaluate_run(trained_run, other).evaluation.accuracy
    assert averages["weighted avg"][1] == pytest.approx(accuracy)
