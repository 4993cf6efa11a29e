"""The control API (``/_emulator``): seed, play the host, read the state, reset. Zoom has no
such paths."""
