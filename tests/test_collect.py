from __future__ import annotations

import pytest

from collectstupid.collect import find_files, ignore_patterns, safe_dest
from collectstupid.errors import CollectError


@pytest.mark.parametrize("path", ["css/site.css", "a", "deep/er/file.min.js", "x..y/z"])
def test_safe_destinations_pass(path):
    assert safe_dest(path) == path


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../up.css", "a/../../b", "a//b", "./a", "a\\b", "a/./b", "a/\x00"]
)
def test_escaping_destinations_are_refused(path):
    with pytest.raises(CollectError, match="Refusing the destination path"):
        safe_dest(path)


def test_default_ignore_patterns_match_collectstatic():
    assert ignore_patterns() == sorted({"CVS", ".*", "*~"})
    assert ignore_patterns(["x"], use_default=False) == ["x"]


def test_odd_finder_paths_stop_the_listing(static_files, settings, monkeypatch):
    static_files({"a.css": "x"})
    from django.contrib.staticfiles.finders import FileSystemFinder

    def listing(self, ignore_patterns):
        storage = next(iter(self.storages.values()))
        yield "..\\..\\evil.css", storage

    monkeypatch.setattr(FileSystemFinder, "list", listing)
    with pytest.raises(CollectError, match="backslash"):
        find_files([])


@pytest.mark.parametrize(("link", "target"), [("loop", "loop"), ("d/up", "..")])
def test_a_symlink_loop_is_named_not_a_traceback(settings, tmp_path, link, target):
    root = tmp_path / "static"
    (root / "d").mkdir(parents=True)
    (root / "d" / "a.css").write_text("a")
    (root / link).symlink_to(target)
    settings.STATICFILES_DIRS = [str(root)]
    with pytest.raises(CollectError) as info:
        find_files(ignore_patterns())
    message = str(info.value)
    assert f"the symbolic link '{root / link}' leads back into a folder" in message
    assert "Remove the link" in message


def test_files_of_django_s_default_storage_are_listed_with_their_sizes(settings, tmp_path):
    # DefaultStorageFinder lists default_storage, a LazyObject: its class has no
    # size() or path() of its own to compare with FileSystemStorage's.
    media = tmp_path / "media"
    (media / "css").mkdir(parents=True)
    (media / "css" / "site.css").write_text("body{}")
    settings.MEDIA_ROOT = str(media)
    settings.STATICFILES_DIRS = []
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.DefaultStorageFinder"]
    from django.contrib.staticfiles import finders
    from django.core.files.storage import default_storage
    from django.utils.functional import empty

    finders.get_finder.cache_clear()
    default_storage._wrapped = empty  # made anew from these settings
    try:
        found = find_files([])
    finally:
        finders.get_finder.cache_clear()
        default_storage._wrapped = empty
    assert [(f.dest, f.size) for f in found.files] == [("css/site.css", 6)]
