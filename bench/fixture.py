"""Deterministic fixture: a few Django apps whose static/ dirs look like a real site.

The pristine tree is generated once per (file count, seed) and cached; each bench run
works on a hard-linked copy so the scenarios can touch and rewrite files without
regenerating anything. Rewrites always replace the file (new inode), never edit it in
place, so the pristine copy stays intact.
"""

import math
import os
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Bump when the generator changes, so cached fixtures are rebuilt.
GENERATOR_VERSION = 3

APPS = ("shop", "blog", "accounts", "dashboard", "marketing")
MEDIA_APP = "marketing"

# (extension, share of assets, median bytes). Medians follow what bundlers emit
# for a mid-size site; the log-normal spread gives the long tail of big bundles.
ASSET_TYPES: tuple[tuple[str, float, int], ...] = (
    ("css", 0.12, 6_000),
    ("js", 0.22, 12_000),
    ("svg", 0.16, 1_500),
    ("png", 0.22, 9_000),
    ("woff2", 0.06, 25_000),
    ("json", 0.10, 2_500),
)
SIGMA = 1.1
MIN_SIZE = 200
MAX_SIZE = 400_000
# Share of css/js files that ship a source map next to them.
MAP_SHARE = 0.45

# About 30 MB of audio and video; the 12 MB file crosses the 8 MB multipart
# threshold of boto3 and the AWS CLI.
MEDIA_FILES: tuple[tuple[str, int], ...] = (
    ("media/intro.mp3", 4_000_000),
    ("media/podcast-episode-1.mp3", 6_000_000),
    ("media/hero.mp4", 12_000_000),
    ("media/loop.mp4", 6_000_000),
    ("media/clip.mp4", 2_000_000),
)
BIG_FILE = "media/big.mp4"

WORDS = (
    "alpha", "beta", "gamma", "delta", "header", "footer", "button", "card", "modal",
    "grid", "item", "list", "nav", "menu", "price", "cart", "order", "user", "avatar",
    "chart", "panel", "table", "badge", "alert", "toast", "hero", "banner",
)  # fmt: skip
SUBDIRS = {"css": "css", "js": "js", "svg": "img", "png": "img", "woff2": "fonts", "json": "data"}
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "woff2": b"wOF2"}
CHUNK = 8 * 1024 * 1024
# The scale fixture (--tiny): every asset this size, drawn evenly, and no media, so
# that the cost per file shows and not the bytes.
TINY_SIZES = (200, 2_000)


@dataclass(frozen=True)
class Fixture:
    """A ready source tree: `apps_dir` holds one importable package per app."""

    root: Path
    apps_dir: Path
    apps: tuple[str, ...]

    def static_files(self) -> list[Path]:
        """Every file under the apps' static/ dirs, in a stable order."""
        return sorted(p for p in self.apps_dir.glob("*/static/**/*") if p.is_file())


def _size(rng: random.Random, median: int, tiny: bool = False) -> int:
    if tiny:
        return rng.randint(*TINY_SIZES)
    return max(MIN_SIZE, min(MAX_SIZE, int(rng.lognormvariate(math.log(median), SIGMA))))


def _text(rng: random.Random, size: int, line: str) -> bytes:
    """Compressible text roughly like minified code: repeated identifiers."""
    out: list[str] = []
    total = 0
    while total < size:
        chunk = line.format(a=rng.choice(WORDS), b=rng.choice(WORDS), n=rng.randrange(1000))
        out.append(chunk)
        total += len(chunk)
    return "".join(out).encode()[:size]


