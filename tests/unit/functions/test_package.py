"""Deployment packages: the AWS errors, the escapes and bombs, and round trips."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import os
import stat
import struct
import tempfile
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nimbus.errors import InvalidParameterValue, NimbusError, RequestEntityTooLarge
from nimbus.functions.package import CodePackage, extract_package, inspect_package
from nimbus.functions.package_limits import UNZIP_ERROR_MESSAGE, PackageLimits
from nimbus.packaging import build_package, zip_directory

LIMITS = PackageLimits()
# The zip record layouts (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16).
LOCAL_HEADER = "<4s2B4HL2L2H"
CENTRAL_ENTRY = "<4s4B4HL2L5H2L"
END_RECORD = "<4s4H2LH"
SMALL = PackageLimits(zipped=1_000_000, unzipped=1_048_576, entries=10)


# ------------------------------------------------------------------ crafting


def member(name: str, mode: int = stat.S_IFREG | 0o644, *, stored: bool = False) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    return info


def craft(*entries: tuple[zipfile.ZipInfo, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate names are the point
        with zipfile.ZipFile(buffer, "w") as archive:
            for info, content in entries:
                archive.writestr(info, content)
    return buffer.getvalue()


def link(name: str, target: str) -> tuple[zipfile.ZipInfo, str]:
    return member(name, stat.S_IFLNK | 0o777, stored=True), target


def central_entry(data: bytes, index: int = 0) -> int:
    position = -1
    for _ in range(index + 1):
        position = data.index(b"PK\x01\x02", position + 1)
    return position


def lie_about_size(data: bytes, file_size: int) -> bytes:
    """Rewrite the single entry's declared size (local header and directory)."""
    patched = bytearray(data)
    size = file_size.to_bytes(4, "little")
    patched[22:26] = size
    start = central_entry(data)
    patched[start + 24 : start + 28] = size
    return bytes(patched)


def assert_unzip_error(data: bytes, tmp_path: Path, limits: PackageLimits = LIMITS) -> None:
    assert_rejected(data, tmp_path, limits, UNZIP_ERROR_MESSAGE)


def assert_rejected(data: bytes, tmp_path: Path, limits: PackageLimits, message: str) -> None:
    """Inspect and extract both raise `message`, and extraction leaves nothing behind."""
    with pytest.raises(InvalidParameterValue) as inspected:
        inspect_package(data, limits)
    assert inspected.value.message == message
    with pytest.raises(InvalidParameterValue) as extracted:
        extract_package(data, tmp_path / "out" / "pkg", limits)
    assert extracted.value.message == message
    assert_nothing_left(tmp_path)


def assert_nothing_left(tmp_path: Path) -> None:
    """A failed extraction leaves no destination, staging directory or stray file."""
    left = [p for p in tmp_path.rglob("*") if p != tmp_path / "out"]
    assert left == []


def tree_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and not p.is_symlink()
    }


# ---------------------------------------------------------------- happy path


def test_inspect_reports_lambda_code_fields() -> None:
    data = build_package({"app.py": "def handler(event, context):\n    return 1\n"})
    package = inspect_package(data, LIMITS)
    digest = hashlib.sha256(data).digest()
    assert package == CodePackage(
        sha256=base64.b64encode(digest).decode(),
        size=len(data),
        unzipped_size=len("def handler(event, context):\n    return 1\n"),
        digest_hex=digest.hex(),
    )


