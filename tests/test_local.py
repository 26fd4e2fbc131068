"""Local targets: collectstupid leaves STATIC_ROOT exactly as collectstatic does.

"Exactly" means the same file names and the same bytes (a ``diff -r`` of the
two folders finds nothing), plus the same permission bits. For a profile
that leaves files out, the reference is collectstatic told to ignore those
same files (``--ignore`` with the profile's patterns), with one difference
on purpose: ``staticfiles.json`` is the one a full collectstatic writes,
since collectstupid always post-processes every found file so that the
manifest also names what the profile kept back (the media a later
``--profile media-only`` deploy ships).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tempfile
import threading
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from whitenoise.compress import Compressor

from collectstupid import local
from tests.helpers import run, tree

PLAIN = "django.contrib.staticfiles.storage.StaticFilesStorage"
MANIFEST = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
WHITENOISE = "whitenoise.storage.CompressedManifestStaticFilesStorage"
STORAGES = [PLAIN, MANIFEST, WHITENOISE]

TEXT = "".join(f".rule-{n} {{ margin: {n}px; color: #{n:03x}; }}\n" for n in range(300))
# References to images and fonts, none to media: collectstatic told to ignore
# the media must still find every referenced file.
ASSETS: dict[str, str | bytes] = {
    "css/site.css": (
        '@import "base.css";\n'
        'body { background: url("../img/bg.png"); }\n'
        ".logo { background: url(../img/logo.svg#mark); }\n"
        "@font-face { src: url('../fonts/icons.woff2?#iefix') format('woff2'); }\n"
        + TEXT
        + "/*# sourceMappingURL=site.css.map */\n"
    ),
    "css/site.css.map": '{"version": 3, "file": "site.css", "mappings": "AAAA"}',
    "css/base.css": "html { color: black; }\n" + TEXT,
    # The same bytes under two names: compressed once, written twice.
    "css/copy-of-base.css": "html { color: black; }\n" + TEXT,
    "js/app.js": "console.log('app');\n" * 200 + "//# sourceMappingURL=app.js.map\n",
    "js/app.js.map": '{"version": 3, "file": "app.js", "mappings": "AAAA"}',
    "js/vendor.js": "function vendor() { return 1; }\n" * 300,
    "img/bg.png": b"\x89PNG\r\n\x1a\nbg" * 50,
    "img/logo.svg": "<svg id='mark'>" + "<path d='M0 0L1 1Z'/>" * 100 + "</svg>",
    "fonts/icons.woff2": b"wOF2icons" * 40,
    # Compressible on purpose, so WhiteNoise writes .br and .gz for them.
    "media/theme.mp3": b"ID3" + b"\x02" * 8192,
    "media/intro.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 8192,
}
MEDIA = {"media/theme.mp3", "media/intro.mp4"}


def no_media_patterns() -> list[str]:
    path = Path(local.__file__).parent.parent / "profiles" / "no-media.yaml"
    return yaml.safe_load(path.read_text())["exclude"]


def use_storage(settings, backend: str, root: Path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": backend, "OPTIONS": {"location": str(root)}},
    }


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under root with its bytes and permission bits."""
    return {
        name: (data, stat.S_IMODE((root / name).stat().st_mode))
        for name, data in tree(root).items()
    }


def collectstatic(settings, backend: str, root: Path, *args: str) -> tuple[dict, str]:
    use_storage(settings, backend, root)
    out = StringIO()
    call_command("collectstatic", *args, interactive=False, stdout=out)
    return snapshot(root), out.getvalue()


def counts(line: str) -> tuple[int, int]:
    """(copied, post-processed) from either command's summary line."""
    copied = re.search(r"(\d+) static files? copied to", line)
    processed = re.search(r", (\d+) post-processed", line)
    assert copied, line
    return int(copied.group(1)), int(processed.group(1)) if processed else 0


@pytest.fixture
def project(static_files, tmp_path):
    """The assets as a project's static folder; returns the folder the targets go in."""
    static_files(ASSETS)
    roots = tmp_path / "roots"
    roots.mkdir()
    return roots


def leftovers(roots: Path) -> list[str]:
    """Staging folders or temporary files a run left beside or inside the targets."""
    return sorted(str(p.relative_to(roots)) for p in roots.rglob("*") if "collectstupid" in p.name)


def same_as_collectstatic(
    settings, backend: str, project: Path, profile: str, expected: dict, theirs: str
) -> Path:
    """Deploy with the profile; STATIC_ROOT and the summary's numbers are collectstatic's."""
    target = project / "ours"
    use_storage(settings, backend, target)
    ours = run("--profile", profile)
    assert snapshot(target) == expected
    assert counts(ours) == counts(theirs)
    assert leftovers(project) == []
    assert_only_copies_of_one_original_share(target, Path(settings.STATICFILES_DIRS[0]))
    return target


