"""The streaming monitor: sources in, alerts and dead letters out.

Data flows one way through these modules:

- sources hand over ``sources.Part``s (one partition's messages): ``kafka_source`` (a
  consumer's fetch), ``sources.MemorySource`` (in memory), and ``file_source`` (a file's
  typed rows, as one partition);
- ``decode`` (with ``flatjson`` and ``floats``): payloads to column arrays or a frame, bad
  records apart with their reasons;
- ``pipeline``: one partition's batch decoded and scored, alerts and dead letters returned,
  no I/O; ``partition`` holds one partition's detectors and alert bookkeeping, ``alerts``
  builds and encodes the alert messages;
- ``processor``: parts through the pipeline, outputs into the sinks, counted in metrics;
- sinks keep one contract (``sinks.Sink``: ``add``, ``flush``): ``sinks`` (JSON lines, in
  memory) and ``kafka_sinks`` (alert and dead-letter topics, delivery checked);
- durability: ``checkpointing`` (both delivery modes), ``state_store`` (checkpoints on a
  compacted topic), ``checkpoint`` (detector state as bytes), ``transactions``
  (exactly-once);
- ``kafka_app`` ties the Kafka parts together; ``kafka_io`` and ``retry`` (clients, admin
  and metadata calls, with retriable broker errors waited out), ``settings`` (the
  ``stream:`` config section).
"""
