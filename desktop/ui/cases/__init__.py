"""Teaching cases in the window: the Cases list, the case editor and its export dialog."""