def assert_only_copies_of_one_original_share(target: Path, sources: Path) -> None:
    """No file in ``target`` shares its inode with a project file; two files that share
    one are an original and its hashed copy, or the same compressed sibling of both."""
    project_files = {(s.st_dev, s.st_ino) for s in map(os.stat, sources.rglob("*"))}
    manifest = target / "staticfiles.json"
    paths = json.loads(manifest.read_text())["paths"] if manifest.exists() else {}
    pairs = {frozenset(pair) for pair in paths.items()}
    groups: dict[tuple[int, int], list[str]] = {}
    for path in target.rglob("*"):
        if path.is_file():
            info = path.stat()
            assert (info.st_dev, info.st_ino) not in project_files, path
            groups.setdefault((info.st_dev, info.st_ino), []).append(
                path.relative_to(target).as_posix()
            )
    for names in groups.values():
        if len(names) == 1:
            continue
        suffix = next((s for s in (".gz", ".br") if names[0].endswith(s)), "")
        bases = frozenset(name[: len(name) - len(suffix)] for name in names)
        assert all(name.endswith(suffix) for name in names) and bases in pairs, names


@pytest.mark.parametrize("backend", STORAGES)
def test_full_profile_matches_collectstatic(settings, project, backend):
    expected, theirs = collectstatic(settings, backend, project / "collectstatic")
    same_as_collectstatic(settings, backend, project, "full", expected, theirs)


@pytest.mark.parametrize("backend", STORAGES)
def test_no_media_matches_collectstatic_ignoring_media(settings, project, backend):
    ignore = [arg for pattern in no_media_patterns() for arg in ("-i", pattern)]
    expected, theirs = collectstatic(settings, backend, project / "ignoring", *ignore)
    full, _ = collectstatic(settings, backend, project / "full")
    if "staticfiles.json" in expected:
        # The manifest is the full one: it also names the media's hashed copies.
        assert expected["staticfiles.json"] != full["staticfiles.json"]
        expected["staticfiles.json"] = full["staticfiles.json"]
    assert not any(name.startswith("media/") for name in expected)
    target = same_as_collectstatic(settings, backend, project, "no-media", expected, theirs)

    # The media-only deploy that follows completes it to the full collectstatic.
    run("--profile", "media-only")
    assert snapshot(target) == full


def test_project_files_are_copied_once_and_nothing_shares_their_inode(
    settings, project, static_files, monkeypatch
):
    expected, _ = collectstatic(settings, MANIFEST, project / "collectstatic")
    target = project / "ours"
    use_storage(settings, MANIFEST, target)
    copied_from = []
    real = local.copy_bytes

    def copy_bytes(src, fd):
        info = os.fstat(src.fileno())
        copied_from.append((info.st_dev, info.st_ino))
        return real(src, fd)

    monkeypatch.setattr(local, "copy_bytes", copy_bytes)
    run("--profile", "full")
    assert snapshot(target) == expected
    # Copied: each project file once. Never a rewritten file: post-processing's
    # own files are linked from the staging folder.
    sources = {name: os.stat(Path(settings.STATICFILES_DIRS[0], name)) for name in ASSETS}
    project_files = {(info.st_dev, info.st_ino) for info in sources.values()}
    assert sorted(copied_from) == sorted(project_files)
    # The hashed copies Django made unchanged (files without references) share
    # their original's copy; every other file in STATIC_ROOT is alone.
    hashed = json.loads((target / "staticfiles.json").read_text())["paths"]
    unchanged = [name for name in ASSETS if not name.endswith((".css", ".js"))]
    pairs = {name: hashed[name] for name in unchanged}
    for name in expected:
        info = (target / name).stat()
        assert (info.st_dev, info.st_ino) not in project_files, name
        assert info.st_nlink == (2 if name in pairs or name in pairs.values() else 1), name
    for name, copy in pairs.items():
        assert os.path.samefile(target / name, target / copy)


def test_a_redeploy_replaces_shared_files_and_never_writes_through_them(settings, project):
    """Replacing an original never changes the hashed copy of the old bytes it shared."""
    target = project / "ours"
    use_storage(settings, MANIFEST, target)
    run("--profile", "full")
    old = json.loads((target / "staticfiles.json").read_text())["paths"]["img/bg.png"]
    assert os.path.samefile(target / "img/bg.png", target / old)
    Path(settings.STATICFILES_DIRS[0], "img/bg.png").write_bytes(b"\x89PNG\r\n\x1a\nnew")
    run("--profile", "full")
    new = json.loads((target / "staticfiles.json").read_text())["paths"]["img/bg.png"]
    assert new != old
    assert (target / "img/bg.png").read_bytes() == (target / new).read_bytes()
    assert (target / "img/bg.png").read_bytes().endswith(b"new")
    assert (target / old).read_bytes() == ASSETS["img/bg.png"]
    assert os.path.samefile(target / "img/bg.png", target / new)
    assert (target / old).stat().st_nlink == 1


