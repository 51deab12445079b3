"""Fakes and harnesses shared by the tests (`tests/`) and the benchmarks (`bench/`).

- `answers`: synthetic Radar realtime answers (no real one is public); `error_bodies`: the
  Cloudflare error bodies; `faults` and `fakeradar`: the fake Radar API that serves them.
- `rislive_frames`: synthetic RIS Live frames in the shape of the real captures;
  `rislive_filter` and `fakerislive`: the fake RIS Live WebSocket server that sends them.
- `daemon`: the real daemon as a subprocess, and what it shows; `receivers`: local webhook and
  SMTP endpoints; `waiting`: polling for a condition.
"""
