"""Sound output: the playback worker and the outputs it writes to."""
