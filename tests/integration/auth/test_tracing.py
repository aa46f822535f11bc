"""A sign-in is one trace: the server span continues the caller's traceparent and holds a
client span for each Redis script, the Twilio check and the SQL statement; probes are untraced."""

from __future__ import annotations

from opentelemetry.trace import SpanKind

from tests.fakes.twilio.control import TwilioControl
from tests.support.auth_service import AuthClient
from tests.support.samples import random_phone
from tests.support.spans import captured_spans

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


async def test_a_verify_is_one_server_span_with_its_calls_under_it(
    auth: AuthClient, fake_twilio: TwilioControl
) -> None:
    phone = random_phone()
    started = await auth.start(phone)
    code = await fake_twilio.last_code_for(phone)
    headers = {**auth.headers(), "traceparent": f"00-{TRACE_ID}-{CALLER_SPAN}-01"}
    body = {"challenge_id": started.json()["challenge_id"], "code": code}

    with captured_spans() as spans:
        verified = await auth.http.post("/v1/auth/otp/verify", json=body, headers=headers)
    assert verified.status_code == 200, verified.text

    finished = [s for s in spans.get_finished_spans() if f"{s.context.trace_id:032x}" == TRACE_ID]
    [server] = [s for s in finished if s.kind is SpanKind.SERVER and s.name.startswith("POST /v1")]
    assert server.name == "POST /v1/auth/otp/verify"
    assert server.parent is not None and f"{server.parent.span_id:016x}" == CALLER_SPAN
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/v1/auth/otp/verify"
    assert server.attributes["http.response.status_code"] == 200

    children = {
        s.name: s for s in finished if s.parent and s.parent.span_id == server.context.span_id
    }
    assert {"otp_state begin_verify", "otp_state approved", "POST twilio verify"} <= set(children)
    statements = [s for s in finished if (s.attributes or {}).get("db.system.name") == "postgresql"]
    assert statements, "the sign-in's SQL is traced"
    assert all(s.kind is SpanKind.CLIENT and s.parent == server.context for s in statements)
    twilio = children["POST twilio verify"]
    assert twilio.kind is SpanKind.CLIENT
    assert twilio.attributes is not None
    assert twilio.attributes["server.address"] == "verify.twilio.com"
    assert twilio.attributes["http.response.status_code"] == 200
    assert children["otp_state begin_verify"].attributes == {
        "db.system.name": "redis",
        "db.operation.name": "begin_verify",
    }
    # Nothing the request carried (code, phone, tokens) is recorded on any span.
    recorded = repr([dict(s.attributes or {}) for s in finished])
    for secret in (code, phone, verified.json()["access_token"], verified.json()["refresh_token"]):
        assert secret not in recorded


async def test_probes_and_metrics_are_not_traced(auth: AuthClient) -> None:
    with captured_spans() as spans:
        for path in ("/healthz", "/readyz", "/metrics"):
            assert (await auth.get(path)).status_code == 200
    assert [s.name for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER] == []
