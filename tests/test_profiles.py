from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collectstupid.errors import ProfileError
from collectstupid.profile_files import builtin_dir
from collectstupid.profiles import BUILTIN, get_profile, load_catalog, load_profiles

MEDIA = ["a/song.mp3", "b/clip.mp4", "intro.MP4", "x/y/z.webm", "sound.WAV", "v.mov"]
NOT_MEDIA = [
    "css/site.css",
    "js/app.js",
    "img/logo.png",
    "fonts/a.woff2",
    "mp3/readme.txt",
    "data.json",
    "clip.mp4.map",
]


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_builtins_are_listed_with_their_origin():
    profiles = load_profiles()
    assert {"no-media", "full", "media-only"} <= set(profiles)
    assert all(p.origin == BUILTIN for p in profiles.values())


@pytest.mark.parametrize("path", MEDIA)
def test_no_media_leaves_media_out_and_media_only_takes_it(path):
    profiles = load_profiles()
    assert not profiles["no-media"].select(path)
    assert profiles["media-only"].select(path)
    assert profiles["full"].select(path)


@pytest.mark.parametrize("path", NOT_MEDIA)
def test_no_media_keeps_everything_else(path):
    profiles = load_profiles()
    assert profiles["no-media"].select(path)
    assert not profiles["media-only"].select(path)


def test_media_only_is_the_exact_complement_of_no_media():
    data = {p.stem: yaml.safe_load(p.read_text()) for p in builtin_dir().glob("*.yaml")}
    # One list of media patterns: media-only is built from no-media's, not a copy of it.
    assert data["media-only"] == {
        "description": data["media-only"]["description"],
        "complement_of": "no-media",
    }
    profiles = load_profiles()
    for path in MEDIA + NOT_MEDIA + ["weird dir/x.Mp3", "deep/a.b.c.flac", ".hidden.ogg"]:
        selected = [profiles[n].select(path) for n in ("no-media", "media-only")]
        assert selected.count(True) == 1, path


def test_project_profile_overrides_builtin_and_extends(tmp_path):
    write(tmp_path, "no-media.yaml", "description: ours\nexclude: ['*.css']\n")
    write(tmp_path, "lean.yml", "extends: no-media\nexclude: ['*.map']\n")
    profiles = load_profiles([tmp_path])
    assert profiles["no-media"].origin == str(tmp_path / "no-media.yaml")
    assert profiles["no-media"].description == "ours"
    assert profiles["no-media"].select("a.mp3")  # the built-in's excludes are gone
    lean = profiles["lean"]
    assert lean.description == "ours"
    assert not lean.select("site.css") and not lean.select("app.js.map")
    assert lean.select("app.js")


def test_child_include_replaces_parent_include(tmp_path):
    write(tmp_path, "base.yaml", "include: ['css/']\n")
    write(tmp_path, "child.yaml", "extends: base\ninclude: ['js/']\n")
    profiles = load_profiles([tmp_path])
    assert profiles["base"].select("css/a.css") and not profiles["base"].select("js/a.js")
    assert profiles["child"].select("js/a.js") and not profiles["child"].select("css/a.css")


def test_gitignore_semantics_negation_and_anchoring(tmp_path):
    write(tmp_path, "p.yaml", "exclude: ['/vendor/', '*.map', '!keep.map']\n")
    p = load_profiles([tmp_path])["p"]
    assert not p.select("vendor/lib.js")
    assert p.select("app/vendor/lib.js")  # a leading slash anchors to the top
    assert not p.select("js/app.js.map")
    assert p.select("js/keep.map")


def test_command_line_patterns_on_top(tmp_path):
    no_media = load_profiles()["no-media"]
    p = no_media.with_patterns(include=["promo/*.mp4"], exclude=["*.map"])
    assert p.select("promo/a.mp4")
    assert not p.select("other/a.mp4")
    assert not p.select("app.js.map")
    assert p.select("app.js")


