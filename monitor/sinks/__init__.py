"""Sinks: the notification outbox and its channels, the state store and message templates."""
