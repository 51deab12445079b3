"""The source-neutral core: observations, findings, the alert lifecycle and shared measures."""
