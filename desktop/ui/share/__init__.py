"""Export Package wizard, Open Package, Export Slide Images."""
