"""The route table compiled for lookups in O(path segments): prefix -> upstream, class, access.

Lookup walks the request path's prefixes from the longest down, one dict probe each, so the
cost does not grow with the number of routes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gateway.settings import UPSTREAM_NAMES, RouteSpec

ADMIN_PREFIX_UPSTREAM = "admin"


@dataclass(frozen=True, slots=True)
class Route:
    prefix: str
    upstream: str
    route_class: str
    public: bool
    admin: bool
    read_only_writes: bool = False

    @property
    def forwards_unauthenticated(self) -> bool:
        return self.public and not self.admin


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    upstream: str
    upstream_path: str
    """The path sent upstream (only differs from the request path for admin routes)."""


class RouteTable:
    def __init__(self, specs: Iterable[RouteSpec]) -> None:
        # prefix -> (route for any method, {method: route})
        self._by_prefix: dict[str, tuple[Route | None, dict[str, Route]]] = {}
        self.routes: list[Route] = []
        for spec in specs:
            admin = spec.upstream == ADMIN_PREFIX_UPSTREAM
            route = Route(
                prefix=spec.prefix,
                upstream=spec.upstream,
                route_class=spec.route_class,
                public=spec.public and not admin,
                admin=admin,
                read_only_writes=spec.read_only_writes,
            )
            self.routes.append(route)
            any_method, per_method = self._by_prefix.get(spec.prefix, (None, {}))
            if spec.methods is None:
                if any_method is not None:
                    raise ValueError(f"route prefix {spec.prefix!r} is listed twice")
                any_method = route
            else:
                for method in spec.methods:
                    if method in per_method:
                        raise ValueError(f"route {method} {spec.prefix!r} is listed twice")
                    per_method[method] = route
            self._by_prefix[spec.prefix] = (any_method, per_method)

    def methods_of(self, path: str) -> tuple[str, ...]:
        """The methods of the longest prefix of ``path`` whose rows all list their methods
        (a request with another method is 405 there, not a shorter prefix's route)."""
        candidate = path.rstrip("/") if len(path) > 1 else path
        while candidate:
            entry = self._by_prefix.get(candidate)
            if entry is not None:
                any_method, per_method = entry
                return () if any_method is not None else tuple(sorted(per_method))
            cut = candidate.rfind("/")
            if cut <= 0:
                return ()
            candidate = candidate[:cut]
        return ()

    def match(self, method: str, path: str) -> Match | None:
        by_prefix = self._by_prefix
        candidate = path.rstrip("/") if len(path) > 1 else path
        while candidate:
            entry = by_prefix.get(candidate)
            if entry is not None:
                route = entry[1].get(method) or entry[0]
                if route is None:
                    return None  # this prefix lists its methods and not this one: 405
                if route.admin:
                    return self._admin_match(route, path)
                return Match(route, route.upstream, path)
            cut = candidate.rfind("/")
            if cut <= 0:
                return None
            candidate = candidate[:cut]
        return None

    @staticmethod
    def _admin_match(route: Route, path: str) -> Match | None:
        rest = path[len(route.prefix) :]
        # rest is "/<service>/<more>" (or "/<service>")
        service, sep, remainder = rest[1:].partition("/")
        if service not in UPSTREAM_NAMES:
            return None
        upstream_path = "/v1/admin/" + remainder if sep else "/v1/admin"
        return Match(route, service, upstream_path)

    def gateway_path_for(self, upstream: str, service_path: str, method: str) -> str | None:
        """The path a client uses to reach ``service_path`` of ``upstream`` (None: unreachable)."""
        if service_path == "/v1/admin" or service_path.startswith("/v1/admin/"):
            rest = service_path[len("/v1/admin") :]
            candidate = f"/v1/admin/{upstream}{rest}"
        else:
            candidate = service_path
        found = self.match(method, candidate)
        if found is None or found.upstream != upstream or found.upstream_path != service_path:
            return None
        return candidate
