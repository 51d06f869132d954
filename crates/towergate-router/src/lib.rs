//! The endpoint table: endpoint names to services, swappable at run time.
