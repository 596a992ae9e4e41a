"""Shared DICOM helpers below every domain: reading headers (PS3.5, PS3.10), transfer syntaxes,
input budgets, compressed codestream sizes, and the patient's identifiers in every form."""
