"""The DICOM network (PS3.7 DIMSE over PS3.8 upper layer, with pynetdicom): nodes, echo, query."""