def test_extract_writes_files_with_modes(tmp_path: Path) -> None:
    data = craft(
        (member("app.py"), "print('hi')\n"),
        (member("bin/run", stat.S_IFREG | 0o700), "#!/bin/sh\n"),
        (member("empty/", stat.S_IFDIR | 0o700), b""),
        (member("lib/deep/mod.py", stat.S_IFREG | 0o600, stored=True), b"x = 1\n"),
    )
    dest = tmp_path / "code" / "abc"
    package = extract_package(data, dest, LIMITS)
    assert package == inspect_package(data, LIMITS)
    assert tree_of(dest) == {
        "app.py": b"print('hi')\n",
        "bin/run": b"#!/bin/sh\n",
        "lib/deep/mod.py": b"x = 1\n",
    }
    modes = {
        p.relative_to(dest).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in dest.rglob("*")
    }
    assert modes == {
        "app.py": 0o644,
        "bin": 0o755,
        "bin/run": 0o755,
        "empty": 0o755,
        "lib": 0o755,
        "lib/deep": 0o755,
        "lib/deep/mod.py": 0o644,
    }
    assert stat.S_IMODE(dest.stat().st_mode) == 0o755
    assert sorted(p.name for p in dest.parent.iterdir()) == ["abc"]  # no staging left


def test_trailing_slash_makes_a_directory_whatever_its_mode(tmp_path: Path) -> None:
    data = craft((member("a/"), b""), (member("b/", 0), b""), (member("a/x"), b"x"))
    extract_package(data, tmp_path / "pkg", LIMITS)
    assert (tmp_path / "pkg" / "b").is_dir()
    assert tree_of(tmp_path / "pkg") == {"a/x": b"x"}


def test_dot_slash_root_entry_is_the_package_root(tmp_path: Path) -> None:
    data = craft((member("./", stat.S_IFDIR | 0o755), b""), (member("./a.py"), "a"))
    extract_package(data, tmp_path / "pkg", LIMITS)
    assert tree_of(tmp_path / "pkg") == {"a.py": b"a"}


def test_large_compressible_and_random_content_round_trips(tmp_path: Path) -> None:
    # Spans many decompression chunks and input feeds.
    files = {"big.txt": b"abcdefgh" * 700_000, "noise.bin": os.urandom(300_000), "empty": b""}
    package = extract_package(build_package(files), tmp_path / "pkg", LIMITS)
    assert tree_of(tmp_path / "pkg") == files
    assert package.unzipped_size == sum(map(len, files.values()))


def test_existing_destination_is_returned_untouched(tmp_path: Path) -> None:
    data = build_package({"a.py": "a"})
    dest = tmp_path / "pkg"
    dest.mkdir()
    (dest / "marker").write_text("already here")
    package = extract_package(data, dest, LIMITS)
    assert package == inspect_package(data, LIMITS)
    assert tree_of(dest) == {"marker": b"already here"}
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]


def test_losing_a_concurrent_extraction_keeps_the_winner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "pkg"
    dest.mkdir()
    (dest / "winner").write_text("w")
    monkeypatch.setattr(os.path, "lexists", lambda _path: False)  # the race window
    extract_package(build_package({"a.py": "a"}), dest, LIMITS)
    assert tree_of(dest) == {"winner": b"w"}
    assert [p.name for p in tmp_path.iterdir()] == ["pkg"]


def test_empty_zip_is_an_empty_package(tmp_path: Path) -> None:
    package = extract_package(build_package({}), tmp_path / "pkg", LIMITS)
    assert package.unzipped_size == 0
    assert list((tmp_path / "pkg").iterdir()) == []


# ------------------------------------------------------------------- sizes


def test_zip_over_the_default_limit_is_too_large() -> None:
    data = bytes(60 * 1024 * 1024)
    with pytest.raises(RequestEntityTooLarge) as caught:
        inspect_package(data, LIMITS)
    assert caught.value.message == "Zipped size must be smaller than 52428800 bytes"
    assert caught.value.status == 413


def test_zipped_limit_is_inclusive_and_quoted(tmp_path: Path) -> None:
    data = build_package({"a.py": "a"})
    inspect_package(data, PackageLimits(zipped=len(data)))
    with pytest.raises(RequestEntityTooLarge) as caught:
        extract_package(data, tmp_path / "pkg", PackageLimits(zipped=len(data) - 1))
    assert caught.value.message == f"Zipped size must be smaller than {len(data) - 1} bytes"
    assert list(tmp_path.iterdir()) == []


