"""The CLI's files and progress (issue 13, point 9): the compliance CSV in the Danish Excel
dialect (`--csv-dialect excel-da`, SAGSFLOW_CSV_DIALECT), and the progress bars of `demo`,
`rulebook migrate` and `audit verify --replay`, drawn on stderr only when it is a terminal.

The terminal is a pseudo-terminal (`pty`) on the command's stderr, its stdout a pipe: what a
person sees and what a script reads, from one run.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import pty
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # for the reader only: helpers come as fixtures (see conftest.py)
    from tests.e2e.conftest import Sagsflow

BOM = b"\xef\xbb\xbf"
# The progress bars' labels in English (the tests' SAGSFLOW_LANG).
LABELS = (
    "Loading demo cases",
    "Moving open cases to another rulebook version",
    "Replaying cases from the audit trail",
)
SQLITE_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("sqlite", id="sqlite")], indirect=True
)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("sagsflow")
    if script.exists():
        return [str(script)]
    found = shutil.which("sagsflow")
    return [found] if found else [sys.executable, "-m", "sagsflow.cli"]


def on_a_terminal(cli: Sagsflow, *args: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run `sagsflow ARGS` with stderr on a pseudo-terminal and stdout a pipe: the run (its
    stdout) and everything the terminal was sent."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAGSFLOW_")}
    env.update(
        SAGSFLOW_DATABASE_URL=cli.database_url,
        SAGSFLOW_LANG="en",
        SAGSFLOW_ORG_FILE=str(Path(__file__).with_name("organisation.yaml")),
        TERM="xterm-256color",
        COLUMNS="200",
        NO_COLOR="1",
    )
    env.update(dict(cli.settings))
    primary, secondary = pty.openpty()
    shown = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal's other end closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            [*_command(), *args],
            cwd=cli.cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=secondary,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(secondary)
        reader.join(timeout=10)
        os.close(primary)
    return done, shown.decode("utf-8", "replace")


def no_progress(*texts: str) -> bool:
    """No label, no carriage return and no terminal escape in any of `texts`."""
    return not any(label in text for label in LABELS for text in texts) and not any(
        "\r" in text or "\x1b" in text for text in texts
    )


def compliance(cli: Sagsflow, out: Path, *options: str) -> bytes:
    cli.json(
        "report", "compliance", "--period", "2026-03", "--out", str(out),
        "--now", "2026-05-04T12:00:00+02:00", *options,
    )  # fmt: skip
    return (out / "compliance-2026-03.csv").read_bytes()


def rows_of(body: bytes, delimiter: str) -> list[dict[str, str]]:
    text = body.removeprefix(BOM).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


@SQLITE_ONLY
def test_the_compliance_csv_in_danish_excel_by_option_and_by_setting(
    sagsflow: Sagsflow, tmp_path: Path
) -> None:
    cli = sagsflow
    # Given two professionals' notifications to team t1 on Friday 27 March 2026 10:00, each
    # due a 24-hour assessment by 28 March 10:00: one assessed at 12:00 (on time), one never
    # (late) → March's share for team t1 and the municipality is 1/2
    for number, assessed in ((1, True), (2, False)):
        case = cli.open_case(
            aware_at="2026-03-27T10:00:00+01:00",
            source="notification",
            notifier="professional",
            child_ref=f"BARN-000{number}",
            worker="rw1",
            team="t1",
        )["id"]
        if assessed:
            cli.fire(case, "assess_urgency", "2026-03-27T12:00:00+01:00", {"acute": False})

    # When March's report is written by default, with --csv-dialect excel-da, and with the
    # setting SAGSFLOW_CSV_DIALECT=excel-da
    standard = compliance(cli, tmp_path / "standard")
    excel = compliance(cli, tmp_path / "excel", "--csv-dialect", "excel-da")
    by_setting = compliance(
        dataclasses.replace(cli, settings=(("SAGSFLOW_CSV_DIALECT", "excel-da"),)),
        tmp_path / "setting",
    )

    # Then the default is commas and decimal points, without a byte-order mark
    assert not standard.startswith(BOM)
    [t1] = [r for r in rows_of(standard, ",") if r["team"] == "t1"]
    assert t1["urgent_assessment_share"] == "0.5000"
    # and the Excel file has the mark, CRLF line ends, semicolons and decimal commas
    assert excel.startswith(BOM)
    assert excel.count(b"\n") == excel.count(b"\r\n") >= 2
    rows = rows_of(excel, ";")
    [t1] = [r for r in rows if r["team"] == "t1"]
    [municipality] = [r for r in rows if r["scope"] == "municipality"]
    for row in (t1, municipality):
        assert (row["urgent_assessment_on_time"], row["urgent_assessment_late"]) == ("1", "1")
        assert row["urgent_assessment_share"] == "0,5000"
    # and the setting writes the very same file
    assert by_setting == excel
    # and the option overrides the setting
    standard_again = compliance(
        dataclasses.replace(cli, settings=(("SAGSFLOW_CSV_DIALECT", "excel-da"),)),
        tmp_path / "asked",
        "--csv-dialect",
        "standard",
    )
    assert standard_again == standard


def test_an_unknown_csv_dialect_is_refused_in_one_line(
    sagsflow_without_database: Sagsflow, tmp_path: Path
) -> None:
    reason = sagsflow_without_database.fails(
        "report", "compliance", "--period", "2026-03", "--out", str(tmp_path),
        "--csv-dialect", "excel",
    )  # fmt: skip
    assert "--csv-dialect" in reason and "excel-da" in reason
    assert not (tmp_path / "compliance-2026-03.csv").exists()


@SQLITE_ONLY
def test_no_progress_is_shown_in_a_pipe_or_with_json(sagsflow: Sagsflow) -> None:
    # When the demo and the replay run with stdout and stderr pipes, with and without --json
    loaded = sagsflow.run("demo", "--cases", "12", "--json")
    assert loaded.returncode == 0, loaded.stderr
    # Then the JSON answer is the whole of stdout and no bar was drawn anywhere
    assert json.loads(loaded.stdout)["loaded"] is True
    assert no_progress(loaded.stdout, loaded.stderr)
    plain = sagsflow.run("demo", "--cases", "3")
    replayed = sagsflow.run("audit", "verify", "--replay")
    as_json = sagsflow.run("audit", "verify", "--replay", "--json")
    assert (plain.returncode, replayed.returncode, as_json.returncode) == (0, 0, 0)
    assert json.loads(as_json.stdout)["cases_checked"] == 15
    assert no_progress(plain.stdout, plain.stderr, replayed.stdout, replayed.stderr)
    assert no_progress(as_json.stdout, as_json.stderr)


@SQLITE_ONLY
def test_a_progress_bar_is_drawn_on_a_terminal_and_never_on_stdout(sagsflow: Sagsflow) -> None:
    # When the demo loads with stderr on a terminal
    loaded, terminal = on_a_terminal(sagsflow, "demo", "--cases", "12")

    # Then the terminal shows the bar, and stdout holds only the summary
    assert loaded.returncode == 0, terminal
    assert "Loading demo cases" in terminal
    assert no_progress(loaded.stdout)

    # And so does the replay; with --json it shows none, and stdout is the JSON answer
    replayed, terminal = on_a_terminal(sagsflow, "audit", "verify", "--replay")
    assert replayed.returncode == 0, terminal
    assert "Replaying cases from the audit trail" in terminal
    assert no_progress(replayed.stdout)
    as_json, terminal = on_a_terminal(sagsflow, "audit", "verify", "--replay", "--json")
    assert json.loads(as_json.stdout)["cases_checked"] == 12
    assert no_progress(terminal)

    # And a migration's preview of a case pinned to the older rulebook version
    sagsflow.open_case(
        aware_at="2023-12-31T10:00:00+01:00", source="notification", notifier="professional"
    )
    moved, terminal = on_a_terminal(
        sagsflow, "rulebook", "migrate", "--to", "default@2024.1", "--dry-run"
    )
    assert moved.returncode == 0, terminal
    assert "Moving open cases to another rulebook version" in terminal
    assert no_progress(moved.stdout)
