"""Share packages and slides out, packages in: encrypted, signed, accounted for."""
