"""The DICOM network in the window: Network Nodes and the Query/Retrieve panel."""
