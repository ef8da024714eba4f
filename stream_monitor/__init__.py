"""stream-monitor: drift monitoring for ML traffic on Kafka and in batch jobs."""

__version__ = "0.1.0"
