"""HTTP client of the admin API, through the gateway: ``/v1/admin/<service>/<resource>``
(``dead-letters`` by default, ``kill-switches`` for payments)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        super().__init__(f"{status} {code}: {detail}")


@dataclass(frozen=True)
class Target:
    api: str
    token: str | None
    service: str
    timeout_s: float = 30.0


class AdminClient:
    def __init__(
        self,
        target: Target,
        *,
        transport: httpx.BaseTransport | None = None,
        resource: str = "dead-letters",
    ) -> None:
        headers = {"Accept": "application/json"}
        if target.token:
            headers["Authorization"] = f"Bearer {target.token}"
        self.base = f"/v1/admin/{target.service}/{resource}"
        self.http = httpx.Client(
            base_url=target.api.rstrip("/"),
            headers=headers,
            timeout=target.timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str = "", **kwargs: Any) -> Any:
        try:
            resp = self.http.request(method, self.base + path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code >= 400:
            try:
                problem = resp.json()
            except ValueError:
                problem = {}
            raise ApiError(
                resp.status_code,
                str(problem.get("code") or "http_error"),
                str(problem.get("detail") or resp.text[:300]),
            )
        return resp.json()

    def page(self, params: dict[str, Any]) -> Any:
        return self.request("GET", "", params=params)

    def groups(self, by: str, params: dict[str, Any]) -> Any:
        return self.request("GET", "/groups", params={"by": by, **params})

    def show(self, failed_id: int) -> Any:
        return self.request("GET", f"/{failed_id}")

    def replay(self, selection: dict[str, Any]) -> Any:
        return self.request("POST", "/replay", json=selection)

    def archive(self, selection: dict[str, Any]) -> Any:
        return self.request("POST", "/archive", json=selection)

    def restore(self, selection: dict[str, Any]) -> Any:
        return self.request("POST", "/restore", json=selection)

    def note(self, failed_id: int, text: str) -> Any:
        return self.request("POST", f"/{failed_id}/notes", json={"text": text})

    def all_ids(self, params: dict[str, Any], *, page: int = 500) -> list[int]:
        ids: list[int] = []
        offset = 0
        while True:
            batch = self.page({**params, "limit": page, "offset": offset})
            ids.extend(int(item["id"]) for item in batch["items"])
            offset += page
            if offset >= int(batch["total"]) or not batch["items"]:
                return ids
