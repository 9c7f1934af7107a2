"""What every job of the platform shares: its record folder and its detached process."""
