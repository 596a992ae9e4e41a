"""What the use cases share: progress and cancellation, worker pools, wording, safe logging."""
