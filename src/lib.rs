//! towergate: an AI gateway built from tower layers.
