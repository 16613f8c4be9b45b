"""arxiv-rss and arxiv-atom: the arXiv RSS listings and the arXiv API's Atom."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.ingest.formats import arxiv_atom, arxiv_rss
from storage.errors import ParseError
from storage.records import ParsedDigest

Run = Callable[..., tuple[str, list[ParsedDigest]]]
RSS = "arxiv-rss-sample.xml"
ATOM = "arxiv-api-sample.xml"


def text_of(fixture_path: Callable[[str], Path], name: str) -> str:
    return fixture_path(name).read_text(encoding="utf-8")


def without_items(xml: str) -> str:
    return re.sub(r"<item>.*?</item>\s*", "", xml, flags=re.DOTALL)


# -- RSS ---------------------------------------------------------------------------------------


def test_rss_sample_keeps_new_and_cross(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, [digest] = run(fixture_path(RSS))
    assert fmt == "arxiv-rss"
    assert (digest.source, digest.date, digest.format) == ("arxiv-rss:cs.LG", dt.date(2024, 7, 9), "arxiv-rss")
    assert [p.arxiv_id for p in digest.papers] == ["2407.05000", "2406.01125"]  # the replace-cross is dropped
    lora, delta = digest.papers
    assert lora.title == "LoRA-GA: Low-Rank Adaptation with Gradient Approximation"
    assert lora.abstract.startswith("Fine-tuning large-scale pretrained models is prohibitively expensive")
    assert "Announce Type" not in lora.abstract
    assert lora.authors == ["Shaowen Wang", "Linxi Yu", "Jian Li"]
    assert lora.categories == ["cs.LG", "cs.AI", "cs.CL"]
    assert lora.links == {"arxiv": "https://arxiv.org/abs/2407.05000", "pdf": "https://arxiv.org/pdf/2407.05000",
                          "github": "https://github.com/Outsider565/LoRA-GA"}
    assert delta.title.startswith("$\\Delta$-DiT:")
    assert delta.categories[0] == "cs.CV"
    assert "Christos-Savvas Bouganis" in delta.authors and len(delta.authors) == 8


def test_rss_announce_types_are_configurable(run: Run, fixture_path: Callable[[str], Path]) -> None:
    _, [digest] = run(fixture_path(RSS), announce_types=frozenset({"new", "cross", "replace-cross"}))
    [*_, qdiff] = digest.papers
    assert qdiff.arxiv_id == "2302.04304"
    # Entities are unescaped once: "&gt;100" in the XML is ">100", not re-unescaped.
    assert "compared to >100 for traditional PTQ" in qdiff.abstract
    _, [digest] = run(fixture_path(RSS), announce_types=frozenset({"replace"}))
    assert digest.papers == []


def test_rss_double_escaped_entity_stays_escaped_once(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = text_of(fixture_path, RSS).replace("LoRA-GA: Low-Rank", "LoRA-GA &amp;amp; Low-Rank")
    _, [digest] = run(xml.encode())
    assert digest.papers[0].title.startswith("LoRA-GA &amp; Low-Rank")


def test_rss_authors_with_affiliations(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = text_of(fixture_path, RSS).replace(
        "<dc:creator>Shaowen Wang, Linxi Yu, Jian Li</dc:creator>",
        "<dc:creator>Shaowen Wang (Tsinghua University, Beijing), Linxi Yu, Jian Li (IIIS, Tsinghua)</dc:creator>")
    _, [digest] = run(xml.encode())
    # The affiliations' commas do not split names, and the affiliations are not part of the names.
    assert digest.papers[0].authors == ["Shaowen Wang", "Linxi Yu", "Jian Li"]


def test_rss_empty_weekend_channel(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = without_items(text_of(fixture_path, RSS)).replace("Tue, 09 Jul 2024 00:00:00 -0400",
                                                            "Sat, 13 Jul 2024 00:00:00 -0400")
    fmt, [digest] = run(xml.encode())
    assert (fmt, digest.date, digest.papers) == ("arxiv-rss", dt.date(2024, 7, 13), [])


def test_rss_date_falls_back_to_last_build_date_then_option(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = re.sub(r"<pubDate>.*?</pubDate>", "", text_of(fixture_path, RSS))
    _, [digest] = run(xml.encode())
    assert digest.date == dt.date(2024, 7, 9)
    xml = re.sub(r"<lastBuildDate>.*?</lastBuildDate>", "", xml)
    with pytest.raises(ParseError, match="no date: the channel has no usable pubDate or lastBuildDate"):
        run(xml.encode())
    _, [digest] = run(xml.encode(), date=dt.date(2024, 7, 8), source="mine")
    assert (digest.date, digest.source) == (dt.date(2024, 7, 8), "mine")


def test_rss_id_from_description_when_guid_is_missing(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = re.sub(r"<guid[^>]*>.*?</guid>", "", text_of(fixture_path, RSS))
    _, [digest] = run(xml.encode())
    assert [p.arxiv_id for p in digest.papers] == ["2407.05000", "2406.01125"]


def test_rss_source_from_link_when_title_says_nothing(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = text_of(fixture_path, RSS).replace("<title>cs.LG updates on arXiv.org</title>", "<title>arXiv</title>")
    xml = xml.replace("http://rss.arxiv.org/rss/cs.LG<", "http://rss.arxiv.org/rss/math.OC<")
    _, [digest] = run(xml.encode())
    assert digest.source == "arxiv-rss:math.OC"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda x: x[: len(x) // 2], r"arxiv-rss-sample.xml, line \d+: invalid XML at column \d+"),
        (lambda x: x.replace("<channel>", '<!DOCTYPE r [<!ENTITY a "aaaa">]><channel>', 1),
         r"line 12: XML with a DOCTYPE or ENTITY declaration is refused"),
        (lambda x: x.replace("<title>LoRA-GA: Low-Rank Adaptation with Gradient Approximation</title>", "", 1),
         r"item 1, field 'title': missing"),
        (lambda x: x.replace("<rss ", "<rdf ", 1).replace("</rss>", "</rdf>"),
         r"expected an RSS feed \(<rss>\), found <rdf>"),
    ],
)
def test_rss_bad_input(run: Run, fixture_path: Callable[[str], Path], edit: Callable[[str], str],
                       message: str) -> None:
    with pytest.raises(ParseError, match=message):
        run(edit(text_of(fixture_path, RSS)).encode(), fmt="arxiv-rss", name="arxiv-rss-sample.xml")


def test_rss_entity_bomb_is_refused_before_parsing(run: Run) -> None:
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
            + "".join(f'<!ENTITY lol{i} "{"&lol;" * 10}">' for i in range(1, 9))
            + ']>\n<rss version="2.0"><channel><title>&lol8;</title></channel></rss>')
    with pytest.raises(ParseError, match="line 2: XML with a DOCTYPE"):
        run(bomb.encode())


def test_rss_latin1_bytes_are_not_utf8(run: Run, fixture_path: Callable[[str], Path]) -> None:
    data = text_of(fixture_path, RSS).replace("Christopher", "Chr\u00e9").encode("utf-8").replace(
        b"Shaowen", b"Sha\xe9wen")
    with pytest.raises(ParseError, match=r"input.txt, line 38: not UTF-8 text"):
        run(data, fmt="arxiv-rss")


# -- Atom --------------------------------------------------------------------------------------


def test_atom_sample(run: Run, fixture_path: Callable[[str], Path]) -> None:
    fmt, [digest] = run(fixture_path(ATOM))
    assert fmt == "arxiv-atom"
    assert (digest.source, digest.date, digest.format) == ("arxiv-api", dt.date(2026, 5, 11), "arxiv-atom")
    flash, slice_gpt, squeeze = digest.papers
    assert [p.arxiv_id for p in digest.papers] == ["2205.14135", "2401.15024", "2306.07629"]
    assert flash.title == "FlashAttention: Fast and Memory-Efficient Exact Attention with IO-Awareness"
    assert flash.authors == ["Tri Dao", "Daniel Y. Fu", "Stefano Ermon", "Atri Rudra", "Christopher Ré"]
    assert flash.published == dt.date(2022, 5, 27)  # v1, not the v2 `updated`
    assert flash.links == {"arxiv": "https://arxiv.org/abs/2205.14135", "pdf": "https://arxiv.org/pdf/2205.14135"}
    assert squeeze.categories == ["cs.CL", "cs.LG"]  # primary first
    assert slice_gpt.categories == ["cs.LG", "cs.CL"]
    assert slice_gpt.links["github"] == "https://github.com/microsoft/TransformerCompression"
    assert "3$\\times$ speedup" in flash.abstract  # LaTeX kept as written


def test_atom_pdf_link_fallback(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = re.sub(r'<link href="[^"]*" rel="related" type="application/pdf" title="pdf"/>', "",
                 text_of(fixture_path, ATOM))
    assert "title=\"pdf\"" not in xml
    _, [digest] = run(xml.encode())
    assert [p.links["pdf"] for p in digest.papers] == [
        "https://arxiv.org/pdf/2205.14135", "https://arxiv.org/pdf/2401.15024", "https://arxiv.org/pdf/2306.07629"]


def test_atom_doi_and_comment_links(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = text_of(fixture_path, ATOM).replace(
        "<arxiv:comment>ICML 2024</arxiv:comment>",
        "<arxiv:comment>ICML 2024; demo at https://squeeze.example/demo</arxiv:comment>"
        "<arxiv:doi>10.1000/xyz123</arxiv:doi>")
    _, [digest] = run(xml.encode())
    assert digest.papers[2].links["doi"] == "https://doi.org/10.1000/xyz123"
    assert digest.papers[2].links["project"] == "https://squeeze.example/demo"


def test_atom_error_entry(run: Run) -> None:
    error = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <updated>2026-05-11T00:00:00-04:00</updated>
  <entry>
    <id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title>Error</title>
    <summary>incorrect id format for 1234.12345</summary>
  </entry>
</feed>"""
    with pytest.raises(ParseError, match="the arXiv API answered an error: incorrect id format for 1234.12345"):
        run(error.encode())


