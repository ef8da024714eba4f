"""The streaming monitor: sources in, alerts and dead letters out.

Data flows one way through these modules:

- ``decode`` (with ``flatjson`` and ``floats``): payloads to column arrays or a frame, bad
  records apart with their reasons;
- ``pipeline``: one partition's batch decoded and scored, alerts and dead letters returned,
  no I/O; ``partition`` holds one partition's detectors and alert bookkeeping, ``alerts``
  builds the alert messages;
- sources: ``kafka_app`` (a consumer group, both delivery modes) and ``file_source``;
- sinks: ``sinks`` (JSON lines), the Kafka producer in ``kafka_app``;
- state and delivery: ``checkpoint`` (detector state as bytes), ``transactions``
  (exactly-once), ``kafka_io`` and ``retry`` (admin and metadata calls, with retriable
  broker errors waited out), ``settings`` (the ``stream:`` config section).
"""
