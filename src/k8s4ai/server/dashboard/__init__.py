"""The web dashboard: static files served by the API server at `/ui/`."""
