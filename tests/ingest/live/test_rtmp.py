from pathlib import Path

from ingest.live.rtmp import RtmpConfig, nginx_conf


def test_config_sends_every_publisher_to_the_api_and_lets_only_workers_play() -> None:
    conf = nginx_conf(RtmpConfig(listen="0.0.0.0:1935", hook_base="http://api:8000/internal/rtmp/s",
                                 pid_file=Path("/v/rtmp/nginx.pid"),
                                 play_allow=("10.0.0.0/8", "127.0.0.1")))
    lines = [line.strip() for line in conf.splitlines()]
    assert "listen 0.0.0.0:1935;" in lines
    assert "on_publish http://api:8000/internal/rtmp/s/publish;" in lines
    assert "on_publish_done http://api:8000/internal/rtmp/s/publish_done;" in lines
    assert "on_update http://api:8000/internal/rtmp/s/update;" in lines
    assert "notify_update_timeout 2s;" in lines
    assert "drop_idle_publisher 5s;" in lines
    allow = [line for line in lines if "play" in line.split()[:2]]
    assert allow == ["allow play 10.0.0.0/8;", "allow play 127.0.0.1;", "deny play all;"]
    assert "daemon off;" in lines and "pid /v/rtmp/nginx.pid;" in lines
