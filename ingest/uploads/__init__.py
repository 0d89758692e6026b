"""Upload slots for speakers and resumable (tus) uploads into the bucket."""
