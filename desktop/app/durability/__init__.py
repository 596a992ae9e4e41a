"""Nothing lost, nothing left behind: write-ahead intents and what a start does after a crash."""
