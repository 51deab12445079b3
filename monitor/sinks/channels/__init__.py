"""Notification channels, one module each, behind one `Channel` interface."""
