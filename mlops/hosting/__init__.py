"""Hosting: models, endpoint configs and endpoints on one machine; the control process (``mlops router``)."""
