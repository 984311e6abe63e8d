//! Cloud commands → the registry: refused once expired (never applied late after an outage), else
//! applied with origin `cloud:<name>`; the answer goes back on the command's reply channel.

use std::time::SystemTime;

use connectors::{Command, CommandError};
use tokio::sync::mpsc;

use crate::registry::{Origin, Registry, RegistryError};

pub async fn run(name: String, registry: Registry, mut commands: mpsc::Receiver<Command>) {
    while let Some(cmd) = commands.recv().await {
        let result = apply(&name, &registry, &cmd);
        let _ = cmd.reply.send(result);
    }
}

fn apply(
    name: &str,
    registry: &Registry,
    cmd: &Command,
) -> Result<device_types::State, CommandError> {
    if let Ok(late) = SystemTime::now().duration_since(cmd.expires_at) {
        let late_ms = late.as_millis() as u64;
        tracing::warn!(connector = %name, device = %cmd.device, late_ms, "expired cloud command refused");
        return Err(CommandError::Expired { late_ms });
    }
    match registry.apply(&cmd.device, &cmd.patch, Origin::Cloud(name.to_owned())) {
        Ok(device) => {
            tracing::debug!(connector = %name, device = %cmd.device, "cloud command applied");
            Ok(device.state)
        }
        Err(RegistryError::UnknownDevice(id)) => Err(CommandError::UnknownDevice(id)),
        Err(e) => Err(CommandError::Invalid(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use device_types::{DeviceKind, State};
    use tokio::sync::oneshot;

    use super::*;
    use crate::config::DeviceConfig;

    fn command(device: &str, on: bool, expires_at: SystemTime) -> Command {
        Command {
            device: device.to_owned(),
            patch: State {
                on: Some(on),
                ..State::default()
            },
            expires_at,
            source: "test".to_owned(),
            reply: oneshot::channel().0,
        }
    }

    #[test]
    fn expired_commands_are_refused_and_fresh_ones_applied_as_cloud() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(
            dir.path(),
            &[DeviceConfig {
                id: "lamp".into(),
                kind: DeviceKind::OnOffLight,
                name: "Lamp".into(),
                room: None,
                state: None,
            }],
        )
        .unwrap();
        let mut changes = registry.subscribe();
        let late = command("lamp", true, SystemTime::now() - Duration::from_secs(5));
        assert!(matches!(
            apply("home", &registry, &late),
            Err(CommandError::Expired { late_ms }) if late_ms >= 5000
        ));
        assert_eq!(registry.get("lamp").unwrap().state.on, Some(false));

        let fresh = command("lamp", true, SystemTime::now() + Duration::from_secs(30));
        assert_eq!(apply("home", &registry, &fresh).unwrap().on, Some(true));
        match changes.try_recv().unwrap() {
            crate::registry::Change::State { origin, .. } => {
                assert_eq!(origin, Origin::Cloud("home".into()))
            }
            other => panic!("unexpected change {other:?}"),
        }
        let unknown = command("nope", true, SystemTime::now() + Duration::from_secs(30));
        assert_eq!(
            apply("home", &registry, &unknown),
            Err(CommandError::UnknownDevice("nope".into()))
        );
    }
}