def test_declared_unzipped_size_over_limit(tmp_path: Path) -> None:
    data = build_package({"a.bin": bytes(600_000), "b.bin": bytes(600_000)})
    assert_rejected(data, tmp_path, SMALL, "Unzipped size must be smaller than 1048576 bytes")
    inspect_package(data, PackageLimits(unzipped=1_200_000))


def test_bomb_lying_about_its_size_is_stopped_by_actual_bytes(tmp_path: Path) -> None:
    bomb = lie_about_size(build_package({"bomb": bytes(20 * 1024 * 1024)}), file_size=10)
    assert zipfile.ZipFile(io.BytesIO(bomb)).infolist()[0].file_size == 10
    assert_rejected(bomb, tmp_path, SMALL, "Unzipped size must be smaller than 1048576 bytes")


@pytest.mark.parametrize("declared", [10, 2000])
def test_entry_whose_size_differs_from_its_declaration_is_corrupt(
    tmp_path: Path, declared: int
) -> None:
    liar = lie_about_size(build_package({"f": bytes(1000)}), file_size=declared)
    assert_unzip_error(liar, tmp_path)


# ---------------------------------------------------------------- corruption


def test_not_a_zip(tmp_path: Path) -> None:
    assert_unzip_error(b"this is not a zip file at all", tmp_path)


def test_truncated_zip(tmp_path: Path) -> None:
    assert_unzip_error(build_package({"a.py": "a" * 100})[:-30], tmp_path)


def test_bad_crc(tmp_path: Path) -> None:
    data = bytearray(craft((member("a.txt", stored=True), b"hello world")))
    data[data.index(b"hello")] = ord("j")
    assert_unzip_error(bytes(data), tmp_path)


def test_corrupt_deflate_stream(tmp_path: Path) -> None:
    data = bytearray(build_package({"a.txt": os.urandom(2000)}))
    start = 30 + len("a.txt")
    data[start : start + 50] = b"\xff" * 50
    assert_unzip_error(bytes(data), tmp_path)


def test_encrypted_entry(tmp_path: Path) -> None:
    data = bytearray(craft((member("secret.txt", stored=True), b"not really encrypted")))
    data[6] |= 0x1  # zipfile cannot write the flag, so set it in both headers
    data[central_entry(bytes(data)) + 8] |= 0x1
    assert zipfile.ZipFile(io.BytesIO(data)).infolist()[0].flag_bits & 0x1
    assert_unzip_error(bytes(data), tmp_path)


def test_unsupported_compression(tmp_path: Path) -> None:
    info = member("a.txt")
    info.compress_type = zipfile.ZIP_BZIP2
    assert_unzip_error(craft((info, b"bzip2 is not taken")), tmp_path)


def test_local_header_name_must_match_directory(tmp_path: Path) -> None:
    data = bytearray(build_package({"good.py": "x"}))
    data[30:37] = b"evil.py"
    assert_unzip_error(bytes(data), tmp_path)


def test_overlapping_entries_are_rejected(tmp_path: Path) -> None:
    """An entry hidden inside another's data, the basis of non-recursive zip bombs."""
    inner = craft((member("b", stored=True), b"payload"))
    hidden = inner[: central_entry(inner)]  # b's local header and data
    data = bytearray(
        craft((member("a", stored=True), hidden), (member("b", stored=True), b"payload"))
    )
    b_entry = central_entry(bytes(data), 1)
    data[b_entry + 42 : b_entry + 46] = (30 + len("a")).to_bytes(4, "little")
    assert {i.filename: i.header_offset for i in zipfile.ZipFile(io.BytesIO(data)).infolist()} == {
        "a": 0,
        "b": 31,
    }
    assert_unzip_error(bytes(data), tmp_path)


