"""Batch jobs an MLOps team schedules from cron or Airflow: drift reports, degradation
checks, schema validation and prediction monitoring, all on the streaming engine's scores."""
