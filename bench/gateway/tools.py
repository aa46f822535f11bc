"""wrk and nginx for the gateway benchmark: presence check, nginx config, wrk output parsing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

INSTALL_HINT = (
    "the gateway benchmark needs nginx and wrk on PATH. On Debian/Ubuntu:\n"
    "    sudo apt-get update && sudo apt-get install -y nginx wrk\n"
    "(nginx is only started by the benchmark itself, on a loopback port, with its own config.)"
)


def missing_tools() -> list[str]:
    found = {"wrk": shutil.which("wrk"), "nginx": shutil.which("nginx") or _sbin("nginx")}
    return [name for name, path in found.items() if path is None]


def nginx_binary() -> str:
    path = shutil.which("nginx") or _sbin("nginx")
    assert path is not None
    return path


def _sbin(name: str) -> str | None:
    for folder in ("/usr/sbin", "/usr/local/sbin"):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def nginx_config(workdir: Path, *, listen_port: int, upstream_port: int) -> Path:
    """One worker, keep-alive upstream pool (64), HTTP/1.1 to the upstream, no access log."""
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    upstream backend {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{listen_port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
}}
"""
    )
    return conf


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(value: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", value.strip())
    if match is None:
        raise ValueError(f"cannot read a wrk latency: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, float]:
    """Requests/s, p50/p90/p99 (ms), and error counts from ``wrk --latency`` output."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if rps is None:
        raise ValueError(f"wrk output without Requests/sec:\n{output}")
    figures: dict[str, float] = {"requests_per_s": round(float(rps.group(1)), 1)}
    for label, key in (("50%", "p50_ms"), ("90%", "p90_ms"), ("99%", "p99_ms")):
        found = re.search(rf"^\s+{re.escape(label)}\s+(\S+)", output, re.MULTILINE)
        if found:
            figures[key] = round(_ms(found.group(1)), 3)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    figures["non_2xx"] = float(non2xx.group(1)) if non2xx else 0.0
    figures["socket_errors"] = 1.0 if errors else 0.0
    return figures
