//! The towergate YAML config file: MLflow's schema plus towergate's additions.
