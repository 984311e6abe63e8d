//! The `Connector` trait and the cloud connectors (filled by the connectors issue).
