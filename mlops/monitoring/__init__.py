"""Monitoring: baselines, five monitors over captured traffic, schedules, alerts and retraining triggers."""
