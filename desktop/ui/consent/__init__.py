"""The Consent menu: record, list and withdraw consent; purpose forms; reports."""