def test_a_single_file_location(tmp_path):
    path = write(tmp_path, "only.yaml", "description: one\n")
    assert load_profiles([path])["only"].description == "one"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("include: [unclosed\n", "is not valid YAML"),
        ("- a\n- b\n", "must hold a mapping"),
        ("includes: ['*.css']\n", "unknown key(s): includes"),
        ("exclude: 3\n", "'exclude' must be a list of pattern strings"),
        ("exclude: [1, 2]\n", "'exclude' must be a list of pattern strings"),
        ("description: [a]\n", "'description' must be a string"),
        ("ignore_case: maybe\n", "'ignore_case' must be true or false"),
        ("exclude: ['!']\n", "invalid pattern"),
        ("exclude: ['[z-a]']\n", "character range that cannot be read"),
        ("extends: nowhere\n", "extends unknown profile 'nowhere'"),
        ("extends: bad\n", "extends in a cycle: bad -> bad"),
    ],
)
def test_bad_profiles_name_the_file_and_the_problem(tmp_path, text, message):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ProfileError) as info:
        load_profiles([tmp_path])
    assert message in str(info.value)
    assert "bad" in str(info.value)
    if "cycle" not in message and "extends" not in message and "pattern" not in message:
        assert str(path) in str(info.value)


def test_extends_cycle_across_files(tmp_path):
    write(tmp_path, "a.yaml", "extends: b\n")
    write(tmp_path, "b.yaml", "extends: a\n")
    with pytest.raises(ProfileError, match=r"cycle: a -> b -> a"):
        load_profiles([tmp_path])


def test_missing_location(tmp_path):
    with pytest.raises(ProfileError, match="does not exist"):
        load_profiles([tmp_path / "nope"])


def test_wrong_suffix(tmp_path):
    path = write(tmp_path, "p.txt", "description: x\n")
    with pytest.raises(ProfileError, match=r"\.yaml or \.yml"):
        load_profiles([path])


def test_unknown_profile_lists_known_ones():
    with pytest.raises(ProfileError, match=r"Unknown profile 'nope'.*full.*media-only.*no-media"):
        get_profile("nope", load_profiles())


def test_unsafe_yaml_tags_are_refused(tmp_path):
    write(tmp_path, "evil.yaml", "description: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profiles([tmp_path])


def test_profile_smart_key_is_inherited(tmp_path):
    (tmp_path / "quick.yaml").write_text("extends: no-media\nsmart: true\n")
    (tmp_path / "quicker.yaml").write_text("extends: quick\n")
    profiles = load_profiles([tmp_path])
    assert profiles["quick"].smart is True
    assert profiles["quicker"].smart is True
    assert profiles["quicker"].with_patterns(["x"], ["y"]).smart is True
    assert profiles["full"].smart is None


UPPER_MEDIA = ["shop/media/CLIP.MP4", "a/SONG.MP3", "Intro.Mov", "x/THEME.WAV", "v.WEBM"]


@pytest.mark.parametrize("builtin", ["no-media", "media-only", "full"])
@pytest.mark.parametrize("child_case", ["false", "true"])
def test_a_child_never_changes_the_letter_case_of_its_parents_patterns(
    tmp_path, builtin, child_case
):
    write(
        tmp_path,
        "child.yaml",
        f"extends: {builtin}\nignore_case: {child_case}\nexclude: ['*.map']\n",
    )
    profiles = load_profiles([tmp_path])
    for path in UPPER_MEDIA + MEDIA + NOT_MEDIA:
        expected = profiles[builtin].select(path) and not path.endswith(".map")
        assert profiles["child"].select(path) == expected, path


def test_the_child_case_rule_applies_to_its_own_patterns(tmp_path):
    write(tmp_path, "strict.yaml", "extends: no-media\nignore_case: false\nexclude: ['*.map']\n")
    write(tmp_path, "loose.yaml", "extends: no-media\nignore_case: true\nexclude: ['*.map']\n")
    write(tmp_path, "inherits.yaml", "extends: no-media\nexclude: ['*.map']\n")
    profiles = load_profiles([tmp_path])
    assert profiles["strict"].select("APP.JS.MAP") and not profiles["strict"].select("app.js.map")
    assert not profiles["loose"].select("APP.JS.MAP")
    assert not profiles["inherits"].select("APP.JS.MAP")  # no-media's rule, inherited


def test_the_docs_profile_example_leaves_media_out(tmp_path):
    page = (Path(__file__).resolve().parent.parent / "docs" / "profiles.md").read_text()
    block = page.split("# profiles/lean.yaml\n", 1)[1].split("```", 1)[0]
    write(tmp_path, "lean.yaml", block)
    lean = load_profiles([tmp_path])["lean"]
    for path in UPPER_MEDIA:
        assert not lean.select(path), path
    assert lean.select("shop/css/shop.css") and not lean.select("shop/js/app.js.map")


def test_command_line_patterns_follow_the_profiles_case_rule():
    no_media = load_profiles()["no-media"]
    p = no_media.with_patterns(include=["promo/*.mp4"], exclude=["*.map"])
    assert p.select("promo/A.MP4") and not p.select("APP.JS.MAP")
    assert load_profiles()["full"].with_patterns(exclude=["*.map"]).select("APP.JS.MAP")


def test_complement_of_ships_exactly_what_the_other_leaves_out(tmp_path):
    write(tmp_path, "lean.yaml", "exclude: ['*.map', '!keep.map', 'drafts/']\nignore_case: true\n")
    write(tmp_path, "rest.yaml", "complement_of: lean\nexclude: ['drafts/old/']\n")
    profiles = load_profiles([tmp_path])
    lean, rest = profiles["lean"], profiles["rest"]
    for path in ["a.js", "A.JS.MAP", "keep.map", "drafts/x.css", "drafts/old/y.css", "b.css"]:
        assert lean.select(path) != rest.select(path) or path.startswith("drafts/old/"), path
    assert not rest.select("drafts/old/y.css")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("complement_of: full\ninclude: ['*']\n", "cannot be combined with 'extends' or 'include'"),
        ("complement_of: nowhere\n", "'complement_of' names unknown profile 'nowhere'"),
        ("complement_of: media-only\n", "needs a profile that includes every file"),
    ],
)
def test_complement_of_mistakes(tmp_path, text, message):
    write(tmp_path, "bad.yaml", text)
    with pytest.raises(ProfileError, match=message):
        load_profiles([tmp_path])


