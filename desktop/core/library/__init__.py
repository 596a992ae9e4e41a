"""The encrypted study library: the SQLCipher index, the sealed object store, sources and ingest,
consents, disclosures and masks."""
