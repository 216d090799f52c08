"""``python -m aio_s3_ingest``: the same as the ``aio-s3-ingest`` command."""

from .cli import main

raise SystemExit(main())
