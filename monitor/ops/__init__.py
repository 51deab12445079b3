"""Operations: systemd integration, logging with the one secret redactor, and secrets."""