def test_a_chain_of_1500_extends_resolves_without_recursion(tmp_path):
    depth = 1500
    for n in range(depth):
        parent = f"extends: p{n + 1}\n" if n + 1 < depth else ""
        write(tmp_path, f"p{n}.yaml", f"{parent}exclude: ['*.x{n}']\n")
    profiles = load_profiles([tmp_path])
    assert not profiles["p0"].select(f"a.x{depth - 1}") and profiles["p0"].select("a.css")
    assert profiles[f"p{depth - 1}"].select("a.x0")


def test_a_deep_chain_compiles_each_pattern_once(tmp_path):
    from collectstupid.patterns import _compiled

    depth = 400
    for n in range(depth):
        parent = f"extends: q{n + 1}\n" if n + 1 < depth else ""
        write(tmp_path, f"q{n}.yaml", f"{parent}exclude: ['*.y{n}']\n")
    _compiled.cache_clear()
    profiles = load_profiles([tmp_path])
    for profile in profiles.values():
        profile.select("a.css")
    # Each file's own pattern, plus the built-ins' and the shared "*", compiled once each.
    builtin = sum(len(p.include) + len(p.exclude) for p in load_profiles().values())
    assert _compiled.cache_info().misses <= depth + builtin


def test_a_broken_file_in_a_chain_is_named_by_every_profile_built_on_it(tmp_path):
    write(tmp_path, "base.yaml", "exclude: ['[z-a]']\n")
    write(tmp_path, "mid.yaml", "extends: base\n")
    write(tmp_path, "top.yaml", "extends: mid\n")
    catalog = load_catalog([tmp_path])
    assert set(catalog.problems) == {"base", "mid", "top"}
    assert "top.yaml" in str(catalog.problems["top"])
    assert str(tmp_path / "base.yaml") in str(catalog.problems["top"])
    assert "character range" in str(catalog.problems["top"])
    assert catalog.get("no-media").name == "no-media"  # the others are untouched


def test_an_unquoted_star_or_bang_gets_a_hint_to_quote_it(tmp_path):
    write(tmp_path, "star.yaml", "exclude:\n  - *.map\n")
    write(tmp_path, "bang.yaml", "exclude:\n  - !keep.map\n")
    catalog = load_catalog([tmp_path])
    for name, pattern in (("star", '- "*.map"'), ("bang", '- "!keep.map"')):
        message = str(catalog.problems[name])
        assert "Quote patterns that start with '*', '!'" in message, message
        assert pattern in message


def test_a_profiles_path_that_is_a_device_is_named_for_what_it_is(tmp_path):
    link = tmp_path / "profiles"
    link.symlink_to("/dev/null")
    with pytest.raises(ProfileError, match="is not a regular file or folder"):
        load_profiles([link])
    dangling = tmp_path / "gone"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(ProfileError, match="symbolic link to a path that does not exist"):
        load_profiles([dangling])
