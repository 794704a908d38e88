"""Sources: bytes from files, pipes and growing files, framed into records."""
