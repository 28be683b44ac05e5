"""The citizen portal: server-rendered pages over the same services as the API, with
their stylesheet, scripts and charting library (Chart.js, MIT) served from the package:
the pages need nothing from the internet."""

from socialcredit.web.portal.pages import portal_router

__all__ = ["portal_router"]
