"""The audit trail's use cases: forwarding it to a syslog collector (IHE ITI ATNA)."""
