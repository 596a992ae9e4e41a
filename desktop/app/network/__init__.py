"""Use cases of the DICOM network: the nodes Veil knows, testing them, querying them."""
