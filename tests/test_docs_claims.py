"""What the docs say the command does, checked against the command itself.

- The options table and the synopsis of docs/command.md name every option the
  command's parser defines, and no other.
- Every request count the docs state ("makes one request", "1 GetObject + ...")
  is listed in ``CLAIMS`` with the page that states it and the operations a run
  makes, counted against the real S3 server; a count phrase in the docs that no
  claim quotes fails the test, so a new one cannot go unchecked.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from boto3.s3.transfer import TransferConfig
from django.core.management import call_command, load_command_class
from django.core.management.base import BaseCommand

from tests.helpers import ASSETS, MiB, counted, run
from tests.test_object_parameters import profiles

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
COMMAND_PAGE = ROOT / "docs" / "command.md"

Ops = dict[str, int]


def prose(path: Path) -> str:
    """A page's text with every run of white space made one space (lines are wrapped)."""
    return re.sub(r"\s+", " ", path.read_text())


# --- the options ---------------------------------------------------------------------


def option_strings(parser: Any) -> list[tuple[str, ...]]:
    return [tuple(action.option_strings) for action in parser._actions if action.option_strings]


def own_options() -> list[tuple[str, ...]]:
    """The command's options, without those every Django command has (but --verbosity,
    which collectstupid gives its own meaning)."""
    ours = load_command_class("collectstupid", "collectstupid")
    common = set(option_strings(BaseCommand().create_parser("manage.py", "base")))
    listed = option_strings(ours.create_parser("manage.py", "collectstupid"))
    return [o for o in listed if o not in common or "--verbosity" in o]


