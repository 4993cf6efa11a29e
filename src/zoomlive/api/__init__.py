"""Zoom's API as data, shared by the SDK and the emulator: the operation catalog, the wire
models, Zoom's error body and the session kinds."""
