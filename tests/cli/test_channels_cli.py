"""`podium channels …`: the channel operations from scripts, against the real API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ROOT, Stack, upload, wait_for
from tests.support.media import make_clip


def _podium(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **stack.env, PODIUM_API_KEY=stack.api_key)
    return subprocess.run([sys.executable, "-m", "cli.main", "channels", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


def _json(run: subprocess.CompletedProcess[str]) -> object:
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def test_channel_operations_from_the_cli(client: httpx.Client, stack: Stack, worker: Path,
                                         media_dir: Path) -> None:
    clip = make_clip(media_dir / "cli-channel-320x180.mp4", width=320, height=180, seconds=5)
    asset_id = upload(client, clip, title="cli", captions="none").json()["id"]
    assert wait_for(client, asset_id)["status"] == "ready"
    created = _json(_podium(stack, "create", "CLI stage", "--window", "30", "--slate", asset_id))
    assert isinstance(created, dict)
    cid = created["id"]
    added = _json(_podium(stack, "add", cid, asset_id))
    assert isinstance(added, dict)
    item_id = added["items"][0]["id"]
    assert _json(_podium(stack, "start", cid))["state"] == "on_air"  # type: ignore[index]
    schedule = _json(_podium(stack, "schedule", cid))
    assert isinstance(schedule, list) and schedule[0]["item_id"] == item_id
    assert _json(_podium(stack, "skip", cid))["state"] == "on_air"  # type: ignore[index]
    assert cid in {c["id"] for c in _json(_podium(stack, "list"))["items"]}  # type: ignore[index]
    assert _podium(stack, "remove", cid, item_id).returncode == 0
    assert _json(_podium(stack, "stop", cid))["state"] == "idle"  # type: ignore[index]
    missing = _podium(stack, "get", "ch-0000000000000000")
    assert missing.returncode == 1 and "channel_not_found" in missing.stderr
    assert _podium(stack, "delete", cid).returncode == 0
