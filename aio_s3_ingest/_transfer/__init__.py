"""One object to one verified local file: ranged GETs, their buffers, where the bytes
are written, and the rename into place."""
