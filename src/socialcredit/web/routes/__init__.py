"""The API's routers: thin callers of the services."""
