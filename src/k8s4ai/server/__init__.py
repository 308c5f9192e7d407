"""The k8s4ai API server: Kubernetes-style REST over a Store (`app.create_app`), served by
uvicorn (`run.serve`, `run.start`)."""