def test_atom_empty_result(run: Run, fixture_path: Callable[[str], Path]) -> None:
    xml = re.sub(r"<entry>.*?</entry>\s*", "", text_of(fixture_path, ATOM), flags=re.DOTALL)
    _, [digest] = run(xml.encode(), date=dt.date(2026, 1, 1))
    assert (digest.date, digest.papers) == (dt.date(2026, 1, 1), [])


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda x: x.replace("<id>http://arxiv.org/abs/2401.15024v2</id>", "<id>nope</id>"),
         r"item 2, field 'id': expected an arXiv abs URL .* found 'nope'"),
        (lambda x: re.sub(r"<updated>2026[^<]*</updated>", "", x), r"no date: the feed has no usable <updated>"),
        (lambda x: x[:3000], r"line \d+: invalid XML"),
    ],
)
def test_atom_bad_input(run: Run, fixture_path: Callable[[str], Path], edit: Callable[[str], str],
                        message: str) -> None:
    with pytest.raises(ParseError, match=message):
        run(edit(text_of(fixture_path, ATOM)).encode(), fmt="arxiv-atom")


@pytest.mark.parametrize(
    ("module", "head", "expected"),
    [
        (arxiv_rss, "<?xml version='1.0'?>\n<rss version=\"2.0\">", True),
        (arxiv_rss, '<feed xmlns="http://www.w3.org/2005/Atom">', False),
        (arxiv_rss, "rss is a word\n", False),
        (arxiv_atom, '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">', True),
        (arxiv_atom, "<rss><channel/></rss>", False),
    ],
)
def test_sniff(module: object, head: str, expected: bool) -> None:
    assert module.sniff(head) is expected  # type: ignore[attr-defined]
