"""Airflow glue: the only package that imports Airflow. Task callables, deferrable operators and their
triggers, the human-approval operator, the failure notifier, and the scripts that run the stack
(``make up``) and the end-to-end demo (``make demo``). See README.md beside this file."""
