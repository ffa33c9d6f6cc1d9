"""The runtime library is a self-contained tree that can be bound into an environment."""

from __future__ import annotations

import os
from pathlib import Path

from nimbus.sandbox import runtime_lib, visibility


def test_the_tree_holds_real_files_not_links(tmp_path: Path) -> None:
    tree = runtime_lib.build(tmp_path)
    assert tree.parent == tmp_path
    assert {"boto3", "botocore", "s3transfer"} <= {entry.name for entry in tree.iterdir()}
    links = [Path(d) / n for d, dirs, files in os.walk(tree) for n in dirs + files]
    assert not [path for path in links if path.is_symlink()]
    assert (tree / "botocore" / "data" / "endpoints.json").is_file()


def test_the_tree_is_built_once_and_old_links_are_removed(tmp_path: Path) -> None:
    (tmp_path / "boto3").symlink_to("/nonexistent")  # what earlier versions left
    first = runtime_lib.build(tmp_path)
    marker = first / "boto3" / "__init__.py"
    stamp = marker.stat().st_ino
    assert runtime_lib.build(tmp_path) == first
    assert marker.stat().st_ino == stamp
    assert sorted(entry.name for entry in tmp_path.iterdir()) == [first.name]


def test_is_within_resolves_links(tmp_path: Path) -> None:
    (tmp_path / "real" / "lib").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert visibility.is_within(str(tmp_path / "alias" / "lib"), str(tmp_path / "real"))
    assert visibility.is_within(str(tmp_path / "real"), str(tmp_path / "real"))
    assert not visibility.is_within(str(tmp_path / "real"), str(tmp_path / "real" / "lib"))
