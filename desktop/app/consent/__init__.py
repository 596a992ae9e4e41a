"""Consent before disclosure, the accounting of disclosures (HIPAA 45 CFR 164.528) and reports."""
