"""Library exports: BibTeX a real BibTeX parser reads back, CSV and JSON Lines, with hostile titles."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import bibtexparser
import pytest
from pylatexenc.latex2text import LatexNodes2Text

from bot.community.export import ExportItem, Writer, bibtex_keys, latex_escape, render
from bot.display.titles import shown_title
from storage.records import StoredPaper

HOSTILE = [
    "@everyone {Unbalanced 100% of $x_1^2$ & #1 ~ \\LaTeX",
    "}{ closing first \\ back\\slash",
    "Über Ωmega: ünïcödé 模型 — naïve",
    "x\n@article{evil,\n title={pwn}}",
    "=HYPERLINK(\"http://evil\") -1+1",
    "Deep nets",
    "Deep nets",
    "<@&123> @here ||spoiler|| **bold**",
]
AUTHORS = ["Smith and Sons Ltd.", "Doe, Jane", "José Müller", "{Brace} O'Neil_%"]


def items() -> list[ExportItem]:
    return [ExportItem(StoredPaper(i + 1, t, f"An abstract, {t}", f"2401.{i:05d}" if i % 2 else None, AUTHORS,
                                   {}, ["cs.LG"], [], None, dt.date(2024, 1, 2)),
                       saved_at=dt.datetime(2025, 9, 9, 12, i, tzinfo=dt.UTC)) for i, t in enumerate(HOSTILE)]


def test_bibtex_parses_back_with_unique_keys_and_arxiv_fields() -> None:
    text = render(items(), "bibtex")
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    assert len(library.entries) == len(HOSTILE)  # no title smuggled in an entry of its own
    keys = [e.key for e in library.entries]
    assert len(set(keys)) == len(keys) and keys[5:7] == ["smith2024deep", "smith2024deepb"]
    for n, entry in enumerate(library.entries):
        fields = entry.fields_dict
        assert entry.entry_type == "misc"
        assert fields["year"].value == "2024"
        title = fields["title"].value
        assert title.startswith("{") and title.endswith("}")
        depth = 0
        for char in title:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0
        assert depth == 0
        if n % 2:
            assert fields["eprint"].value == f"2401.{n:05d}"
            assert fields["archivePrefix"].value == "arXiv"
            assert fields["primaryClass"].value == "cs.LG"
            assert fields["url"].value == f"https://arxiv.org/abs/2401.{n:05d}"
        else:
            assert "eprint" not in fields and "archivePrefix" not in fields
        # The names: an organisation and "Last, First" each one name (braced), not split on "and".
        assert fields["author"].value.startswith("{Smith and Sons Ltd.} and {Doe, Jane} and José Müller")


@pytest.mark.parametrize("title", [t for t in HOSTILE if "^" not in t and "~" not in t])
def test_bibtex_titles_read_back_as_shown(title: str) -> None:
    """LaTeX turns each escaped title back into the text people read (TeX shown as Unicode)."""
    escaped = latex_escape(shown_title(title))
    assert LatexNodes2Text().latex_to_text(escaped) == shown_title(title)


def test_latex_specials_are_escaped() -> None:
    assert latex_escape("a_b & c% $d$ #e {f} \\g ~h ^i") == (
        r"a\_b \& c\% \$d\$ \#e \textbraceleft{}f\textbraceright{} \textbackslash{}g \textasciitilde{}h "
        r"\textasciicircum{}i")


def test_keys_stay_unique_across_batches_and_many_clashes() -> None:
    same = [items()[5]] * 30
    keys = bibtex_keys(same)
    assert len(set(keys)) == 30 and keys[1] == "smith2024deepb" and keys[26] == "smith2024deepba"
    writer = Writer("bibtex")
    text = writer.chunk(same[:3]) + writer.chunk(same[:3])
    assert len({e.key for e in bibtexparser.parse_string(text).entries}) == 6


def test_csv_round_trips_and_defuses_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(render(items(), "csv"))))
    assert [r["title"].removeprefix("'") for r in rows] == [shown_title(t) for t in HOSTILE]
    assert rows[0]["title"].startswith("'@everyone") and rows[4]["title"].startswith("'=HYPERLINK")
    assert rows[1]["arxiv_id"] == "2401.00001" and rows[0]["arxiv_id"] == ""
    assert rows[0]["authors"] == "Smith and Sons Ltd.; Doe, Jane; José Müller; {Brace} O'Neil_%"
    assert rows[2]["saved_at"] == "2025-09-09T12:02:00+00:00"
    assert all("\n" not in r["title"] for r in rows)


def test_json_lines_one_object_a_line() -> None:
    lines = render(items(), "jsonl").splitlines()
    objects = [json.loads(line) for line in lines]
    assert len(objects) == len(HOSTILE)
    assert [o["title"] for o in objects] == [shown_title(t) for t in HOSTILE]
    assert objects[1]["url"] == "https://arxiv.org/abs/2401.00001" and objects[0]["url"] is None
    assert objects[0]["authors"] == AUTHORS
