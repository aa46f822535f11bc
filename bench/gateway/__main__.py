"""``uv run python -m bench.gateway``: direct vs our gateway vs nginx in one run, a JSON line each.

The same trivial upstream endpoint (FastAPI returning 76 B, uvicorn + uvloop + httptools, one
worker: the perf.md anchor) is loaded with ``wrk`` at 1 and 50 connections:

1. ``direct``: wrk -> upstream;
2. ``nginx``: wrk -> nginx ``proxy_pass`` (one worker, keep-alive upstream pool) -> upstream;
3. ``gateway_public``: wrk -> our gateway (public route: routing, client-IP header, per-IP rate
   limit in Redis, forwarding) -> upstream;
4. ``gateway_auth``: the same through a protected route with a bearer token (JWT check with the
   claims cache, revocation check, per-IP + per-user rate limits).

Then ratio lines: gateway/nginx requests/s at 50 connections (target >= 0.8) and the p50 the
gateway adds over direct at 1 connection (target <= 0.5 ms). ``--pin`` also runs the pinned
layout of perf.md (proxy on cpu1; upstream and wrk on cpu0). Needs nginx and wrk (the script
says how to install them), and Redis on 127.0.0.1:6379 (``BENCH_REDIS_URL``).

Noise: the machine is shared; compare the ratios of one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import jwt
import redis
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from gateway.settings import DEFAULT_ROUTES, RouteSpec
from jwt.algorithms import OKPAlgorithm

from bench.gateway.tools import INSTALL_HINT, missing_tools, nginx_binary, nginx_config, parse_wrk
from bench.report import emit, ratio

BENCH = "gateway"
PATH_PUBLIC = "/v1/chargers/ping"
PATH_AUTH = "/v1/chargers/private/ping"
ISSUER = "https://auth.nerava.app"
AUDIENCE = "nerava-api"
KID = "bench-ed"
HUGE = {"limit": 1_000_000_000, "period_seconds": 60}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _taskset(cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu)] if cpu is not None else []


@contextmanager
def _process(
    name: str, argv: list[str], env: dict[str, str], health_url: str | None, cpu: int | None
) -> Iterator[subprocess.Popen[bytes]]:
    log = Path(tempfile.gettempdir()) / f"bench-gateway-{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*_taskset(cpu), *argv], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        if health_url is not None:
            _wait_http(health_url, proc, log)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within 30 s; see {log}")


def _signing_material() -> tuple[dict[str, Any], str]:
    private = Ed25519PrivateKey.generate()
    public = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    public.update({"kid": KID, "alg": "EdDSA", "use": "sig"})
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "sid": uuid.uuid4().hex,
            "role": "driver",
            "iat": now,
            "exp": now + 3600,
        },
        private,
        algorithm="EdDSA",
        headers={"kid": KID, "typ": "at+jwt"},
    )
    return {"keys": [public]}, token


def _gateway_env(upstream: str, redis_url: str) -> dict[str, str]:
    routes = [
        *DEFAULT_ROUTES,
        RouteSpec(prefix=PATH_PUBLIC, upstream="sessions", public=True, methods=("GET",)),
    ]
    limits = {"per_ip": HUGE, "per_user": HUGE, "fail_open": True}
    return {
        **os.environ,
        "ENV": "local",
        "LOG_JSON": "false",
        "LOG_LEVEL": "WARNING",
        "UPSTREAM_SESSIONS": upstream,
        "UPSTREAM_AUTH": upstream,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": f"bench-gateway-{uuid.uuid4().hex[:8]}",
        "ROUTES": json.dumps([r.model_dump() for r in routes]),
        "RATE_LIMITS": json.dumps({c: limits for c in ("auth", "otp", "money", "default")}),
    }


def _uvicorn(target: str, port: int, *extra: str, http: str = "httptools") -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--loop", "uvloop", "--http", http, "--log-level", "warning",
        *extra,
    ]  # fmt: skip


def _wrk(url: str, conns: int, seconds: float, cpu: int | None, headers: list[str]) -> str:
    threads = 1 if conns == 1 else 2
    argv = [
        *_taskset(cpu), "wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds:g}s", "--latency",
        *[arg for h in headers for arg in ("-H", h)], url,
    ]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60, check=True)
    return done.stdout


def run_layout(args: argparse.Namespace, layout: str, redis_url: str) -> None:
    pinned = layout == "pinned"
    proxy_cpu, load_cpu = (1, 0) if pinned else (None, None)
    jwks, token = _signing_material()
    ports = {name: _free_port() for name in ("upstream", "nginx", "gateway")}
    upstream = f"http://127.0.0.1:{ports['upstream']}"
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-nginx-")))
        stack.enter_context(
            _process(
                "upstream",
                _uvicorn("bench.gateway.upstream_app:app", ports["upstream"]),
                {**os.environ, "BENCH_JWKS": json.dumps(jwks)},
                upstream + "/healthz",
                load_cpu,
            )
        )
        conf = nginx_config(workdir, listen_port=ports["nginx"], upstream_port=ports["upstream"])
        stack.enter_context(
            _process(
                "nginx",
                [nginx_binary(), "-c", str(conf), "-p", str(workdir)],
                dict(os.environ),
                f"http://127.0.0.1:{ports['nginx']}/healthz",
                proxy_cpu,
            )
        )
        gateway_argv = _uvicorn(
            "gateway.main:create_app", ports["gateway"], "--factory", "--no-proxy-headers",
            "--no-server-header", http="gateway.http_protocol:GatewayHttpProtocol",
        )  # fmt: skip
        gateway = stack.enter_context(
            _process(
                "gateway",
                gateway_argv,
                _gateway_env(upstream, redis_url),
                f"http://127.0.0.1:{ports['gateway']}/healthz",
                proxy_cpu,
            )
        )
        targets = {
            "direct": (f"{upstream}{PATH_PUBLIC}", []),
            "nginx": (f"http://127.0.0.1:{ports['nginx']}{PATH_PUBLIC}", []),
            "gateway_public": (f"http://127.0.0.1:{ports['gateway']}{PATH_PUBLIC}", []),
            "gateway_auth": (
                f"http://127.0.0.1:{ports['gateway']}{PATH_AUTH}",
                [f"Authorization: Bearer {token}"],
            ),
        }
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for name, (url, headers) in targets.items():
            _wrk(url, 50, args.warmup, load_cpu, headers)
            for conns, seconds in ((1, args.seconds_c1), (50, args.seconds)):
                spy = None
                if args.profile and name.startswith("gateway") and conns == 50:
                    spy = _start_profiler(args.profile, f"{layout}-{name}", gateway.pid, seconds)
                figures = parse_wrk(_wrk(url, conns, seconds, load_cpu, headers))
                if spy is not None:
                    spy.wait(timeout=seconds + 30)
                results[(name, conns)] = figures
                emit(BENCH, f"{name}_c{conns}", layout=layout, connections=conns, **figures)
        _emit_ratios(layout, results)


def _start_profiler(
    folder: str, label: str, pid: int, seconds: float
) -> subprocess.Popen[bytes] | None:
    """py-spy collapsed stacks of the gateway during a c=50 run (``--profile DIR``)."""
    exe = shutil.which("py-spy")
    if exe is None:
        sys.stderr.write("--profile needs py-spy on PATH (e.g. `uv tool install py-spy`)\n")
        return None
    out = Path(folder) / f"gateway-{label}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [exe, "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "200", "-f", "raw",
            "-o", str(out), "--nonblocking"]  # fmt: skip
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _emit_ratios(layout: str, results: dict[tuple[str, int], dict[str, Any]]) -> None:
    direct_p50 = results[("direct", 1)]["p50_ms"]
    nginx_p50 = results[("nginx", 1)]["p50_ms"]
    for name in ("gateway_public", "gateway_auth"):
        c50 = ratio(results[(name, 50)]["requests_per_s"], results[("nginx", 50)]["requests_per_s"])
        c1 = ratio(results[(name, 1)]["requests_per_s"], results[("nginx", 1)]["requests_per_s"])
        added = round(results[(name, 1)]["p50_ms"] - direct_p50, 3)
        emit(
            BENCH,
            f"{name}_vs_nginx",
            layout=layout,
            baseline="nginx",
            ratio=c50,
            ratio_c1=c1,
            ratio_to_direct=ratio(
                results[(name, 50)]["requests_per_s"], results[("direct", 50)]["requests_per_s"]
            ),
            added_p50_ms_c1=added,
            nginx_added_p50_ms_c1=round(nginx_p50 - direct_p50, 3),
            target_ratio=0.8,
            target_added_p50_ms=0.5,
            meets_targets=c50 >= 0.8 and added <= 0.5,
        )


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateway", description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk duration at c=50")
    parser.add_argument("--seconds-c1", type=float, default=5.0, help="wrk duration at c=1")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--pin", action="store_true", help="also run the pinned layout")
    parser.add_argument("--only-pinned", action="store_true")
    parser.add_argument("--profile", help="directory for py-spy stacks of the gateway c=50 runs")
    args = parser.parse_args()
    missing = missing_tools()
    if missing:
        sys.stderr.write(f"missing: {', '.join(missing)}\n{INSTALL_HINT}\n")
        return 2
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        sys.stderr.write(f"Redis at {redis_url} is not reachable ({exc}); start it first\n")
        return 2
    layouts = ["pinned"] if args.only_pinned else ["unpinned", *(["pinned"] if args.pin else [])]
    if "pinned" in layouts and (os.cpu_count() or 1) < 2:
        sys.stderr.write("the pinned layout needs 2 CPUs; running unpinned only\n")
        layouts = ["unpinned"]
    for layout in layouts:
        run_layout(args, layout, redis_url)
    return 0


if __name__ == "__main__":
    status = main()
    # Under `make bench` (runpy) a failure must not stop the benchmarks that follow.
    if status and Path(sys.argv[0]).resolve() == Path(__file__).resolve():
        sys.exit(status)
