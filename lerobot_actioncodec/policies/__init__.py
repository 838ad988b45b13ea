"""LeRobot policy types of this package (one folder each, LeRobot's naming convention)."""
