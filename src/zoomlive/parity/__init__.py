"""Record exchanges with real Zoom and compare the emulator against them (docs/parity.md).

``cassette``: the file format, loading and redaction; ``document``: an exchange checked against
Zoom's documents; ``proxy``: the recording proxy (``zoomlive record``); ``compare``: the replay
and its differences (``zoomlive parity``). ``document`` and ``proxy`` need the emulator extra
(the spec tier's schemas, and the emulator's way of serving); ``cassette`` and ``compare`` only
the base install.
"""
