"""Record exchanges with real Zoom and compare the emulator against them (docs/parity.md).

``cassette``: the file format, loading and redaction; ``document``: an exchange checked against
Zoom's documents; ``proxy``: the recording proxy (``zoomlive record``); ``compare``: the replay
and its differences (``zoomlive parity``). Needs the emulator extra (uvicorn for the proxy, the
spec tier's schema checks).
"""
