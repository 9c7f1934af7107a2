"""Serving: the endpoint router (InvokeEndpoint-compatible), shadow variants, data capture and metrics."""
