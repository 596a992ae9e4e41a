"""The encrypted study library: index, sealed object store, consents, disclosures, masks."""
