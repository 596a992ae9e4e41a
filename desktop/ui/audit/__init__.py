"""The audit log's windows: verify the chain, forward it in the background."""
