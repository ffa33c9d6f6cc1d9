"""Where execution environments run: `local` (this machine); a Ray executor comes later."""
