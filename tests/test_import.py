"""``manage.py journeys_import_contacts``: real CSV files in tmp_path, a real database."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests import strategies
from wagtail_journeys.importer import InvalidFile, import_contacts
from wagtail_journeys.inputs import json_problem, text_problem
from wagtail_journeys.models import Contact

pytestmark = pytest.mark.django_db

HEADER = (
    "email,first_name,last_name,civility,birth_date,phone,locale,timezone,"
    "email_status,sms_opt_in,tags,attr:member_since"
)


def run(tmp_path, text: str, *args, encoding="utf-8", name="contacts.csv"):
    """Import ``text`` as a file; return (stdout, stderr)."""
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    out, err = io.StringIO(), io.StringIO()
    call_command("journeys_import_contacts", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_valid_rows_create_contacts_with_every_field(tmp_path):
    out, err = run(
        tmp_path,
        f"{HEADER}\n"
        "Alice@Example.com,Alice,Martin,Mrs,1990-04-01,+33612345678,fr-FR,Europe/Paris,"
        "pending,yes,horror; stephen-king,2019\n"
        "bob@example.com,Bob,,,,,,,,,,\n",
    )
    alice = Contact.objects.get(email="alice@example.com")
    assert (alice.first_name, alice.last_name, alice.civility) == ("Alice", "Martin", "mrs")
    assert alice.birth_date == dt.date(1990, 4, 1)
    assert (alice.phone, alice.locale, alice.timezone) == ("+33612345678", "fr-FR", "Europe/Paris")
    assert alice.email_status == "pending" and alice.sms_opt_in is True
    assert set(alice.tags.names()) == {"horror", "stephen-king"}
    assert alice.attributes == {"member_since": "2019"}
    bob = Contact.objects.get(email="bob@example.com")
    assert bob.email_status == "subscribed"  # DEFAULT_EMAIL_STATUS for new contacts
    assert "created 2, updated 0, unchanged 0, merged 0 repeated emails, rejected 0 of 2" in out


def test_semicolons_bom_and_header_case(tmp_path):
    run(
        tmp_path,
        "\ufeffEMAIL;First_Name;Tags;Attributes\n"
        'zoe@example.com;Zoé;a,b;"{""plan"": ""gold"", ""seats"": 3}"\n',
    )
    zoe = Contact.objects.get()
    assert zoe.first_name == "Zoé"
    assert set(zoe.tags.names()) == {"a", "b"}
    assert zoe.attributes == {"plan": "gold", "seats": 3}


def test_update_merges_attributes_adds_tags_and_keeps_consent(tmp_path):
    contact = Contact.objects.create(
        email="kept@example.com",
        first_name="Old",
        email_status="unsubscribed",
        attributes={"source": "shop", "member_since": "2001"},
    )
    contact.tags.add("classic")
    out, _ = run(
        tmp_path,
        "email,first_name,email_status,tags,attr:member_since\n"
        "kept@example.com,New,,thriller,2019\n",
    )
    contact.refresh_from_db()
    assert contact.email_status == "unsubscribed"
    assert contact.first_name == "New"
    assert contact.attributes == {"source": "shop", "member_since": "2019"}
    assert set(contact.tags.names()) == {"classic", "thriller"}
    assert "created 0, updated 1, unchanged 0" in out


def test_an_explicit_email_status_cell_changes_consent(tmp_path):
    Contact.objects.create(email="back@example.com", email_status="unsubscribed")
    run(tmp_path, "email,email_status\nback@example.com,Subscribed\n")
    assert Contact.objects.get().email_status == "subscribed"


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    text = f"{HEADER}\nsame@example.com,Sam,Lee,mr,1980-01-02,,en,UTC,,no,x;y,2020\n"
    run(tmp_path, text)
    before = Contact.objects.values().get()
    out, _ = run(tmp_path, text)
    assert Contact.objects.values().get() == before
    assert "created 0, updated 0, unchanged 1" in out


BAD_ROWS = [
    ("email", "not-an-email", "is not a valid email address"),
    ("email", "", "email is empty"),
    ("birth_date", "1990-13-01", "is not a date (YYYY-MM-DD)"),
    ("birth_date", "01/04/1990", "is not a date (YYYY-MM-DD)"),
    ("birth_date", "2999-01-01", "is in the future"),
    ("timezone", "Mars/Olympus", "is not an IANA timezone"),
    ("civility", "sir", "civility 'sir' is not one of"),
    ("email_status", "maybe", "email_status 'maybe' is not one of"),
    ("sms_opt_in", "perhaps", "sms_opt_in 'perhaps' is not one of"),
    ("locale", "not a locale", "is not a locale"),
    ("first_name", "x" * 151, "first_name is longer than 150 characters"),
    ("phone", "1" * 33, "phone is longer than 32 characters"),
    ("tags", "ok;" + "t" * 101, "is longer than 100 characters"),
    ("attributes", "[1]", "attributes must be a JSON object"),
    ("attributes", "{nope", "attributes is not valid JSON"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_ROWS)
def test_bad_rows_are_rejected_with_line_and_reason(tmp_path, column, value, reason):
    rows = [
        {"email": "first@example.com"},
        {"email": "bad@example.com", "first_name": "Never", column: value},
        {"email": "last@example.com"},
    ]
    path = tmp_path / "contacts.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, list(dict.fromkeys(["email", "first_name", column])))
        writer.writeheader()
        writer.writerows(rows)
    out, err = io.StringIO(), io.StringIO()
    call_command("journeys_import_contacts", str(path), stdout=out, stderr=err)
    assert "line 3: " in err.getvalue()
    assert reason in err.getvalue()
    assert set(Contact.objects.values_list("email", flat=True)) == {
        "first@example.com",
        "last@example.com",
    }
    assert "created 2" in out.getvalue() and "rejected 1 of 3 rows" in out.getvalue()


def test_a_rejected_row_leaves_its_contact_untouched(tmp_path):
    Contact.objects.create(email="whole@example.com", first_name="Before", timezone="UTC")
    run(
        tmp_path,
        "email,first_name,timezone,tags\nwhole@example.com,After,Nowhere/Land,new-tag\n",
    )
    contact = Contact.objects.get()
    assert (contact.first_name, contact.timezone) == ("Before", "UTC")
    assert not contact.tags.exists()


def test_line_numbers_count_physical_lines(tmp_path):
    _, err = run(
        tmp_path,
        'email,first_name\n\nok@example.com,"two\nlines"\nbad,x\n',
    )
    assert "line 5: 'bad' is not a valid email address." in err
    assert Contact.objects.get().first_name == "two\nlines"


def test_wrong_number_of_cells_is_rejected(tmp_path):
    _, err = run(tmp_path, "email,first_name\na@example.com,A,extra\nb@example.com\n")
    assert "line 2: 3 cells, but the header has 2 columns." in err
    assert "line 3: 1 cells, but the header has 2 columns." in err
    assert not Contact.objects.exists()


def test_repeated_emails_are_merged_in_file_order(tmp_path):
    out, _ = run(
        tmp_path,
        "email,first_name,last_name,tags,attr:a,attr:b\n"
        "dup@example.com,First,Kept,one,1,\n"
        "other@example.com,,,,,\n"
        "DUP@example.com,Second,,two,,2\n",
        "--batch-size=1",
    )
    dup = Contact.objects.get(email="dup@example.com")
    assert (dup.first_name, dup.last_name) == ("Second", "Kept")
    assert dup.attributes == {"a": "1", "b": "2"}
    assert set(dup.tags.names()) == {"one", "two"}
    assert "created 2, updated 0, unchanged 0, merged 1 repeated emails" in out


def test_repeated_emails_merge_within_one_batch_too(tmp_path):
    run(tmp_path, "email,first_name,tags\nd@example.com,A,x\nd@example.com,B,x;y\n")
    contact = Contact.objects.get()
    assert contact.first_name == "B"
    assert sorted(contact.tags.names()) == ["x", "y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("email,fist_name\na@example.com,A\n", "Unknown column(s): 'fist_name'"),
        ("first_name\nAlice\n", "no 'email' column"),
        ("email,Email\na@example.com,b@example.com\n", "Repeated column(s): 'email'"),
        ("email,attr:\na@example.com,1\n", "needs a key"),
        ("", "The file is empty"),
    ],
)
def test_a_bad_header_is_fatal_and_writes_nothing(tmp_path, text, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(tmp_path, text)
    assert not Contact.objects.exists()


def test_unreadable_files_are_fatal(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("journeys_import_contacts", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="is not UTF-8"):
        run(tmp_path, "email,first_name\nz@example.com,Zoé\n", encoding="latin-1")


def test_rejects_file_lists_line_reason_and_cells(tmp_path):
    rejects = tmp_path / "rejects.csv"
    run(
        tmp_path,
        "email,timezone\ngood@example.com,UTC\nbad@,UTC\nalso@example.com,Nowhere\n",
        "--rejects",
        str(rejects),
    )
    with rejects.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["line", "reason", "email", "timezone"]
    assert rows[1] == ["3", "'bad@' is not a valid email address.", "bad@", "UTC"]
    assert rows[2][0] == "4" and "Nowhere" in rows[2][1]
    assert len(rows) == 3


def test_dry_run_writes_nothing_but_reports_counts(tmp_path):
    Contact.objects.create(email="old@example.com", first_name="Old")
    out, _ = run(
        tmp_path,
        "email,first_name,tags\nold@example.com,Renamed,t\nnew@example.com,New,t\nx,,\n",
        "--dry-run",
    )
    assert list(Contact.objects.values_list("email", "first_name")) == [("old@example.com", "Old")]
    assert not Contact.objects.get().tags.exists()
    assert "Dry run, nothing written" in out
    assert "created 1, updated 1, unchanged 0, merged 0 repeated emails, rejected 1 of 3" in out


def test_progress_is_drawn_on_stderr(tmp_path):
    rows = "".join(f"p{i}@example.com\n" for i in range(25))
    out, err = run(tmp_path, f"email\n{rows}", "--batch-size=10")
    assert "[########################] 100%  25 rows" in err
    assert "rows/s" in err
    assert "rows/s" not in out
    _, quiet = run(tmp_path, f"email\n{rows}", "--no-progress")
    assert quiet == ""


def test_many_rejections_are_summarised_on_stderr(tmp_path):
    rows = "".join(f"bad{i}\n" for i in range(150))
    _, err = run(tmp_path, f"email\n{rows}", "--no-progress")
    assert err.count("is not a valid email address") == 100
    assert "more rejected rows are not shown here; use --rejects FILE.csv." in err


def test_rows_and_tags_span_batches(tmp_path):
    rows = "".join(f"b{i}@example.com,t{i % 3};shared\n" for i in range(25))
    out, _ = run(tmp_path, f"email,tags\n{rows}", "--batch-size=7")
    assert Contact.objects.count() == 25
    assert Contact.objects.filter(tags__name="shared").count() == 25
    assert "created 25" in out


def test_import_contacts_reads_any_iterable_of_lines():
    rejected = []
    report = import_contacts(
        ["email,civility\n", "a@example.com,Dr.\n", "b@example.com,king\n"],
        on_reject=rejected.append,
    )
    assert (report.created, report.rejected) == (1, 1)
    assert Contact.objects.get().civility == "dr"
    assert rejected[0].line == 3 and rejected[0].cells == ["b@example.com", "king"]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_redraws_in_place_on_a_terminal_at_most_every_interval():
    from wagtail_journeys.management.progress import ProgressBar

    now = [0.0]
    terminal = Terminal()
    bar = ProgressBar(terminal, total_bytes=1000, interval=0.2, width=10, clock=lambda: now[0])
    now[0] = 1.0
    bar.update(rows=500, bytes_read=500)
    bar.update(rows=600, bytes_read=600)  # too soon: not drawn
    now[0] = 2.0
    bar.finish(rows=1000, bytes_read=1000)
    assert terminal.getvalue() == (
        "\r\x1b[2K[#####-----]  50%  500 rows  500 rows/s  1.0 s"
        "\r\x1b[2K[##########] 100%  1,000 rows  500 rows/s  2.0 s\n"
    )


def test_the_documented_csv_example_imports_cleanly(tmp_path):
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs/how-to/import-contacts.md").read_text()
    example = doc.split("```csv\n", 1)[1].split("```", 1)[0]
    out, err = run(tmp_path, example, "--no-progress")
    assert err == ""
    assert "created 2" in out and "rejected 0" in out


def test_the_example_sites_sample_rejects_what_the_docs_say(tmp_path):
    from pathlib import Path

    sample = Path(__file__).parent.parent / "example_site/contacts-sample.csv"
    Contact.objects.create(email="alice.martin0@example.com")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "journeys_import_contacts",
        str(sample),
        "--dry-run",
        "--no-progress",
        stdout=out,
        stderr=err,
    )
    assert err.getvalue().splitlines() == [
        "line 5: 'not-an-address' is not a valid email address.",
        "line 6: birth_date '1985-02-30' is not a date (YYYY-MM-DD).",
    ]
    assert out.getvalue().strip() == (
        "Dry run, nothing written: would have created 2, updated 1, unchanged 0, "
        "merged 0 repeated emails, rejected 2 of 5 rows."
    )


def test_progress_bar_clears_its_line_for_a_message_and_redraws_at_once():
    from wagtail_journeys.management.progress import ProgressBar

    now = [0.0]
    terminal = Terminal()
    bar = ProgressBar(terminal, total_bytes=10, interval=60, width=2, clock=lambda: now[0])
    now[0] = 1.0
    bar.update(rows=1, bytes_read=5)
    bar.clear()
    terminal.write("line 2: bad\n")
    bar.update(rows=2, bytes_read=10)
    assert terminal.getvalue().split("\r\x1b[2K") == [
        "",
        "[#-]  50%  1 rows  1 rows/s  1.0 s",
        "line 2: bad\n",
        "[##] 100%  2 rows  2 rows/s  1.0 s",
    ]


def test_an_unwritable_rejects_file_is_fatal_before_importing(tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        run(tmp_path, "email\na@example.com\n", "--rejects", str(tmp_path / "no/such/dir.csv"))
    assert not Contact.objects.exists()


# Hostile files: nothing is written before the whole file is known to be readable, and a
# bad cell rejects its row (with its line) instead of crashing the batch it is in.


def test_a_non_utf8_byte_late_in_the_file_stops_the_import_before_any_write(tmp_path):
    good = "".join(f"late{i}@example.com,Name{i}\n" for i in range(1500))
    data = f"email,first_name\n{good}".encode() + b"bad@example.com,Z\xe9\n" + b"z@example.com,Z\n"
    with pytest.raises(CommandError) as raised:
        run(tmp_path, data, "--no-progress")
    message = str(raised.value)
    assert "Line 1,502" in message and "not UTF-8" in message and "0xE9" in message
    assert "Nothing was imported" in message
    assert not Contact.objects.exists()


def test_a_non_utf8_byte_split_across_read_chunks_names_its_line(tmp_path):
    from wagtail_journeys.contact_rows import InvalidFile, check_utf8

    data = b"email\r\n" + b"a@example.com\r\n" * 3 + "é".encode()[:1] + b"\r\nz@example.com\n"
    with pytest.raises(InvalidFile, match="Line 5 is not UTF-8"):
        check_utf8(io.BytesIO(data), chunk_size=4)
    check_utf8(io.BytesIO("email\rzoé@example.com\r".encode()), chunk_size=3)  # no error


def test_a_nul_in_a_cell_rejects_that_row_and_keeps_the_rest_of_its_batch(tmp_path):
    rejects = tmp_path / "rejects.csv"
    out, err = run(
        tmp_path,
        "email,first_name,attr:note\n"
        "a@example.com,Ann,ok\n"
        "nul@example.com,N\x00ul,ok\n"
        "b@example.com,Bob,x\x00y\n"
        'c@example.com,Cy,"{""k"": ""\\u0000""}"\n'
        "d@example.com,Di,fine\n",
        "--no-progress",
        "--rejects",
        str(rejects),
    )
    assert "line 3: first_name contains a NUL character." in err
    assert "line 4: attr:note contains a NUL character." in err
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "c@example.com",
        "d@example.com",
    ]
    assert "created 3" in out and "rejected 2 of 5 rows" in out
    with rejects.open(newline="") as f:
        rows = list(csv.reader(f))
    assert [row[0] for row in rows[1:]] == ["3", "4"]
    assert rows[1][3] == "N\x00ul"  # the cells as read, so the row can be fixed


BAD_ATTRIBUTES = [
    ('{"n": 1e400}', "attributes contains a number that is not finite."),
    ('{"n": NaN}', "attributes contains a number that is not finite."),
    ('{"n": -Infinity}', "attributes contains a number that is not finite."),
    ('{"n": 100000000000000000000}', "attributes contains a number too large"),
    ('{"n": "a\\u0000b"}', "attributes contains a NUL character."),
    ('{"n": "\\ud800"}', "attributes contains an unpaired surrogate"),
    ('{"\\u0000": 1}', "attributes has a key that contains a NUL character."),
    ("[" * 3000 + "]" * 3000, "attributes is nested too deeply"),
    ('{"a": ' * 20 + "1" + "}" * 20, "attributes is nested too deeply"),
    ('{"n": ' + "9" * 5000 + "}", "attributes contains a number too large"),
]


@pytest.mark.parametrize(("value", "reason"), BAD_ATTRIBUTES)
def test_attributes_that_cannot_be_stored_reject_their_row(tmp_path, value, reason):
    path = tmp_path / "contacts.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([["email", "attributes"], ["bad@example.com", value]])
        writer.writerow(["good@example.com", '{"seats": 3, "amount": -12.5}'])
    out, err = io.StringIO(), io.StringIO()
    call_command("journeys_import_contacts", str(path), "--no-progress", stdout=out, stderr=err)
    assert f"line 2: {reason}" in err.getvalue()
    assert list(Contact.objects.values_list("email", "attributes")) == [
        ("good@example.com", {"seats": 3, "amount": -12.5})
    ]


def test_over_long_cells_and_lines_reject_their_row_with_its_line(tmp_path):
    out, err = run(
        tmp_path,
        "email,attr:bio\n"
        f"long@example.com,{'b' * 10_001}\n"
        f"huge@example.com,{'h' * 200_000}\n"
        f"wide@example.com,{',' * 1_100_000}\n"
        "ok@example.com,short\n",
        "--no-progress",
    )
    lines = err.splitlines()
    assert lines[0] == "line 2: attr:bio is longer than 10,000 characters."
    assert lines[1].startswith("line 3: ") and "longer than" in lines[1]
    assert lines[2].startswith("line 4: the row is longer than 1,000,000 characters")
    assert list(Contact.objects.values_list("email", flat=True)) == ["ok@example.com"]
    assert "rejected 3 of 4 rows" in out


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("email," + "x" * 200_000, "The header row cannot be read: a cell is longer than"),
        ("email,first_name," + "y" * 1_048_576, "The header row is longer than 1,000,000"),
        ("email," + ",".join(f"attr:k{i}" for i in range(5000)), "5,001 columns"),
        ("email,attr:" + "k" * 101, "is longer than 100 characters"),
        ("email,attr:a\x00", "contains a NUL character"),
        ("email," + ",".join(f"x{i}" for i in range(20)), "and 10 more"),
    ],
)
def test_an_unreadable_or_huge_header_is_a_clear_error(tmp_path, header, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")) as raised:
        run(tmp_path, f"{header}\na@example.com\n", "--no-progress")
    assert len(str(raised.value)) < 2000
    assert not Contact.objects.exists()


def test_crlf_and_quoted_line_breaks_keep_line_numbers(tmp_path):
    _, err = run(
        tmp_path,
        'email,first_name\r\nok@example.com,"Ann\r\nMarie"\r\nbad\x00@example.com,B\r\n',
        "--no-progress",
    )
    assert err == "line 4: email contains a NUL character.\n"
    assert Contact.objects.get().first_name == "Ann\r\nMarie"


def test_lone_surrogates_in_lines_given_as_text_reject_their_row():
    rejected = []
    report = import_contacts(
        ["email,first_name\n", "a@example.com,\ud800x\n", "b@example.com,B\n"],
        on_reject=rejected.append,
    )
    assert (report.created, report.rejected) == (1, 1)
    assert rejected[0].line == 2
    assert rejected[0].reason == "first_name contains an unpaired surrogate (not valid Unicode)."


def test_import_contacts_reads_a_binary_file_in_two_passes(tmp_path):
    source = io.BytesIO("\ufeffemail,first_name\nzoe@example.com,Zoé\n".encode())
    report = import_contacts(source)
    assert report.created == 1
    assert Contact.objects.get().first_name == "Zoé"
    assert not source.closed
    with pytest.raises(TypeError, match="twice"):
        import_contacts(iter(["email\n", "a@example.com\n"]))


CELLS = strategies.hostile_cells(max_size=8)
ATTRIBUTES = st.one_of(
    st.sampled_from(["", '{"n": 1}', "[1]"]), st.sampled_from(strategies.JSON_CELLS)
)


@settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a@example.com", "b@example.com", "c\x00@x.io", "nope"]),
            *[CELLS] * 3,
            ATTRIBUTES,
        ),
        min_size=1,
        max_size=6,
    ),
    bad_byte=st.none() | st.sampled_from([b"\xe9", b"\xff", b"\xed\xa0\x80", b"\xc3"]),
    where=st.integers(min_value=0, max_value=5),
)
def test_hostile_files_import_storable_rows_or_nothing(rows, bad_byte, where):
    """Whatever the file holds: the import either refuses it whole before writing (it is not
    UTF-8), or writes exactly the rows it does not reject, and never crashes."""
    Contact.objects.all().delete()
    text = io.StringIO(newline="")
    csv.writer(text).writerows([["email", "first_name", "phone", "attr:note", "attributes"], *rows])
    data = text.getvalue().encode("utf-8", "surrogatepass")
    if bad_byte is not None:
        lines = data.split(b"\r\n")
        at = 1 + where % max(len(lines) - 1, 1)
        lines[at] = bad_byte + lines[at]
        data = b"\r\n".join(lines)
    rejected = []
    try:
        report = import_contacts(io.BytesIO(data), batch_size=2, on_reject=rejected.append)
    except InvalidFile as error:
        event("refused whole")
        assert "not UTF-8" in str(error)
        assert not Contact.objects.exists()
        return
    event(f"imported, {'some' if report.rejected else 'no'} rows rejected")
    assert report.rows == len(rows)
    assert report.rejected == len(rejected)
    assert [r.line for r in rejected] == sorted(r.line for r in rejected)
    for contact in Contact.objects.all():
        for value in (contact.email, contact.first_name, contact.phone):
            assert text_problem(value) is None
        assert json_problem(contact.attributes) is None


def test_the_rejects_file_without_its_two_first_columns_imports_once_fixed(tmp_path):
    rejects = tmp_path / "rejects.csv"
    run(
        tmp_path,
        "email,first_name,timezone\nok@example.com,Ok,UTC\nfix@example.com,F\x00ix,Mars/Base\n",
        "--rejects",
        str(rejects),
        "--no-progress",
    )
    with rejects.open(newline="") as f:
        rows = [row[2:] for row in csv.reader(f)]
    rows[1] = ["fix@example.com", "Fix", "Europe/Paris"]
    fixed = io.StringIO(newline="")
    csv.writer(fixed).writerows(rows)
    out, err = run(tmp_path, fixed.getvalue(), "--no-progress", name="fixed.csv")
    assert err == "" and "created 1" in out
    assert Contact.objects.get(email="fix@example.com").timezone == "Europe/Paris"


def test_a_database_failure_mid_import_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    from django.db import OperationalError

    from wagtail_journeys import importer

    write = importer._write_batch
    calls = []

    def failing(rows, *args):
        calls.append(len(rows))
        if len(calls) == 2:
            raise OperationalError("disk I/O error")
        return write(rows, *args)

    monkeypatch.setattr(importer, "_write_batch", failing)
    rows = "".join(f"d{i}@example.com\n" for i in range(5))
    with pytest.raises(CommandError, match=r"disk I/O error\. .*\(2 rows read\)"):
        run(tmp_path, f"email\n{rows}", "--batch-size=2", "--no-progress")
    assert Contact.objects.count() == 2


def test_every_changed_contact_of_a_batch_is_written(tmp_path):
    """Two existing contacts changing the same column in one batch: both are updated (the
    second one's change was once dropped and counted as unchanged)."""
    Contact.objects.create(email="x@example.com", first_name="X")
    Contact.objects.create(email="y@example.com", first_name="Y")
    out, _ = run(
        tmp_path,
        "email,first_name,attr:note\n"
        "x@example.com,Xavier,\n"
        "y@example.com,Yann,\n"
        "new@example.com,,\n"
        "new@example.com,,later\n",
        "--no-progress",
    )
    assert dict(Contact.objects.values_list("email", "first_name")) == {
        "x@example.com": "Xavier",
        "y@example.com": "Yann",
        "new@example.com": "",
    }
    assert Contact.objects.get(email="new@example.com").attributes == {"note": "later"}
    assert "created 1, updated 2, unchanged 0, merged 1 repeated emails" in out
