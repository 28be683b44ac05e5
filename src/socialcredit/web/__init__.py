"""The web platform: the API (``create_app``), and later the portal pages."""

from socialcredit.web.app import create_app

__all__ = ["create_app"]
