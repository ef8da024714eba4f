"""JSON Schemas of the documents stream-monitor publishes."""
