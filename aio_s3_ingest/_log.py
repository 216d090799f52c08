"""The library's one logger; only the command line configures handlers."""

from __future__ import annotations

import logging

logger = logging.getLogger("aio_s3_ingest")
