"""Dataset helpers: locally generated LeRobotDatasets (no Hub access needed)."""