def test_too_many_entries(tmp_path: Path) -> None:
    limits = PackageLimits(entries=3)
    inspect_package(build_package({f"f{i}": "x" for i in range(3)}), limits)
    assert_unzip_error(build_package({f"f{i}": "x" for i in range(4)}), tmp_path, limits)


def test_default_entry_limit_is_checked_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    local = struct.pack(LOCAL_HEADER, b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)
    central = struct.pack(
        CENTRAL_ENTRY,
        b"PK\x01\x02",
        20,
        3,
        20,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    count = 100_001
    end = struct.pack(
        END_RECORD,
        b"PK\x05\x06",
        0,
        0,
        0xFFFF,
        0xFFFF,
        (len(central) + 1) * count,
        len(local) + 1,
        0,
    )
    data = local + b"a" + (central + b"a") * count + end

    def no_parsing(*_args: object) -> None:
        raise AssertionError("the directory was parsed")

    monkeypatch.setattr(zipfile, "ZipFile", no_parsing)
    with pytest.raises(InvalidParameterValue, match="Could not unzip"):
        inspect_package(data, LIMITS)


# -------------------------------------------------------------------- escapes

NUL_NAME = "evilX.txt"


@pytest.mark.parametrize(
    "name",
    [
        "../evil",
        "a/../../evil",
        "a/b/../../../evil",
        "..",
        "/abs",
        "/etc/passwd",
        "//server/share/evil",
        "C:/evil",
        "c:evil",
        "..\\..\\evil",
        "a\\b",
        ".",
        "x" * 256,
        "/".join(["d" * 200] * 21),
    ],
)
def test_escaping_or_unusable_names_are_rejected(tmp_path: Path, name: str) -> None:
    assert_unzip_error(craft((member(name), b"owned")), tmp_path)


def test_nul_in_name_is_rejected(tmp_path: Path) -> None:
    data = craft((member(NUL_NAME), b"owned")).replace(b"evilX", b"evil\0")
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["evil"]  # zipfile hides it
    assert_unzip_error(data, tmp_path)


def test_long_but_legal_names_are_accepted(tmp_path: Path) -> None:
    name = "/".join(["d" * 200] * 20)  # 4019 bytes, components of 200
    inspect_package(craft((member(name), b"ok")), LIMITS)


@pytest.mark.parametrize(
    "mode", [stat.S_IFIFO | 0o644, stat.S_IFCHR | 0o644, stat.S_IFBLK | 0o644, stat.S_IFSOCK]
)
def test_special_files_are_rejected(tmp_path: Path, mode: int) -> None:
    assert_unzip_error(craft((member("dev", mode), b"")), tmp_path)


def test_directory_entry_with_data_is_rejected(tmp_path: Path) -> None:
    data = craft((member("dir/", stat.S_IFDIR | 0o755), b"data"))
    assert_unzip_error(data, tmp_path)


# ------------------------------------------------------------------ symlinks


@pytest.mark.parametrize(
    "entries",
    [
        [link("passwd", "/etc/passwd")],
        [link("up", "..")],
        [link("up", "../outside")],
        [link("a/up", "../../outside")],
        [link("a/b/up", "../../../etc")],
        [link("dot", ".")],
        [link("self", "")],
        [link("l", "sub/../..")],
        [link("l", "s/.."), (member("s/x"), b"")],
        [link("l", "a//b")],
        [link("l", "C:/x")],
        [link("l", "..\\..\\x")],
        [link("l", "x\0y")],
        [link("l", "x" * 4096)],
    ],
    ids=lambda entries: repr(entries[0][1]),
)
def test_symlinks_that_could_leave_the_package_are_rejected(
    tmp_path: Path, entries: list[tuple[zipfile.ZipInfo, str | bytes]]
) -> None:
    assert_unzip_error(craft(*entries), tmp_path)


def test_symlink_with_undecodable_target_is_rejected(tmp_path: Path) -> None:
    assert_unzip_error(craft((link("l", "x")[0], b"\xff\xfe")), tmp_path)


@pytest.mark.parametrize(
    "entries",
    [
        [link("d", "sub"), (member("sub/x"), b""), (member("d/evil"), b"owned")],
        [(member("d/evil"), b"owned"), link("d", "sub")],
        [link("d", "sub"), (member("d/", stat.S_IFDIR | 0o755), b"")],
    ],
)
def test_nothing_may_be_written_through_a_symlink(
    tmp_path: Path, entries: list[tuple[zipfile.ZipInfo, str | bytes]]
) -> None:
    assert_unzip_error(craft(*entries), tmp_path)


def test_symlinks_inside_the_package_are_kept(tmp_path: Path) -> None:
    data = craft(
        (member("node_modules/pkg/cli.js", stat.S_IFREG | 0o755), b"#!/usr/bin/env node\n"),
        link("node_modules/.bin/cli", "../pkg/cli.js"),
        (member("lib/libx.so.1"), b"ELF"),
        link("lib/libx.so", "libx.so.1"),
        link("dangling", "missing/file"),
    )
    dest = tmp_path / "pkg"
    package = extract_package(data, dest, LIMITS)
    assert package.unzipped_size == len(b"#!/usr/bin/env node\n" + b"ELF") + len(
        "../pkg/cli.js" + "libx.so.1" + "missing/file"
    )
    assert os.readlink(dest / "node_modules/.bin/cli") == "../pkg/cli.js"
    assert (dest / "node_modules/.bin/cli").read_bytes() == b"#!/usr/bin/env node\n"
    assert (dest / "lib/libx.so").read_bytes() == b"ELF"
    assert os.readlink(dest / "dangling") == "missing/file"
    for path in dest.rglob("*"):
        assert Path(os.path.realpath(path)).is_relative_to(dest.resolve())


# ----------------------------------------------------------------- collisions


@pytest.mark.parametrize(
    "entries",
    [
        [(member("a"), b"1"), (member("a"), b"2")],
        [(member("a"), b"1"), (member("a/b"), b"2")],
        [(member("a/b"), b"1"), (member("a"), b"2")],
        [(member("a/", stat.S_IFDIR | 0o755), b""), (member("a"), b"2")],
        [(member("a"), b"1"), (member("a/", stat.S_IFDIR | 0o755), b"")],
        [(member("a"), b"1"), (member("./a"), b"2")],
        [(member("a"), b"1"), link("a", "b")],
    ],
)
def test_name_collisions_are_rejected(
    tmp_path: Path, entries: list[tuple[zipfile.ZipInfo, str | bytes]]
) -> None:
    assert_unzip_error(craft(*entries), tmp_path)


def test_repeated_directory_entries_are_fine(tmp_path: Path) -> None:
    data = craft(
        (member("a/b/c"), b"1"),
        (member("a/", stat.S_IFDIR | 0o755), b""),
        (member("a/", stat.S_IFDIR | 0o755), b""),
        (member("a/b/", stat.S_IFDIR | 0o755), b""),
    )
    extract_package(data, tmp_path / "pkg", LIMITS)
    assert tree_of(tmp_path / "pkg") == {"a/b/c": b"1"}


# ------------------------------------------------------------------- properties


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_raise_only_nimbus_errors(data: bytes) -> None:
    with contextlib.suppress(NimbusError):
        inspect_package(data, SMALL)


VALID = build_package({"a.py": "print(1)\n" * 20, "d/b.bin": bytes(range(256)), "d/e/": ""})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_zips_raise_only_nimbus_errors_and_agree(data: st.DataObject) -> None:
    damaged = bytearray(VALID)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    damaged = damaged[: data.draw(st.integers(0, len(damaged)))]
    with tempfile.TemporaryDirectory() as scratch:
        outcomes = [outcome(lambda: inspect_package(bytes(damaged), SMALL))]
        dest = Path(scratch) / "pkg"
        outcomes.append(outcome(lambda: extract_package(bytes(damaged), dest, SMALL)))
        assert outcomes[0] == outcomes[1]  # inspect accepts exactly what extract accepts
        assert sorted(os.listdir(scratch)) == (["pkg"] if outcomes[0] == "ok" else [])


def outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except NimbusError as error:
        return error.message
    return "ok"


SEGMENT = st.text(
    st.characters(codec="utf-8", exclude_characters="/\\\0"), min_size=1, max_size=12
).filter(lambda s: s not in (".", "..") and not (len(s) > 1 and s[1] == ":"))


def without_prefix_collisions(paths: list[tuple[str, ...]]) -> bool:
    names = set(paths)
    return len(names) == len(paths) and not any(
        p[:i] in names for p in paths for i in range(1, len(p))
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.lists(SEGMENT, min_size=1, max_size=4).map(tuple), st.binary(max_size=3000)),
        max_size=12,
        unique_by=lambda item: item[0],
    ).filter(lambda items: without_prefix_collisions([path for path, _ in items]))
)
def test_valid_trees_round_trip_exactly(items: list[tuple[tuple[str, ...], bytes]]) -> None:
    files = {"/".join(path): content for path, content in items}
    data = build_package(files)
    with tempfile.TemporaryDirectory() as scratch:
        package = extract_package(data, Path(scratch) / "pkg", LIMITS)
        assert tree_of(Path(scratch) / "pkg") == files
    assert package == inspect_package(data, LIMITS)
    assert package.unzipped_size == sum(map(len, files.values()))


