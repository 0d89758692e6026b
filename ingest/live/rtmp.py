"""The RTMP server's configuration: nginx with Debian's RTMP module (libnginx-mod-rtmp).

nginx accepts the speakers' connections; it asks the API about every publisher through its
notify callbacks (POST, form-encoded: `call`, `name` = the stream key, `addr`, `clientid`...):
on_publish (2xx lets it publish, anything else refuses it), on_publish_done, and on_update
every few seconds while it publishes (anything but 2xx drops it: a revoked key, the maximum
duration). Publishers that send nothing for `drop_idle_s` are dropped. Only the addresses in
``play_allow`` may play a stream back (the workers that transcode it).

on_publish says yes with a redirect (3xx, `Location: {internal name}`): nginx publishes the
stream under ``internal_name`` (the stream's id), while its callbacks keep naming the key the
speaker connected with. Workers play `…/live/{stream id}`, so the secret key is on no worker's
command line (which `ps` shows every user of the host).
https://github.com/arut/nginx-rtmp-module/wiki/Directives
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RTMP_MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")
APPLICATION = "live"


def internal_name(stream_id: str) -> str:
    """The name a live stream is published under inside the RTMP server: not a secret (only
    the ``play_allow`` addresses may play it, and on_publish refuses any key but a stream's)."""
    return stream_id


@dataclass(frozen=True)
class RtmpConfig:
    listen: str
    """`address:port` the RTMP server binds (`127.0.0.1:1935`, `0.0.0.0:1935`)."""
    hook_base: str
    """URL the callbacks go to: `{hook_base}/publish`, `/publish_done`, `/update`."""
    pid_file: Path
    play_allow: tuple[str, ...] = ("127.0.0.1",)
    update_s: int = 2
    drop_idle_s: int = 5
    module: Path = RTMP_MODULE


def nginx_conf(c: RtmpConfig) -> str:
    """The whole nginx.conf: no http block, logs on stderr, in the foreground.

    One process (no master): `podium up` supervises it like any child, and it dies with its
    supervisor (PR_SET_DEATHSIG), so no orphaned worker keeps the port when it is restarted.
    The RTMP module keeps its streams in one process anyway (no sharing between workers)."""
    allows = "\n".join(f"            allow play {a};" for a in c.play_allow)
    return f"""# written by podium: do not edit (regenerated at every start)
load_module {c.module};
daemon off;
master_process off;
worker_processes 1;
pid {c.pid_file};
error_log stderr notice;
events {{ worker_connections 1024; }}
rtmp {{
    server {{
        listen {c.listen};
        chunk_size 4096;
        ping 10s;
        ping_timeout 5s;
        notify_method post;
        application {APPLICATION} {{
            live on;
            record off;
            idle_streams off;
            drop_idle_publisher {c.drop_idle_s}s;
            wait_key on;
{allows}
            deny play all;
            on_publish {c.hook_base}/publish;
            on_publish_done {c.hook_base}/publish_done;
            on_update {c.hook_base}/update;
            notify_update_timeout {c.update_s}s;
        }}
    }}
}}
"""
