"""A FastAPI app with only a metrics registry, for helpers that record to the app's registry."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry


def app_with_registry() -> tuple[FastAPI, CollectorRegistry]:
    app = FastAPI()
    registry = CollectorRegistry()
    app.state.metrics_registry = registry
    return app, registry
