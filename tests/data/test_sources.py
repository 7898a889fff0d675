"""Reading source CSVs: malformed rows are skipped or repaired, and reported."""

import gzip
from pathlib import Path

import pytest

from dank.data import sources
from dank.core.errors import DankError

HEADER = "template_id,top,bottom,score,score_type\n"


def read(tmp_path, text, name="captions.csv", required=("template_id",)):
    path = tmp_path / name
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    issues = sources.RowIssues(str(path))
    return list(sources.read_rows(path, required, issues)), issues


def ids(rows):
    return [r["template_id"] for r in rows]


def test_stray_quote_costs_one_row_and_names_its_line(tmp_path):
    rows, issues = read(
        tmp_path,
        HEADER
        + 't1,"STRAY QUOTE,bottom,5,up\n'  # Line 2: the quote never closes here.
        + "t2,second,row,6,up\n"
        + 't3,"HI, THERE",x,7,up\n'
        + "t4,fine,row,8,up\n",
    )
    assert ids(rows) == ["t2", "t3", "t4"]
    assert rows[1]["top"] == "HI, THERE"
    assert [line for line, _ in issues.skipped] == [2]
    assert "unbalanced quote" in issues.skipped[0][1]
    assert [line for line, _ in issues.repaired] == [3, 4]
    report = issues.to_json()
    assert (report["skipped"], report["repaired"]) == (1, 2)
    assert [r["line"] for r in report["rows"]] == [2, 3, 4]


def test_quote_open_until_end_of_file(tmp_path):
    rows, issues = read(
        tmp_path, HEADER + "t1,a,b,1,up\n" + 't2,"open,b,1,up\n' + "t3,a,b,1,up\n"
    )
    assert ids(rows) == ["t1", "t3"]
    assert [line for line, _ in issues.skipped] == [3]
    assert [line for line, _ in issues.repaired] == [4]


def test_legit_multiline_captions_and_inner_quotes_are_kept(tmp_path):
    # The tail line of a two-line caption holds a comma, so by itself it has as
    # many fields as a row: it must not be mistaken for a swallowed row.
    text = (
        HEADER
        + 't1,"WHICH CAME FIRST?\nTHE CHICKEN, OR THE EGG",,1,up\n'
        + 't2,"SAY ""HI""\nTWICE\nTHRICE",b,2,up\n'
        + 't3,a "b" c,d,3,up\n'
    )
    rows, issues = read(tmp_path, text)
    assert ids(rows) == ["t1", "t2", "t3"]
    assert rows[0]["top"] == "WHICH CAME FIRST?\nTHE CHICKEN, OR THE EGG"
    assert rows[1]["top"] == 'SAY "HI"\nTWICE\nTHRICE'
    assert rows[2]["top"] == 'a "b" c'
    assert not issues.skipped and not issues.repaired


def test_quote_closed_then_continued_is_repaired(tmp_path):
    rows, issues = read(tmp_path, HEADER + 't1,"x"y,z,1,up\n')
    assert rows[0]["top"] == "xy"
    assert [line for line, _ in issues.repaired] == [2]


def test_wrong_width_rows_are_skipped_with_line_numbers(tmp_path):
    rows, issues = read(
        tmp_path, HEADER + "t1,a,b,1,up\nshort,row\nt2,a,b,1,up,extra\n\nt3,a,b,1,up\n"
    )
    assert ids(rows) == ["t1", "t3"]
    assert [line for line, _ in issues.skipped] == [3, 4]
    assert "2 fields where the header has 5" in issues.skipped[0][1]


@pytest.mark.parametrize("name", ["captions.csv", "captions.csv.gz"])
def test_bom_is_not_part_of_the_header(tmp_path, name):
    rows, issues = read(
        tmp_path, b"\xef\xbb\xbf" + (HEADER + "t1,a,b,1,up\n").encode(), name
    )
    assert ids(rows) == ["t1"] and not issues.skipped


def test_na_like_captions_stay_text(tmp_path):
    rows, _ = read(tmp_path, HEADER + "t1,NA,null,nan,None\n")
    assert (rows[0]["top"], rows[0]["bottom"], rows[0]["score"]) == (
        "NA",
        "null",
        "nan",
    )


def test_missing_column_and_empty_file(tmp_path):
    with pytest.raises(DankError, match="lacks the column"):
        read(tmp_path, "id,top\n", required=("template_id",))
    with pytest.raises(DankError, match="lacks the column"):
        read(tmp_path, "", required=("template_id",))


def test_starter_templates_read_without_issues():
    issues = sources.RowIssues("starter")
    starter = Path(__file__).parents[2] / "data" / "starter"
    rows = sources.read_templates(starter, issues)
    assert len(rows) == 100 and not issues.skipped and not issues.repaired


def test_bytes_that_are_not_utf8_cost_their_row_only(tmp_path):
    text = (HEADER + "t1,a,b,1,up\n").encode() + b"t2,caf\xe9,b,1,up\nt3,a,b,1,up\n"
    rows, issues = read(tmp_path, text, "captions.csv.gz")
    assert ids(rows) == ["t1", "t3"]
    assert issues.skipped == [(3, "bytes that are not UTF-8 text")]