def test_whitenoise_compresses_each_content_once_and_nothing_left_out(
    settings, project, monkeypatch
):
    compressed = []
    real = Compressor.compress_brotli

    def brotli(data):
        compressed.append(data)
        return real(data)

    monkeypatch.setattr(Compressor, "compress_brotli", staticmethod(brotli))
    expected, _ = collectstatic(settings, WHITENOISE, project / "collectstatic")
    theirs = list(compressed)
    target = project / "ours"
    use_storage(settings, WHITENOISE, target)

    compressed.clear()
    run("--profile", "no-media")
    assert not any(data in (ASSETS["media/theme.mp3"],) for data in compressed)
    compressed.clear()
    run("--profile", "full")
    assert snapshot(target) == expected
    # collectstatic compresses originals and hashed copies alike, most of them
    # the same bytes; here each distinct content once.
    assert sorted(set(theirs)) == sorted(compressed)
    assert len(compressed) == len(set(theirs)) < len(theirs)
    # A hashed copy Django made unchanged shares its original's compressed
    # files too; another file with the same bytes gets its own.
    hashed = json.loads((target / "staticfiles.json").read_text())["paths"]
    for name in ("img/logo.svg", "media/theme.mp3"):
        for suffix in (".gz", ".br"):
            assert os.path.samefile(target / (name + suffix), target / (hashed[name] + suffix))
    assert (target / "css/copy-of-base.css.br").stat().st_nlink == 1
    assert (target / "css/base.css.br").read_bytes() == (
        target / "css/copy-of-base.css.br"
    ).read_bytes()
    assert_only_copies_of_one_original_share(target, Path(settings.STATICFILES_DIRS[0]))


def test_whitenoise_keep_only_hashed_files_leaves_what_collectstatic_leaves(settings, project):
    settings.WHITENOISE_KEEP_ONLY_HASHED_FILES = True
    expected, theirs = collectstatic(settings, WHITENOISE, project / "collectstatic")
    paths = json.loads(expected["staticfiles.json"][0])["paths"]
    # collectstatic's own result: the hashed copies, their compressed siblings and
    # the manifest; not one original.
    assert "css/site.css" in paths and "css/site.css" not in expected
    assert paths["css/site.css"] + ".gz" in expected
    assert not set(paths) & set(expected)
    target = same_as_collectstatic(settings, WHITENOISE, project, "full", expected, theirs)
    # Smart runs ship the same files; the second finds every one in place.
    run("--profile", "full", "--smart")
    out = run("--profile", "full", "--smart")
    assert f"0 static files copied to '{target}', {len(expected)} unmodified" in out, out
    ours = snapshot(target)
    assert ours.pop(".collectstupid/manifest.json")
    assert ours == expected


def test_whitenoise_keep_only_hashed_files_split_by_profiles(settings, project):
    # no-media, then media-only: each leaves what collectstatic leaves.
    settings.WHITENOISE_KEEP_ONLY_HASHED_FILES = True
    test_no_media_matches_collectstatic_ignoring_media(settings, project, WHITENOISE)


def test_a_replaced_file_is_renamed_over_never_rewritten(settings, project):
    target = project / "ours"
    use_storage(settings, PLAIN, target)
    run("--profile", "full")
    # A reader that opened the old file keeps reading the old bytes whole.
    with open(target / "js/vendor.js", "rb") as reader:
        Path(settings.STATICFILES_DIRS[0], "js/vendor.js").write_text("new();\n")
        run("--profile", "full")
        assert reader.read() == ASSETS["js/vendor.js"].encode()
    assert (target / "js/vendor.js").read_text() == "new();\n"


def test_a_file_that_cannot_land_holds_the_manifest_back(settings, project):
    target = project / "ours"
    use_storage(settings, MANIFEST, target)
    (target / "js/vendor.js").mkdir(parents=True)  # a folder where a file goes
    with pytest.raises(CommandError, match="1 of 25 files failed to upload") as raised:
        run("--profile", "full")
    assert "js/vendor.js: IsADirectoryError" in str(raised.value)
    assert not (target / "staticfiles.json").exists()
    assert leftovers(project) == []


def test_staging_on_another_file_system_copies_what_it_cannot_link(settings, project, monkeypatch):
    """STATIC_ROOT's parent not writable: staging goes to the system's temporary
    folder, here another file system, and nothing can be linked from it."""
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(project).st_dev:
        pytest.skip("needs a second file system at /dev/shm")
    temp = Path(tempfile.mkdtemp(dir=shm))
    try:
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        monkeypatch.setattr(local, "staging_parent", lambda storage: None)
        expected, theirs = collectstatic(settings, WHITENOISE, project / "collectstatic")
        same_as_collectstatic(settings, WHITENOISE, project, "full", expected, theirs)
        assert list(temp.iterdir()) == []
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def test_a_local_target_is_written_by_the_calling_thread(settings, project, monkeypatch):
    """Whatever --threads asks: local writes wait on no network, and worker threads
    would only add switches between them."""
    target = project / "ours"
    use_storage(settings, MANIFEST, target)
    threads = set()
    real = local.LocalBackend.write

    def write(self, source):
        threads.add(threading.current_thread())
        return real(self, source)

    monkeypatch.setattr(local.LocalBackend, "write", write)
    run("--profile", "full", "--threads", "8")
    assert threads == {threading.main_thread()}
    assert (target / "staticfiles.json").exists()
