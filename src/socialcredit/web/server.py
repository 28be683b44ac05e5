"""What Uvicorn starts in each worker process: the app, from the environment's settings
(``socialcredit serve`` puts its options there first)."""

from __future__ import annotations

from fastapi import FastAPI

from socialcredit.settings import load_settings
from socialcredit.web.app import create_app


def app_from_environment() -> FastAPI:
    return create_app(load_settings())
