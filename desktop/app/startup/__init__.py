"""What every start does (the app and each command) before work: settle what a crash interrupted."""
