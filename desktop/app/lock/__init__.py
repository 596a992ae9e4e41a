"""The workstation lock (HIPAA 45 CFR 164.312(a)(2)(iii) automatic logoff), without Qt."""
