"""make access-diff: who gains or loses which dataset at which access between the config at a git ref and now, for
the config changes a pull request makes."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config.loader import parse_config
from tests.conftest import EXAMPLE
from tools import access_diff

BASE = EXAMPLE.read_text()


def _diff(edit: str, new: str, count: int = 1) -> list[str]:
    assert edit in BASE, edit
    head = BASE.replace(edit, new, count)
    return access_diff.render(access_diff.changes(parse_config(BASE), parse_config(head)))


REPORTING = "          sales: read\n"


@pytest.mark.parametrize(
    ("edit", "new", "expected"),
    [
        # a grant added
        (
            REPORTING,
            "          sales: read\n          events: read\n",
            ["prod:", "  + reporting gains events (read)"],
        ),
        # widened
        (
            REPORTING,
            "          sales: read-write\n",
            ["prod:", "  + reporting widens sales: read -> read-write"],
        ),
        # narrowed: only removes
        (
            "grants: {events: read-write, orders: read-write}",
            "grants: {events: read, orders: read-write}",
            [
                "only removes access: nobody gains a dataset or a wider access",
                "prod:",
                "  - ingest narrows events: read-write -> read",
            ],
        ),
        # removed
        (
            REPORTING,
            "",
            [
                "only removes access: nobody gains a dataset or a wider access",
                "prod:",
                "  - reporting loses sales (was read)",
            ],
        ),
        # given an end
        (
            "grants: {events: read-write, orders: read-write}",
            "grants: {events: read-write, orders: {access: read-write, until: 2031-06-30}}",
            [
                "only removes access: nobody gains a dataset or a wider access",
                "prod:",
                "  - ingest's orders (read-write) now ends sooner: until 2031-07-01T00:00:00Z (was with no end)",
            ],
        ),
        # extended
        (
            "until: 2031-03-31",
            "until: 2031-09-30",
            [
                "prod:",
                "  + reporting's reference (read) is extended: until 2031-10-01T00:00:00Z (was until "
                "2031-04-01T00:00:00Z)",
            ],
        ),
        # its end taken away: it never ends
        (
            "            until: 2031-03-31 #",
            "            #",
            ["prod:", "  + reporting's reference (read) is extended: with no end (was until 2031-04-01T00:00:00Z)"],
        ),
    ],
)  # fmt: skip
def test_a_grant_added_widened_narrowed_or_removed_is_one_line(edit, new, expected):
    assert _diff(edit, new) == expected


def test_a_consumer_added_and_one_removed():
    lines = _diff(
        "      - name: ingest          #",
        '      - {name: audit, account: "888888888888", region: eu-west-1, grants: {sales: read}}\n'
        "      - name: ingest          #",
    )
    assert lines == ["prod:", "  + consumer audit added (account 888888888888)", "  + audit gains sales (read)"]
    head = (
        BASE.split("      - name: ingest          #")[0]
        + BASE.split("grants: {events: read-write, orders: read-write}\n")[1]
    )
    removed = access_diff.render(access_diff.changes(parse_config(BASE), parse_config(head)))
    assert removed == [
        "only removes access: nobody gains a dataset or a wider access",
        "prod:",
        "  - consumer ingest removed: it loses every dataset",
        "  - ingest loses events (was read-write)",
        "  - ingest loses orders (was read-write)",
    ]


def test_a_dataset_renamed_is_removed_and_added_and_its_consumers_lose_and_gain_it():
    head = (
        BASE.replace("      - name: reference       #", "      - name: lookups         #")
        .replace("reference: read", "lookups: read")
        .replace("          reference:   ", "          lookups:   ")
    )
    lines = access_diff.render(access_diff.changes(parse_config(BASE), parse_config(head)))
    assert lines == [
        "prod:",
        "  + dataset lookups added",
        "  - dataset reference removed (a bucket or table of its own stays, retained)",
        "  + analytics gains lookups (read)",
        "  - analytics loses reference (was read)",
        "  + reporting gains lookups (read, until 2031-04-01T00:00:00Z)",
        "  - reporting loses reference (was read)",
    ]


def test_an_own_role_added_is_a_trust_change():
    lines = _diff("roles: [service-role/athena-analyst]", "roles: [service-role/athena-analyst, glue-etl]")
    assert lines == ["prod:", "  + analytics's own role glue-etl is admitted to its datasets"]


def test_no_change_says_so():
    assert access_diff.render(access_diff.changes(parse_config(BASE), parse_config(BASE))) == [
        "no access changes: every consumer keeps exactly what it had"
    ]


def _repository(tmp_path: Path) -> Path:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "config.yaml").write_text(BASE)
    git("init", "-q", "-b", "main")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "add", "config.yaml")
    git("-c", "user.email=a@b.c", "-c", "user.name=t", "commit", "-q", "-m", "base")
    return tmp_path


def test_the_command_compares_the_config_at_a_ref_with_the_file_and_says_a_bad_ref_in_one_line(
    tmp_path, monkeypatch, capsys
):
    root = _repository(tmp_path)
    (root / "config.yaml").write_text(BASE.replace(REPORTING, "          sales: read-write\n"))
    monkeypatch.setattr(access_diff, "ROOT", root)
    monkeypatch.chdir(root)
    assert access_diff.main(["--base", "main", "--config", "config.yaml"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "access changes of config.yaml since main:",
        "prod:",
        "  + reporting widens sales: read -> read-write",
    ]
    assert access_diff.main(["--base", "no-such-ref", "--config", "config.yaml"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("error: config.yaml at no-such-ref:")


def test_a_grant_that_has_ended_gives_nothing_so_taking_it_out_changes_nothing():
    # The base may hold a grant whose end has passed (a config of before): it is read, and gives nothing.
    after_its_end = datetime(2031, 4, 1, tzinfo=UTC)
    head = (
        BASE.replace("          reference:   ", "          #reference:   ")
        .replace("            access: read      #", "            #")
        .replace("            until: 2031-03-31 #", "            #")
    )
    assert access_diff.render(access_diff.changes(parse_config(BASE), parse_config(head), at=after_its_end)) == [
        "no access changes: every consumer keeps exactly what it had"
    ]
    assert access_diff.render(access_diff.changes(parse_config(BASE), parse_config(head))) == [
        "only removes access: nobody gains a dataset or a wider access",
        "prod:",
        "  - reporting loses reference (was read)",
    ]


def test_a_consumer_group_added_its_units_widened_and_removed_are_each_a_line():
    """A group admits every account of its units: adding one, or a unit to it, is what an approval must show."""
    fleet = Path(__file__).parents[2] / "config" / "fleet.yaml"
    base = fleet.read_text()
    no_group = parse_config(base.split("    consumer_groups:\n")[0])
    group = parse_config(base)
    added = access_diff.render(access_diff.changes(no_group, group))
    assert added[:3] == [
        "prod:",
        "  + consumer group branches added (organizational units ou-ab12-11111111, ou-ab12-22222222)",
        "  + branches gains reference (read, until 2031-04-01T00:00:00Z)",
    ]
    assert "  + branches gains sales (read)" in added
    wider = parse_config(base.replace("[ou-ab12-11111111, ou-ab12-22222222]", "[ou-ab12-11111111, ou-ab12-33333333]"))
    assert access_diff.render(access_diff.changes(group, wider)) == [
        "prod:",
        "  + consumer group branches moves from organizational units ou-ab12-11111111, ou-ab12-22222222 to "
        "organizational units ou-ab12-11111111, ou-ab12-33333333",
    ]
    removed = access_diff.render(access_diff.changes(group, no_group))
    assert "  - consumer group branches removed: it loses every dataset" in removed