class _Generator:
    def __init__(self, root: Path, count: int, seed: int, tiny: bool = False) -> None:
        self.root = root
        self.count = count
        self.rng = random.Random(seed)
        self.written = 0
        self.tiny = tiny

    def write(self, app: str, rel: str, data: bytes) -> None:
        path = self.root / app / "static" / app / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.written += 1

    def run(self) -> None:
        for app in APPS:
            (self.root / app).mkdir(parents=True, exist_ok=True)
            (self.root / app / "__init__.py").write_text("")
        plan = list(self._plan())
        # Referenced files first, so css can point at images and fonts that exist:
        # hashed storages refuse a url() whose target is missing.
        targets: dict[str, list[str]] = {app: [] for app in APPS}
        for app, ext, rel in plan:
            if ext in ("png", "svg", "woff2"):
                self.write(app, rel, self._binary(ext))
                targets[app].append(rel)
        for app, ext, rel in plan:
            if ext.removesuffix("+map") in ("css", "js", "json"):
                self._code(app, ext, rel, targets[app])
        for rel, size in () if self.tiny else MEDIA_FILES:
            write_random(self.root / MEDIA_APP / "static" / MEDIA_APP / rel, size, self.rng)

    def _plan(self) -> Iterator[tuple[str, str, str]]:
        """Yield (app, ext, relative path) until the asset budget is spent."""
        exts = [t[0] for t in ASSET_TYPES]
        weights = [t[1] for t in ASSET_TYPES]
        budget = self.count
        index = 0
        while budget > 0:
            ext = self.rng.choices(exts, weights)[0]
            has_map = ext in ("css", "js") and self.rng.random() < MAP_SHARE and budget > 1
            app = self.rng.choice(APPS)
            name = f"{self.rng.choice(WORDS)}-{index:04d}"
            if has_map:
                name += ".min"
            yield app, ext + ("+map" if has_map else ""), f"{SUBDIRS[ext]}/{name}.{ext}"
            budget -= 2 if has_map else 1
            index += 1

    def _binary(self, ext: str) -> bytes:
        median = dict((t[0], t[2]) for t in ASSET_TYPES)[ext]
        size = _size(self.rng, median, self.tiny)
        if ext == "svg":
            body = _text(self.rng, size, '<path d="M{n} {n}L{n} {n}Z" class="{a}-{b}"/>')
            return b'<svg xmlns="http://www.w3.org/2000/svg">' + body + b"</svg>"
        magic = MAGIC[ext]
        return magic + self.rng.randbytes(size - len(magic))

    def _code(self, app: str, kind: str, rel: str, targets: list[str]) -> None:
        ext = kind.removesuffix("+map")
        median = dict((t[0], t[2]) for t in ASSET_TYPES)[ext]
        size = _size(self.rng, median, self.tiny)
        name = rel.rsplit("/", 1)[1]
        if ext == "css":
            body = _text(self.rng, size, ".{a}-{b}{{margin:{n}px;color:#{n}}}")
            refs = self.rng.sample(targets, min(len(targets), self.rng.randrange(0, 4)))
            rules = (f'.r{i}{{background:url("../{t}")}}' for i, t in enumerate(refs))
            body += "".join(rules).encode()
        elif ext == "js":
            body = _text(self.rng, size, "function {a}{n}(){{return {b}.{a}({n})}};")
        else:
            body = _text(self.rng, size, '{{"{a}":{n},"{b}":"{a}-{n}"}},')
            body = b"[" + body + b"{}]"
        if kind.endswith("+map"):
            comment = "/*# sourceMappingURL={}.map */" if ext == "css" else "//# {}"
            if ext == "js":
                comment = comment.format("sourceMappingURL={}.map")
            body += b"\n" + comment.format(name).encode() + b"\n"
            source_map = _text(self.rng, size if self.tiny else size * 2, '"{a}{n}","{b}",')
            self.write(app, rel + ".map", b'{"version":3,"sources":[' + source_map + b'""]}')
        self.write(app, rel, body)


def write_random(path: Path, size: int, rng: random.Random) -> None:
    """Incompressible bytes, like encoded audio or video, written in chunks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size
        while left > 0:
            n = min(CHUNK, left)
            out.write(rng.randbytes(n))
            left -= n


def _pristine(cache: Path, count: int, seed: int, tiny: bool = False) -> Path:
    kind = "-tiny" if tiny else ""
    root = cache / f"pristine-v{GENERATOR_VERSION}-n{count}-s{seed}{kind}"
    if (root / ".complete").exists():
        return root
    shutil.rmtree(root, ignore_errors=True)
    _Generator(root / "apps", count, seed, tiny).run()
    (root / ".complete").write_text("ok\n")
    return root


def _big_file(cache: Path, megabytes: int, seed: int) -> Path:
    path = cache / f"big-{megabytes}mb-s{seed}.mp4"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        write_random(tmp, megabytes * 1024 * 1024, random.Random(seed + megabytes))
        tmp.rename(path)
    return path


def prepare(work: Path, count: int, seed: int, big_file_mb: int = 0, tiny: bool = False) -> Fixture:
    """Lay a fresh working copy of the fixture under `work`/src and return it."""
    cache = work / "fixtures"
    cache.mkdir(parents=True, exist_ok=True)
    pristine = _pristine(cache, count, seed, tiny)
    src = work / "src"
    shutil.rmtree(src, ignore_errors=True)
    # Hard links make the copy instant even with a 1 GB file in the tree.
    shutil.copytree(pristine / "apps", src / "apps", copy_function=os.link)
    if big_file_mb:
        big = _big_file(cache, big_file_mb, seed)
        os.link(big, src / "apps" / MEDIA_APP / "static" / MEDIA_APP / BIG_FILE)
    return Fixture(root=src, apps_dir=src / "apps", apps=APPS)


def touch_all(fixture: Fixture) -> int:
    """Set every source file's mtime to now, as a fresh CI checkout does."""
    files = fixture.static_files()
    for path in files:
        os.utime(path)
    return len(files)


def change_some(fixture: Fixture, share: float, seed: int) -> list[Path]:
    """Rewrite `share` of the small assets with new bytes of the same kind.

    Media files are left alone: a routine deploy edits code and images, and
    rewriting a 12 MB video would dominate the scenario.
    """
    rng = random.Random(seed * 7919 + 1)
    candidates = [p for p in fixture.static_files() if "media" not in p.parts]
    chosen = rng.sample(candidates, max(1, round(len(fixture.static_files()) * share)))
    for path in chosen:
        data = path.read_bytes()
        if path.suffix in (".png", ".woff2"):
            new = data[:8] + rng.randbytes(max(0, len(data) - 8))
        else:
            # Appending keeps css url()s and sourceMappingURL comments valid.
            rev = rng.randrange(10**9)
            if path.suffix == ".json":
                new = data[:-1] + f',{{"rev":{rev}}}]'.encode()
            elif path.suffix == ".map":
                new = data[:-2] + f',"rev{rev}"]}}'.encode()
            elif path.suffix == ".svg":
                new = data[:-6] + f"<!-- rev {rev} --></svg>".encode()
            else:
                new = data + f"\n/* rev {rev} */\n".encode()
        tmp = path.with_name(path.name + ".tmp-rewrite")
        tmp.write_bytes(new)
        os.replace(tmp, path)
    return chosen
