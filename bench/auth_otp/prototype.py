"""The minimal prototype of a verify's I/O, the in-run baseline of ``bench.auth_otp``.

A bare ASGI app on one uvicorn worker (no framework, no middleware, no telemetry) doing what a
sign-in must do at the least: one pipelined Redis round trip (the limit counters), the Verify
check at the same fake Twilio over one kept-alive aiohttp session (``TWILIO=1``; the issue's
prototype leaves it out, so the benchmark measures both), one SQL read of the user by phone
hash on an asyncpg pool, a constant-time hash compare and an EdDSA-signed access token.
Whatever auth spends above this is its own (validation, taxonomy, telemetry, the engine).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
import uuid
from typing import Any

import aiohttp
import asyncpg
import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from redis.asyncio import Redis

SETTINGS = os.environ  # bench only: the prototype has no settings class
LOOKUP_KEY = SETTINGS.get("PHONE_LOOKUP_KEY", "").encode()
TWILIO_BASE = SETTINGS.get("TWILIO_API_BASE", "")
SERVICE_SID = SETTINGS.get("TWILIO_VERIFY_SERVICE_SID", "")
BASIC = aiohttp.BasicAuth(
    SETTINGS.get("TWILIO_API_KEY_SID", ""), SETTINGS.get("TWILIO_API_KEY_SECRET", "")
).encode()
SIGNING_KEY = Ed25519PrivateKey.generate()
USER_BY_PHONE = "SELECT public_id, role, status FROM auth.users WHERE phone_hash = $1"


class Prototype:
    def __init__(self) -> None:
        self.pool: asyncpg.Pool | None = None
        self.redis: Redis | None = None
        self.http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        dsn = SETTINGS["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
        self.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=30)
        self.redis = Redis.from_url(SETTINGS["REDIS_URL"])
        self.http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        if self.redis is not None:
            await self.redis.aclose()
        if self.pool is not None:
            await self.pool.close()

    async def verify(self, body: dict[str, Any], twilio: bool) -> tuple[int, dict[str, Any]]:
        assert self.pool is not None and self.redis is not None and self.http is not None
        phone, code = str(body["phone"]), str(body["code"])
        phone_hash = hmac.new(LOOKUP_KEY, phone.encode(), hashlib.sha256).digest()
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.incr(b"proto:ip")
            pipe.pexpire(b"proto:ip", 3_600_000)
            pipe.incr(b"proto:ch:" + phone_hash)
            pipe.pexpire(b"proto:ch:" + phone_hash, 600_000)
            await pipe.execute()
        if twilio:
            url = f"{TWILIO_BASE}/verify/v2/Services/{SERVICE_SID}/VerificationCheck"
            form = {"To": phone, "Code": code}
            async with self.http.post(url, data=form, headers={"Authorization": BASIC}) as resp:
                if json.loads(await resp.read()).get("status") != "approved":
                    return 401, {"code": "otp_invalid"}
        expected = hmac.new(LOOKUP_KEY, f"{phone}:{code}".encode(), hashlib.sha256).digest()
        presented = hmac.new(LOOKUP_KEY, f"{phone}:{code}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, presented):
            return 401, {"code": "otp_invalid"}
        async with self.pool.acquire() as conn:
            user = await conn.fetchrow(USER_BY_PHONE, phone_hash)
        if user is None:
            return 404, {"code": "user_not_found"}
        now = int(time.time())
        claims = {"sub": str(user["public_id"]), "role": user["role"], "iat": now, "exp": now + 600}
        token = jwt.encode(claims, SIGNING_KEY, algorithm="EdDSA", headers={"kid": "proto"})
        return 200, {"access_token": token, "refresh_token": uuid.uuid4().hex}


PROTOTYPE = Prototype()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await PROTOTYPE.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await PROTOTYPE.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/healthz":
        status, answer = 200, {"status": "ok"}
    else:
        status, answer = await PROTOTYPE.verify(
            json.loads(body), b"twilio=1" in scope["query_string"]
        )
    payload = json.dumps(answer).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
