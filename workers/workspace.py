"""This host's scratch space for jobs: one folder per asset under `<data_dir>/work/`, and the
local copy of an asset's source, fetched once and reused by later jobs on the same host."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from config import get_settings
from ingest.assets.store import AssetStore
from ingest.errors import NotFound, SourceMissing
from ingest.storage import keys


def work_root() -> Path:
    """The folder that holds every asset's scratch folder on this host."""
    path = get_settings().data_dir.resolve() / "work"
    path.mkdir(parents=True, exist_ok=True)
    return path


def work_dir(asset_id: str) -> Path:
    path = work_root() / asset_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean(asset_id: str) -> None:
    """Drop the asset's scratch folder (done, errored or deleted)."""
    shutil.rmtree(work_root() / asset_id, ignore_errors=True)


def _source_name(version: int) -> str:
    return f"source-v{version}" if version else "source"


def cached_source(asset_id: str, version: int = 0) -> Path | None:
    """The complete local copy of the source an earlier job on this host fetched, if any."""
    path = work_root() / asset_id / _source_name(version)
    return path if path.exists() and path.with_suffix(".complete").exists() else None


def download_source(store: AssetStore, asset_id: str, target: Path, version: int = 0) -> None:
    """Fetch the uploaded source to ``target``; its absence is permanent (`source_missing`)."""
    try:
        store.storage.download_file(keys.source(asset_id, version), target)
    except NotFound as exc:
        raise SourceMissing("The uploaded source is missing from storage.") from exc


def local_source(store: AssetStore, asset_id: str, version: int = 0) -> Path:
    """The source of ``version`` on local disk; reused when an earlier job on this host
    fetched it already."""
    cached = cached_source(asset_id, version)
    if cached is not None:
        return cached
    path = work_dir(asset_id) / _source_name(version)
    # a name of this process's own: chunk jobs of one asset on workers of one host may fetch
    # it at the same time (the same bytes: the last rename wins, whole)
    partial = path.with_suffix(f".part-{os.getpid()}")
    download_source(store, asset_id, partial, version)
    partial.rename(path)
    path.with_suffix(".complete").touch()
    return path
