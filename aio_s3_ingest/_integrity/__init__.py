"""Integrity: what S3 says an object's checksum is, and checking local bytes against it."""