# ---------------------------------------------------------------- building


def test_build_package_is_deterministic_and_order_independent() -> None:
    first = build_package({"b.py": "b", "a.py": b"a"})
    assert first == build_package({"a.py": "a", "b.py": b"b"})
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == ["a.py", "b.py"]


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "project"
    (root / "pkg" / "__pycache__").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "pkg" / "sub").mkdir()
    (root / "app.py").write_text("import pkg\n")
    (root / "app.pyc").write_bytes(b"compiled")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"compiled")
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "bootstrap").write_text("#!/bin/sh\n")
    (root / "bootstrap").chmod(0o700)
    (root / "pkg" / "data.json").write_text("{}")
    (root / "pkg" / "data.json").chmod(0o600)
    (root / "current").symlink_to("pkg/data.json")
    yield root


def test_zip_directory_skips_caches_and_is_deterministic(project: Path) -> None:
    first = zip_directory(project)
    os.utime(project / "app.py", (1_000_000_000, 1_000_000_000))
    (project / "pkg" / "data.json").write_text("{}")  # new mtime, same content
    assert zip_directory(project) == first
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == [
        "app.py",
        "bootstrap",
        "current",
        "pkg/",
        "pkg/__init__.py",
        "pkg/data.json",
        "pkg/sub/",
    ]
    (project / "app.py").write_text("import pkg  # changed\n")
    assert zip_directory(project) != first


def test_zip_directory_round_trips_modes_and_links(project: Path, tmp_path: Path) -> None:
    dest = tmp_path / "deployed"
    extract_package(zip_directory(project), dest, LIMITS)
    assert stat.S_IMODE((dest / "bootstrap").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "pkg" / "data.json").stat().st_mode) == 0o644
    assert os.readlink(dest / "current") == "pkg/data.json"
    assert (dest / "pkg" / "sub").is_dir()
    assert tree_of(dest) == {
        "app.py": b"import pkg\n",
        "bootstrap": b"#!/bin/sh\n",
        "pkg/__init__.py": b"",
        "pkg/data.json": b"{}",
    }


def test_crafted_crc_helper_sanity() -> None:
    # The corruption tests rely on zipfile itself agreeing that the crafted zips are bad.
    data = bytearray(craft((member("a.txt", stored=True), b"hello world")))
    data[data.index(b"hello")] = ord("j")
    with pytest.raises(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.read("a.txt")
    assert zlib.crc32(b"hello world") != zlib.crc32(b"jello world")
