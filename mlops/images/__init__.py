"""Algorithm images for the local Docker engine, built with no registry and no network inside the
build: a Debian base image (base.py), a host-side wheelhouse pinned by requirements.lock
(wheelhouse.py) and an incremental builder (builder.py). See README.md."""