def options_table() -> list[set[str]]:
    """The option names in each row of docs/command.md's options table."""
    text = COMMAND_PAGE.read_text()
    table = text.split("## Options", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return [set(re.findall(r"`(-{1,2}[a-z][\w-]*)", cell)) for cell in rows]


def synopsis() -> str:
    return COMMAND_PAGE.read_text().split("```text\n", 1)[1].split("```", 1)[0]


def test_the_options_table_names_every_option_of_the_parser_and_no_other():
    rows = options_table()
    for names in own_options():
        assert set(names) in rows, f"docs/command.md's options table has no row for {names}"
    documented = {name for row in rows for name in row}
    defined = {name for names in own_options() for name in names}
    assert documented == defined


def test_the_synopsis_names_every_option():
    shown = set(re.findall(r"(?<![\w-])(-{1,2}[a-z][\w-]*)", synopsis()))
    for names in own_options():
        assert shown & set(names), f"docs/command.md's synopsis leaves out {names}"
    assert shown <= {name for names in own_options() for name in names}


# --- the request counts --------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """``quote``, on ``page``, states ``counts``: what the runs of ``scenario`` make
    (a scenario's run name -> the operations, exactly)."""

    page: str
    quote: str
    scenario: str
    counts: dict[str, Ops]


FILES = 20
CHANGED = 10
FIRST = {"GetObject": 1, "PutObject": FILES + 2}
NOTHING_CHANGED = {"GetObject": 1}
TEN_CHANGED = {"GetObject": 1, "PutObject": CHANGED + 2}

CLAIMS = [
    Claim(
        "docs/speed.md",
        "a deploy with nothing changed makes one request (the manifest's GetObject)",
        "smart",
        {"nothing changed": NOTHING_CHANGED},
    ),
    Claim(
        "docs/speed.md",
        "With 10 files changed it makes 13: the GetObject, the manifest written ahead of "
        "the files, the 10 files, and the manifest written after them.",
        "smart",
        {"10 changed": TEN_CHANGED},
    ),
    Claim(
        "docs/speed.md",
        "collectstupid post-processes locally (included in its time) and makes no read, "
        "exists or delete call",
        "hashed",
        {"first": {"PutObject": 2 * len(ASSETS) + 1}},
    ),
    Claim(
        "docs/smart-mode.md",
        "| first run (no manifest yet) | 1 GetObject (404) + 1 PutObject for the manifest "
        "ahead of the uploads + one write per file + 1 PutObject for the manifest after them |",
        "smart",
        {"first": FIRST},
    ),
    Claim(
        "docs/smart-mode.md",
        "| nothing changed | 1 GetObject; nothing is written, not even the manifest |",
        "smart",
        {"nothing changed": NOTHING_CHANGED},
    ),
    Claim(
        "docs/smart-mode.md",
        "| *k* files changed | 1 GetObject + 1 PutObject ahead + *k* writes + 1 PutObject after |",
        "smart",
        {"10 changed": TEN_CHANGED},
    ),
    Claim(
        "docs/smart-mode.md",
        "| `--dry-run` | 1 GetObject; nothing is written |",
        "smart",
        {"dry run": NOTHING_CHANGED},
    ),
    Claim(
        "docs/smart-mode.md",
        "A run with nothing to upload writes nothing: one read in all. A run that uploads "
        "*k* files makes one read, the write ahead, *k* uploads and the final write.",
        "smart",
        {"nothing changed": NOTHING_CHANGED, "10 changed": TEN_CHANGED},
    ),
    Claim(
        "docs/storages.md",
        "| S3 (`S3Storage`, `S3StaticStorage`, `S3Boto3Storage`) | `collectstupid[s3]` | "
        "1 PutObject | multipart at the storage's threshold (8 MB unless set) | 1 GetObject |",
        "smart",
        {"blind": {"PutObject": FILES}, "nothing changed": NOTHING_CHANGED},
    ),
    Claim(
        "docs/storages.md",
        "A first smart deploy adds one read of the manifest and two writes of it",
        "smart",
        {"first": FIRST},
    ),
    Claim(
        "docs/storages.md",
        "A smart deploy that changes files adds one read and two writes in all, whatever "
        "the number of files.",
        "smart",
        {"10 changed": TEN_CHANGED},
    ),
    Claim(
        "docs/django-compatibility.md",
        "one request per file on S3",
        "smart",
        {"blind": {"PutObject": FILES}},
    ),
    Claim(
        "docs/caching.md",
        "A rerun with nothing changed still costs one GET.",
        "parameters",
        {"rerun": NOTHING_CHANGED},
    ),
    Claim(
        "README.md",
        "# Smart mode: unchanged media cost one manifest read, not an upload.",
        "prune",
        {"nothing changed": NOTHING_CHANGED},
    ),
    Claim(
        "docs/lifecycle.md",
        "A run that changes nothing and has nothing to prune still costs exactly one "
        "request: the manifest read. A prune that deletes costs one `DeleteObjects` per "
        "1000 paths and one more manifest write, and never a `ListObjects`.",
        "prune",
        {
            "nothing changed": NOTHING_CHANGED,
            # The read; the write ahead, the renamed file, the record; the delete; the
            # manifest once more, forgetting the deleted path.
            "renamed": {"GetObject": 1, "PutObject": 4, "DeleteObjects": 1},
        },
    ),
    Claim(
        "docs/command.md",
        "It reads only what the options it is given need: nothing at all on its own; the "
        "deploy manifest, once, in smart mode (`--smart`, `--force`, `--prune`), to say what "
        "changed; the storage's listing with `--clear`, to say what would be deleted; the "
        "uploads left open with `--abort-uploads`, to say what would be aborted",
        "dry runs",
        {
            "--dry-run": {},
            "--smart": NOTHING_CHANGED,
            "--force": NOTHING_CHANGED,
            "--prune": NOTHING_CHANGED,
            "--clear": {"ListObjectsV2": 1},
            "--abort-uploads": {"ListMultipartUploads": 1},
        },
    ),
    Claim(
        "docs/command.md",
        "one `ListMultipartUploads` per 1000 open uploads, one abort each",
        "dry runs",
        {
            "abort two": {
                "ListMultipartUploads": 1,
                "AbortMultipartUpload": 2,
                "PutObject": 3,
            }
        },
    ),
    Claim(
        "docs/django-compatibility.md",
        "its entries for the files about to be deleted are dropped first (one write, and one "
        "read unless smart mode has read it already)",
        "clear",
        {
            # The listing, the manifest read and its write, the deletes, the three files.
            "blind": {"ListObjectsV2": 1, "GetObject": 1, "PutObject": 1 + 3, "DeleteObjects": 1},
            # The one read smart mode makes; the write, then smart mode's own two.
            "smart": {
                "ListObjectsV2": 1,
                "GetObject": 1,
                "PutObject": 1 + 2 + 3,
                "DeleteObjects": 1,
            },
        },
    ),
    Claim(
        "docs/verify.md",
        "| S3 | 1 `ListObjectsV2` per 1000 objects under the location |",
        "verify",
        {"clean": {"ListObjectsV2": 1}},
    ),
    Claim(
        "docs/verify.md",
        "After a clean deploy of the test project's files that is one request on each of "
        "the three remote storages.",
        "verify",
        {"clean": {"ListObjectsV2": 1}},
    ),
    Claim(
        "docs/verify.md",
        "where `--verify` makes one read of the deploy manifest whatever the number of "
        "such objects.",
        "verify",
        {"two uploaded in parts": {"ListObjectsV2": 1, "GetObject": 1}},
    ),
    Claim(
        "docs/development.md",
        "A plain `--dry-run`, `--list-profiles` and `check --deploy` make no request",
        "dry runs",
        {"--dry-run": {}, "--list-profiles": {}, "check --deploy": {}},
    ),
]

# A stated count: "makes 13", "costs one GET", "adds one read", "make no request"...
COUNT = re.compile(
    r"\b(?:makes?|costs?|adds?)\s+(?:exactly\s+)?(?:no|one|two|three|\d+)\b"
    r"(?:\s*:|\s+(?:more\s+)?(?:\w+\s+)?(?:requests?|reads?|writes?|GETs?|PUTs?|calls?)\b)",
    re.IGNORECASE,
)

SCENARIOS: dict[str, Callable[..., dict[str, Ops]]] = {}


def scenario(name: str) -> Callable[[Callable[..., dict[str, Ops]]], Any]:
    def register(function: Callable[..., dict[str, Ops]]) -> Callable[..., dict[str, Ops]]:
        SCENARIOS[name] = function
        return function

    return register


def many_files(count: int) -> dict[str, str]:
    return {f"css/file{i:02}.css": f"/* {i} */ body {{ order: {i} }}" for i in range(count)}


@scenario("smart")
def smart_runs(static_files, s3_storage_settings, botocore_calls) -> dict[str, Ops]:
    """A first smart deploy, a rerun from a fresh checkout, ten files changed, a dry run
    after one more change; then a blind deploy."""
    src = static_files(many_files(FILES))
    made = {"first": counted(botocore_calls, "--smart")[0]}
    for path in src.rglob("*.css"):
        path.touch()
    made["nothing changed"] = counted(botocore_calls, "--smart")[0]
    for i in range(CHANGED):
        (src / f"css/file{i:02}.css").write_text(f"/* changed {i} */")
    made["10 changed"] = counted(botocore_calls, "--smart")[0]
    (src / "css/file00.css").write_text("/* changed again */")
    made["dry run"] = counted(botocore_calls, "--smart", "--dry-run")[0]
    made["blind"] = counted(botocore_calls, "--no-smart")[0]
    return made


@scenario("hashed")
def hashed_deploy(static_files, s3_storage_settings_factory, botocore_calls) -> dict[str, Ops]:
    """Each file, its hashed copy and staticfiles.json, post-processed locally."""
    static_files(ASSETS)
    s3_storage_settings_factory(backend="storages.backends.s3.S3ManifestStaticStorage")
    return {"first": counted(botocore_calls, "--profile", "full")[0]}


@scenario("parameters")
def parameters_rerun(
    static_files, s3_storage_settings, botocore_calls, tmp_path, settings
) -> dict[str, Ops]:
    """A profile with object parameters: a smart deploy, then the same again."""
    static_files(ASSETS)
    profiles(
        tmp_path,
        settings,
        cdn="""
        extends: full
        object_parameters:
          - match: "*.css"
            parameters: {CacheControl: "max-age=600"}
        """,
    )
    run("--profile", "cdn", "--smart")
    return {"rerun": counted(botocore_calls, "--profile", "cdn", "--smart")[0]}


@scenario("prune")
def prune_runs(static_files, s3_storage_settings, botocore_calls) -> dict[str, Ops]:
    """--prune with nothing changed, then after a file was renamed."""
    src = static_files(ASSETS)
    run("--prune")
    made = {"nothing changed": counted(botocore_calls, "--prune")[0]}
    (src / "css/site.css").rename(src / "css/main.css")
    made["renamed"] = counted(botocore_calls, "--prune")[0]
    return made


@scenario("dry runs")
def dry_runs(static_files, s3_storage_settings, s3_client, botocore_calls) -> dict[str, Ops]:
    """Each option's dry run on a deployed bucket with two uploads left open; then
    --list-profiles, check --deploy and the real --abort-uploads."""
    static_files(ASSETS)
    run("--smart")
    # Files this deploy ships: --abort-uploads aborts only the uploads the run owns.
    for name in ("css/site.css", "js/app.js"):
        key = s3_storage_settings.key(name)
        s3_client.create_multipart_upload(Bucket=s3_storage_settings.bucket, Key=key)
    made = {
        option: counted(botocore_calls, "--dry-run", *([option] if option else []))[0]
        for option in ("", "--smart", "--force", "--prune", "--clear", "--abort-uploads")
    }
    made["--dry-run"] = made.pop("")
    made["--list-profiles"] = counted(botocore_calls, "--list-profiles")[0]
    botocore_calls.reset()
    call_command("check", "--deploy", stdout=StringIO(), stderr=StringIO())
    made["check --deploy"] = dict(botocore_calls.operations)
    made["abort two"] = counted(botocore_calls, "--abort-uploads")[0]
    return made


@scenario("clear")
def clear_runs(static_files, s3_storage_settings, botocore_calls) -> dict[str, Ops]:
    """--clear of profile no-media over a smart deploy of everything, without smart
    mode and then with it: the manifest outlives the clear, without the deleted files."""
    static_files(ASSETS)
    run("--smart", "--profile", "full")
    made = {"blind": counted(botocore_calls, "--clear", "--profile", "no-media")[0]}
    run("--smart", "--profile", "full")  # the manifest records the three files again
    made["smart"] = counted(botocore_calls, "--clear", "--smart", "--profile", "no-media")[0]
    return made


@scenario("verify")
def verify_runs(static_files, s3_storage_settings_factory, botocore_calls) -> dict[str, Ops]:
    """--verify after a deploy in one PutObject per file, then after a smart deploy
    that sent the two media files in parts."""
    static_files(ASSETS)
    s3_storage_settings_factory()
    run("--profile", "full")
    made = {"clean": counted(botocore_calls, "--verify", "--profile", "full")[0]}
    in_parts = TransferConfig(multipart_threshold=1024, multipart_chunksize=5 * MiB)
    s3_storage_settings_factory(transfer_config=in_parts)
    run("--smart", "--profile", "full", "--force")
    made["two uploaded in parts"] = counted(botocore_calls, "--verify", "--profile", "full")[0]
    return made


def test_every_claim_is_on_its_page_and_names_a_scenario():
    for claim in CLAIMS:
        assert claim.quote in prose(ROOT / claim.page), (
            f"{claim.page} no longer says {claim.quote!r}"
        )
        assert claim.scenario in SCENARIOS, claim


def test_every_count_the_docs_state_is_a_claim():
    quoted: dict[str, list[str]] = {}
    for claim in CLAIMS:
        quoted.setdefault(claim.page, []).append(claim.quote)
    for page in PAGES:
        name = page.relative_to(ROOT).as_posix()
        text = prose(page)
        for match in COUNT.finditer(text):
            covered = any(
                (start := text.find(quote)) <= match.start() < start + len(quote)
                for quote in quoted.get(name, [])
                if quote in text
            )
            assert covered, f"{name} states a count no claim checks: {match.group(0)!r}"


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_count_the_docs_state_is_what_the_runs_make(name: str, request) -> None:
    function = SCENARIOS[name]
    fixtures = {p: request.getfixturevalue(p) for p in inspect.signature(function).parameters}
    made = function(**fixtures)
    for claim in (c for c in CLAIMS if c.scenario == name):
        for run_name, expected in claim.counts.items():
            assert made[run_name] == expected, (
                f"{claim.page} says {claim.quote!r}; the {name} scenario's {run_name!r} "
                f"run made {made[run_name]}"
            )


# --- the README's speed figures ------------------------------------------------------


def run_g_rows() -> dict[str, list[str]]:
    """docs/cpu.md's run G table: tool -> its cells."""
    text = (ROOT / "docs" / "cpu.md").read_text().split("\nRun G,", 1)[1]
    rows = [line for line in text.split("\n\n", 2)[1].splitlines() if line.startswith("| ")]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    return {row[0]: row for row in cells}


def test_the_readmes_speed_figures_are_those_of_the_one_table_it_names():
    header = ["tool", "wall s", "+ local collect wall s", "CPU s", "CPU ms/obj"]
    rows = run_g_rows()
    assert list(rows["tool"][:5]) == header, rows["tool"]
    ratio = rows["collectstupid"][-1].removesuffix("x")
    ours, theirs = rows["collectstupid"][4], rows["s5cmd-cp"][4]
    readme = prose(ROOT / "README.md")
    stated = (
        f"took collectstupid {ratio} times as long as a local `collectstatic` followed by "
        f"`s5cmd cp`, with {ours} ms of CPU per object against s5cmd's {theirs} ms, "
        "start-up included (run G of [docs/cpu.md](docs/cpu.md#awscrt)"
    )
    assert stated in readme
