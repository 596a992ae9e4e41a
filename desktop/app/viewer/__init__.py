"""What the viewer shows, without Qt: series opened, frames decoded and cached, view state."""
