"""What every domain of the core shares, none of it DICOM: errors, atomic and crash-safe files,
a full disk, liveness, fault points, where the data files are."""
