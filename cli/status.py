"""`podium status`: the operator's view in a terminal, read straight from Redis and the bucket
(the same sources as `/metrics`, so it works while the API is down)."""

from __future__ import annotations

import os
import time

from redis.exceptions import RedisError

from cli.services import redis_answers
from cli.stack import with_password
from config import Settings, get_settings
from runtime import handles
from workers import metrics, overview


def use_local_stack(s: Settings) -> None:
    """Reach the stack `podium up` runs from this data directory: its own Redis wants the
    generated password and its SeaweedFS the generated secret (both in var/, read here, never
    created). Settings given in the environment win."""
    env = {}
    secret = s.data_dir / "s3-secret"
    if not s.s3_endpoint and secret.exists():
        env["PODIUM_S3_ENDPOINT"] = f"http://127.0.0.1:{s.s3_port}"
        env["PODIUM_S3_SECRET_KEY"] = s.s3_secret_key or secret.read_text().strip()
    password = s.data_dir / "redis-password"
    if password.exists() and not redis_answers(s.redis_url):
        env["PODIUM_REDIS_URL"] = with_password(s.redis_url, password.read_text().strip())
    if env:
        os.environ.update(env)
        handles.reset()


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _mark(ok: bool) -> str:
    return "ok" if ok else "DOWN"


def render(now: float | None = None) -> tuple[str, bool]:
    """The status text and whether the service looks healthy (stores up, a worker alive)."""
    now = time.time() if now is None else now
    s = get_settings()
    conn = handles.readiness_redis()
    lines = [f"Podium status (queue prefix {s.queue_prefix}, {time.strftime('%H:%M:%S')})", ""]
    try:
        storage = handles.storage()
    except RuntimeError as exc:  # no storage settings at all
        lines.append(f"storage    not configured: {exc}")
        storage = None
    stores = overview.stores(conn, storage)
    lines.append("stores     " + "   ".join(f"{k} {_mark(v)}" for k, v in stores.items()))
    if not stores["redis"]:
        lines.append("\nRedis does not answer: queues, workers and channels are unknown.")
        return "\n".join(lines), False
    try:
        body, workers_alive = _redis_part(now)
    except RedisError as exc:
        lines.append(f"\nRedis failed while reading: {exc}")
        return "\n".join(lines), False
    lines += body
    return "\n".join(lines), all(stores.values()) and workers_alive


def _redis_part(now: float) -> tuple[list[str], bool]:
    conn = handles.readiness_redis()
    lines = ["", f"{'queue':<28}{'waiting':>8}{'oldest':>8}{'running':>8}{'deferred':>9}"
                 f"{'scheduled':>10}{'failed':>7}"]
    for q in overview.queues(conn, now):
        lines.append(f"{q.name:<28}{q.waiting:>8}{_age(q.oldest_age_s):>8}{q.running:>8}"
                     f"{q.deferred:>9}{q.scheduled:>10}{q.failed:>7}")
    workers = overview.workers(conn, now)
    busy = sum(1 for w in workers if w.state == "busy")
    lines += ["", f"workers    {len(workers)} registered, {busy} busy"]
    for w in workers:
        doing = f"{w.job_id} for {_age(w.job_age_s)}" if w.job_id else ""
        beat = _age(w.heartbeat_age_s)
        lines.append(f"  {w.name:<34}{w.state:<10}{doing}  (heartbeat {beat} ago)")
    channels = overview.channels(handles.channel_store())
    viewers = metrics.viewers(conn, now)
    counts = sorted(channels.by_state.items())
    lines += ["", "channels   " + ", ".join(f"{n} {k}" for k, n in counts)]
    window = get_settings().viewer_window_s
    for channel_id, name in channels.on_air:
        lines.append(f"  on air  {channel_id}  {name}  ({viewers.get(channel_id, 0)} viewers "
                     f"in the last {window} s)")
    live = overview.live_streams(handles.live_store())
    lines += ["", "live       " + ", ".join(f"{n} {k}" for k, n in live.by_state.items())]
    for stream_id, title in live.active:
        lines.append(f"  active  {stream_id}  {title}")
    return lines, bool(workers)
