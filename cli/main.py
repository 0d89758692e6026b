"""The `podium` command: run the stack or parts of it, repair the index, script assets."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from config import get_settings

app = typer.Typer(help="Podium: video messages for live events.", no_args_is_help=True)
assets_app = typer.Typer(help="Assets, through the HTTP API (for scripts).", no_args_is_help=True)
app.add_typer(assets_app, name="assets")
channels_app = typer.Typer(help="Channels, through the HTTP API (for scripts).",
                           no_args_is_help=True)
app.add_typer(channels_app, name="channels")


def _prepare_speech_models(data_dir: Path) -> None:
    """Join the multilingual speech model into the data directory once (checked by hash)."""
    from ingest.captions.asr import AsrError
    from ingest.captions.speech_models import prepare_base_model

    try:
        prepare_base_model(data_dir)
    except AsrError as exc:  # English still works with tiny.en; other languages say why not
        typer.echo(f"multilingual speech model unavailable: {exc.message}", err=True)


@app.command()
def up(workers: Annotated[int, typer.Option(help="RQ workers (0: one per core)")] = -1) -> None:
    """Start Redis, SeaweedFS, the API and workers on loopback; Ctrl-C stops them all."""
    from cli.services import port_open
    from cli.stack import (
        Stack,
        api_port,
        prepare_environment,
        private_data_dir,
        requeue_dead_worker,
    )

    s = get_settings()
    port = api_port(s.public_url)
    if port_open("127.0.0.1", port):
        typer.echo(f"port {port} is already in use: stop what runs there or set "
                   "PODIUM_PUBLIC_URL to another port", err=True)
        raise typer.Exit(1)
    private_data_dir(s.data_dir)
    _prepare_speech_models(s.data_dir)
    own_s3 = not s.s3_endpoint
    env_extra = prepare_environment(s)
    os.environ.update(env_extra)
    get_settings.cache_clear()
    s = get_settings()
    stack = Stack(s, s.data_dir / "logs")
    try:
        stack.start_infra(env_extra, own_s3)
    except Exception as exc:
        stack.stop()
        typer.echo(f"could not start the stack: {exc}", err=True)
        raise typer.Exit(1) from exc
    os.environ.update(env_extra)  # the Redis URL with the password of our own redis-server
    from runtime import handles

    handles.reset()
    s = get_settings()
    env = dict(os.environ)
    _reconcile(quiet=True)
    count = workers if workers >= 0 else (s.workers or os.cpu_count() or 1)
    py = sys.executable
    stack.add("api", [py, "-m", "uvicorn", "api.main:app", "--host", "127.0.0.1",
                      "--port", str(port), "--no-access-log",
                      "--workers", str(api_processes(s.api_workers))], env)
    for i in range(count):
        stack.add(f"worker-{i + 1}", [py, "-m", "cli.main", "worker"], env,
                  on_exit=requeue_dead_worker)
    if s.srt_port_range:
        stack.add("srt", [py, "-m", "cli.main", "srt"], env)
    for i in range(s.live_workers):
        stack.add(f"live-worker-{i + 1}", [py, "-m", "cli.main", "worker", "--live"], env,
                  on_exit=requeue_dead_worker)
    _wait_http(f"http://127.0.0.1:{port}/readyz", 60)
    key = s.api_key_list[0]
    typer.echo(f"""
Podium is up.
  API        {s.public_url}   (OpenAPI docs: {s.public_url}/docs; \
{api_processes(s.api_workers)} processes)
  workers    {count} (+ {s.live_workers} for live streams)
  RTMP       {s.rtmp_ingest_base}/<stream key>
  API key    {key}   (also in {s.data_dir / 'api-key'} when generated)
  logs       {s.data_dir / 'logs'}

  curl -H "Authorization: Bearer {key}" -F file=@talk.mp4 -F title=Keynote {s.public_url}/v1/assets

