"""docker-compose.yml and Dockerfile: the deployment stack the contract names, checked offline."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from cli.main import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
REQUIRED = {"PODIUM_S3_SECRET_KEY": "test-secret-1234", "PODIUM_API_KEYS": "test-key-1,test-key-2",
            "PODIUM_REDIS_PASSWORD": "0123abcdredispw"}
APP_SERVICES = ("api", "worker", "createbucket")

needs_compose = pytest.mark.skipif(shutil.which("docker-compose") is None,
                                   reason="docker-compose is not installed")


def _compose(*args: str, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """docker-compose with only ``extra_env`` of the PODIUM_* settings set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env.update(extra_env)
    return subprocess.run(["docker-compose", "-f", str(COMPOSE), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed")
    res = _compose("config", extra_env=REQUIRED)
    assert res.returncode == 0, res.stderr
    parsed: dict[str, Any] = yaml.safe_load(res.stdout)
    return parsed


def _healthcheck(config: dict[str, Any], service: str) -> str:
    check = config["services"][service]["healthcheck"]
    test = check["test"]
    return " ".join(test) if isinstance(test, list) else str(test)


@needs_compose
def test_config_is_valid_with_the_required_settings() -> None:
    res = _compose("config", "-q", extra_env=REQUIRED)
    assert res.returncode == 0, res.stderr


@needs_compose
@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_config_refuses_to_run_without_secrets(missing: str) -> None:
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    res = _compose("config", "-q", extra_env=env)
    assert res.returncode != 0
    assert missing in res.stderr


def test_services(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {"api", "worker", "createbucket", "redis", "minio",
                                       "rtmp", "srt", "prometheus", "live-worker"}


def test_every_long_running_service_has_a_healthcheck(config: dict[str, Any]) -> None:
    assert "/readyz" in _healthcheck(config, "api")
    assert "redis-cli ping" in _healthcheck(config, "redis")
    assert "/minio/health/live" in _healthcheck(config, "minio")
    assert "Worker.all" in _healthcheck(config, "worker")
    assert "1935" in _healthcheck(config, "rtmp")
    assert "Worker.all" in _healthcheck(config, "live-worker")
    assert "ping()" in _healthcheck(config, "srt")


def test_rtmp_server_calls_the_api_and_lets_only_the_network_play(
        config: dict[str, Any]) -> None:
    rtmp = config["services"]["rtmp"]
    assert rtmp["command"] == ["podium", "rtmp"]
    env = rtmp["environment"]
    assert env["PODIUM_RTMP_HOOK_URL"] == "http://api:8000"
    assert env["PODIUM_S3_SECRET_KEY"] == REQUIRED["PODIUM_S3_SECRET_KEY"]  # same hook secret
    assert "all" not in env["PODIUM_RTMP_PLAY_ALLOW"]
    assert rtmp["depends_on"]["api"]["condition"] == "service_healthy"
    assert config["services"]["worker"]["environment"]["PODIUM_RTMP_INTERNAL_URL"] == \
        "rtmp://rtmp:1935/live"
    assert config["services"]["live-worker"]["command"] == ["podium", "worker", "--live"]
    assert "/-/ready" in _healthcheck(config, "prometheus")


def test_srt_listeners_run_on_the_ports_the_api_hands_out(config: dict[str, Any]) -> None:
    srt = config["services"]["srt"]
    assert srt["command"] == ["podium", "srt"]
    assert srt["environment"]["PODIUM_SRT_BIND"] == "0.0.0.0"
    assert srt["environment"]["PODIUM_RTMP_INTERNAL_URL"] == "rtmp://rtmp:1935/live"
    assert srt["depends_on"]["rtmp"]["condition"] == "service_healthy"
    # the API claims the ports the listeners bind, and both match what the host publishes
    ports = config["services"]["api"]["environment"]["PODIUM_SRT_PORTS"]
    assert ports == srt["environment"]["PODIUM_SRT_PORTS"] == "10000-10019"
    published = sorted((p["published"], p["target"], p["protocol"]) for p in srt["ports"])
    assert published == [(port, port, "udp") for port in range(10000, 10020)]


def test_prometheus_scrapes_the_api_with_the_repository_config(config: dict[str, Any]) -> None:
    prom = config["services"]["prometheus"]
    mounts = [v if isinstance(v, str) else f"{v['source']}:{v['target']}" for v in prom["volumes"]]
    assert any(m.startswith(f"{ROOT / 'deploy' / 'prometheus.yml'}:/etc/prometheus/prometheus.yml")
               for m in mounts), mounts
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    assert "prometheus-data" in config["volumes"]
    scrape = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    [job] = scrape["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"] == [{"targets": ["api:8000"]}]  # the compose service's port
    assert config["services"]["api"]["command"][-1] == "8000"


def test_grafana_dashboard_is_valid_and_every_panel_queries_podium() -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["title"] == "Podium"
    panels = dashboard["panels"]
    assert len({p["id"] for p in panels}) == len(panels) >= 10
    for panel in panels:
        assert panel["targets"] and all("podium_" in t["expr"] for t in panel["targets"])
        assert panel["datasource"]["uid"] == "${datasource}"


def test_worker_scales(config: dict[str, Any]) -> None:
    worker = config["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["command"] == ["podium", "worker"]


def test_redis_keeps_an_append_only_file_on_a_volume(config: dict[str, Any]) -> None:
    redis = config["services"]["redis"]
    assert redis["command"][:2] == ["sh", "-c"]
    assert redis["command"][2].startswith("exec redis-server --appendonly yes ")
    assert any(str(v).startswith("redis-data:/data") or
               (isinstance(v, dict) and v.get("target") == "/data") for v in redis["volumes"])
    assert "redis-data" in config["volumes"]


def test_redis_needs_the_password_from_the_environment(config: dict[str, Any]) -> None:
    """Finding 12: Redis is not open to anyone who reaches it; the password is never written
    in the file, only required from the environment."""
    redis = config["services"]["redis"]
    assert redis["environment"]["REDIS_PASSWORD"] == REQUIRED["PODIUM_REDIS_PASSWORD"]
    # compose shows `$$` (a literal `$` for the container's shell) as it is in the file
    assert '--requirepass "$$REDIS_PASSWORD"' in redis["command"][2]
    assert 'REDISCLI_AUTH="$$REDIS_PASSWORD" redis-cli ping' in _healthcheck(config, "redis")
    assert REQUIRED["PODIUM_REDIS_PASSWORD"] not in COMPOSE.read_text()


def test_minio_credentials_come_from_the_environment(config: dict[str, Any]) -> None:
    minio = config["services"]["minio"]
    assert minio["environment"]["MINIO_ROOT_PASSWORD"] == REQUIRED["PODIUM_S3_SECRET_KEY"]
    assert minio["environment"]["MINIO_ROOT_USER"] == "podium"
    assert "minio-data" in config["volumes"]
    text = COMPOSE.read_text()
    assert REQUIRED["PODIUM_S3_SECRET_KEY"] not in text


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_services_are_wired_to_redis_and_minio(config: dict[str, Any], service: str) -> None:
    env = config["services"][service]["environment"]
    password = REQUIRED["PODIUM_REDIS_PASSWORD"]
    assert env["PODIUM_REDIS_URL"] == f"redis://:{password}@redis:6379/0"
    assert env["PODIUM_S3_ENDPOINT"] == "http://minio:9000"
    assert env["PODIUM_S3_PUBLIC_ENDPOINT"] == "http://localhost:9000"
    assert env["PODIUM_PUBLIC_URL"] == "http://localhost:8000"
    assert env["PODIUM_S3_ACCESS_KEY"] == config["services"]["minio"]["environment"][
        "MINIO_ROOT_USER"]
    for key, value in REQUIRED.items():
        if key != "PODIUM_REDIS_PASSWORD":  # in the URL above
            assert env[key] == value


@pytest.mark.parametrize("service", ["api", "worker"])
def test_app_services_wait_for_their_dependencies(config: dict[str, Any], service: str) -> None:
    deps = config["services"][service]["depends_on"]
    assert deps["redis"]["condition"] == "service_healthy"
    assert deps["minio"]["condition"] == "service_healthy"
    assert deps["createbucket"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("service", ["api", "worker", "createbucket"])
def test_inline_python_compiles(config: dict[str, Any], service: str) -> None:
    svc = config["services"][service]
    snippets = []
    if svc["command"][:2] == ["python", "-c"]:
        snippets.append(svc["command"][2])
    test = svc.get("healthcheck", {}).get("test", [])
    if test[1:3] == ["python", "-c"]:
        snippets.append(test[3])
    for code in snippets:
        compile(code, f"<{service}>", "exec")


def test_compose_commands_exist_in_the_cli() -> None:
    runner = CliRunner()
    api_help = runner.invoke(app, ["api", "--help"])
    assert api_help.exit_code == 0 and "--host" in api_help.output and "--port" in api_help.output
    assert runner.invoke(app, ["worker", "--help"]).exit_code == 0


def test_dockerfile() -> None:
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0] == "FROM python:3.11-slim"
    assert any("apt-get install" in line and "ffmpeg" in line for line in instructions)
    assert any(line.startswith("RUN pip install .") for line in instructions)
    users = [line.split()[1] for line in instructions if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert instructions[-1] == 'CMD ["podium", "api", "--host", "0.0.0.0", "--port", "8000"]'
