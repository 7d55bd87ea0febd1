"""Hardware energy and capacity profiles (data files, one per chip), each number with its source."""
