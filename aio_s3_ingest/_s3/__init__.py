"""S3 itself: the endpoint botocore resolves, the clients, signing, the listing, and the
two ways to GET an object (the direct path and botocore)."""