Ctrl-C stops everything.""")
    stack.supervise()


def api_processes(setting: int) -> int:
    """How many API processes to run: the setting, or one per core when it is 0."""
    return setting or os.cpu_count() or 1


def _wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    typer.echo(f"warning: {url} not ready after {timeout_s:.0f} s", err=True)


@app.command()
def worker(
    queues: Annotated[list[str] | None, typer.Option("--queue", "-q")] = None,
    burst: Annotated[bool, typer.Option(help="Exit when the queues are empty")] = False,
    live: Annotated[bool, typer.Option(help="Serve the live queue (one live stream at a "
                                            "time, for as long as it lasts)")] = False,
) -> None:
    """Run one RQ worker (webhooks, media and captions queues unless told otherwise)."""
    from workers import pipeline
    from workers.worker import run_worker

    run_worker([pipeline.live_queue_name()] if live else queues, burst=burst)


@app.command()
def api(host: str = "127.0.0.1", port: int = 8000,
        processes: Annotated[int, typer.Option(
            "--workers", help="API processes (0: PODIUM_API_WORKERS, else one per core)")] = 0,
        ) -> None:
    """Run the HTTP API alone (several processes on one port: playlists are the hot path)."""
    import uvicorn

    uvicorn.run("api.main:app", host=host, port=port,
                workers=processes or api_processes(get_settings().api_workers))


@app.command()
def rtmp() -> None:
    """Run the RTMP server (nginx with libnginx-mod-rtmp) in the foreground, configured from
    the settings (docker-compose's `rtmp` service; `podium up` starts it itself)."""
    from cli.services import nginx_executable, write_private
    from cli.stack import rtmp_conf

    s = get_settings()
    folder = (s.data_dir / "rtmp").resolve()
    write_private(folder / "nginx.conf", rtmp_conf(s))
    exe = nginx_executable()
    os.execv(exe, [exe, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", "stderr"])


@app.command()
def srt() -> None:
    """Run the SRT listeners (one per open live stream, `PODIUM_SRT_PORTS`), relaying each to
    the RTMP server; `podium up` starts this when SRT ports are set."""
    import logging
    import signal
    import threading

    from ingest.live.srt import SrtRelays
    from runtime import handles

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    s = get_settings()
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    SrtRelays(handles.live_store(), s.srt_bind, s.rtmp_playback_base, s.ffmpeg_nice).run(stopping)


@app.command()
def reconcile() -> None:
    """Rebuild the Redis index from the bucket and re-queue unfinished assets."""
    _reconcile(quiet=False)


def _reconcile(quiet: bool) -> None:
    from runtime import handles
    from workers.recovery import reconcile as run

    report = run(handles.asset_store(), handles.redis_connection(), handles.channel_store(),
                 handles.slot_store(), handles.live_store())
    if not quiet or report.requeued:
        typer.echo(f"reconcile: {report.indexed} assets indexed, {len(report.requeued)} re-queued"
                   + (f" ({', '.join(report.requeued)})" if report.requeued else "")
                   + f", {report.channels} channels, {report.uploads} upload slots, "
                   f"{report.live_streams} live streams")


@app.command()
def status() -> None:
    """Health at a glance: stores, queues, workers, channels on air, live streams, viewers."""
    from cli.status import render, use_local_stack

    use_local_stack(get_settings())
    text, healthy = render()
    typer.echo(text)
    if not healthy:
        raise typer.Exit(1)


def _client() -> httpx.Client:
    s = get_settings()
    key = os.environ.get("PODIUM_API_KEY") or (s.api_key_list or [""])[0]
    key_file = s.data_dir / "api-key"
    if not key and key_file.exists():
        key = key_file.read_text().strip()
    return httpx.Client(base_url=s.public_url, headers={"Authorization": f"Bearer {key}"},
                        timeout=httpx.Timeout(30, read=600))


def _show(resp: httpx.Response) -> None:
    if resp.status_code >= 400:
        typer.echo(resp.text, err=True)
        raise typer.Exit(1)
    if resp.content:
        typer.echo(json.dumps(resp.json(), indent=2))


@assets_app.command("upload")
def assets_upload(path: Path, title: str | None = None, speaker: str | None = None,
                  language: str = "en", captions: str = "auto", visibility: str = "public",
                  wait: bool = typer.Option(False, help="Wait until ready or errored")) -> None:
    """Upload a video file."""
    data = {k: v for k, v in {"title": title, "speaker": speaker, "language": language,
                              "captions": captions, "visibility": visibility}.items() if v}
    with _client() as c, path.open("rb") as fh:
        resp = c.post("/v1/assets", data=data, files={"file": (path.name, fh)})
        if resp.status_code >= 400 or not wait:
            _show(resp)
            return
        asset_id = resp.json()["id"]
        while True:
            resp = c.get(f"/v1/assets/{asset_id}")
            body = resp.json()
            if body.get("status") in ("ready", "errored"):
                break
            prog = body.get("progress", {})
            typer.echo(f"{prog.get('stage')} {prog.get('percent')}%", err=True)
            time.sleep(2)
        _show(resp)


@assets_app.command("list")
def assets_list(limit: int = 50) -> None:
    """List assets, newest first."""
    with _client() as c:
        _show(c.get("/v1/assets", params={"limit": limit}))


@assets_app.command("get")
def assets_get(asset_id: str) -> None:
    """Show one asset."""
    with _client() as c:
        _show(c.get(f"/v1/assets/{asset_id}"))


@assets_app.command("delete")
def assets_delete(asset_id: str) -> None:
    """Delete an asset and everything stored for it."""
    with _client() as c:
        _show(c.delete(f"/v1/assets/{asset_id}"))


@channels_app.command("create")
def channels_create(name: str, mode: str = "linear", window: int = 60,
                    private: bool = typer.Option(False, help="Viewers need a playback token"),
                    slate: str | None = typer.Option(None, help="Asset id of a slate")) -> None:
    """Create a channel (idle, empty queue)."""
    body = {"name": name, "mode": mode, "window_s": window,
            "visibility": "private" if private else "public", "slate_asset_id": slate}
    with _client() as c:
        _show(c.post("/v1/channels", json=body))


@channels_app.command("list")
def channels_list() -> None:
    """List channels."""
    with _client() as c:
        _show(c.get("/v1/channels"))


@channels_app.command("get")
def channels_get(channel_id: str) -> None:
    """Show a channel: queue, now and next."""
    with _client() as c:
        _show(c.get(f"/v1/channels/{channel_id}"))


@channels_app.command("add")
def channels_add(channel_id: str, asset_id: str, position: int | None = None,
                 starts_at: str | None = typer.Option(None, help="ISO-8601 wall-clock start")
                 ) -> None:
    """Queue a ready asset (at the end, or at --position)."""
    body: dict[str, object] = {"asset_id": asset_id}
    if position is not None:
        body["position"] = position
    if starts_at:
        body["starts_at"] = starts_at
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/items", json=body))


@channels_app.command("remove")
def channels_remove(channel_id: str, item_id: str) -> None:
    """Remove an item from the queue."""
    with _client() as c:
        _show(c.delete(f"/v1/channels/{channel_id}/items/{item_id}"))


@channels_app.command("move")
def channels_move(channel_id: str, item_id: str, position: int) -> None:
    """Move an item to another position."""
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/items/{item_id}/move",
                     json={"position": position}))


@channels_app.command("start")
def channels_start(channel_id: str) -> None:
    """Go on air."""
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/start"))


@channels_app.command("stop")
def channels_stop(channel_id: str) -> None:
    """Go off air at the next segment boundary."""
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/stop"))


@channels_app.command("skip")
def channels_skip(channel_id: str) -> None:
    """Cut what is on air at the next segment boundary."""
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/skip"))


@channels_app.command("cut")
def channels_cut(channel_id: str, live_stream_id: str,
                 starts_at: str | None = typer.Option(None, help="ISO-8601 wall-clock time")
                 ) -> None:
    """Cut to a live stream at the next segment boundary (or at --starts-at)."""
    body: dict[str, object] = {"live_stream_id": live_stream_id}
    if starts_at:
        body["starts_at"] = starts_at
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/cut", json=body))


@channels_app.command("uncut")
def channels_uncut(channel_id: str) -> None:
    """Back from a live stream to the queue at the next segment boundary."""
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/cut/end"))


@channels_app.command("schedule")
def channels_schedule(channel_id: str) -> None:
    """What plays when."""
    with _client() as c:
        _show(c.get(f"/v1/channels/{channel_id}/schedule"))


@channels_app.command("slate")
def channels_slate(channel_id: str, asset_id: str) -> None:
    """Use a ready asset as the channel's slate."""
    with _client() as c:
        _show(c.put(f"/v1/channels/{channel_id}/slate", json={"asset_id": asset_id}))


@channels_app.command("token")
def channels_token(channel_id: str) -> None:
    """A playback token for a private channel."""
    with _client() as c:
        _show(c.post(f"/v1/channels/{channel_id}/playback-tokens"))


@channels_app.command("delete")
def channels_delete(channel_id: str) -> None:
    """Delete a channel."""
    with _client() as c:
        _show(c.delete(f"/v1/channels/{channel_id}"))


if __name__ == "__main__":
    app()
