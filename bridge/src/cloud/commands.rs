//! Cloud commands → the registry's command path: refused once expired (never applied late after an
//! outage), else handed with origin `cloud:<name>` to the device's source; the answer (accepted, with the
//! device's state as the registry then has it, or why not) goes back on the command's reply channel.
//! Each command is awaited in its own task, so a slow source never holds up the next command.

use std::time::Instant;

use connectors::{Command, CommandError};
use tokio::sync::mpsc;

use crate::registry::{CommandOptions, Origin, Registry, RegistryError};

pub async fn run(name: String, registry: Registry, mut commands: mpsc::Receiver<Command>) {
    while let Some(cmd) = commands.recv().await {
        let (name, registry) = (name.clone(), registry.clone());
        tokio::spawn(async move {
            let result = apply(&name, &registry, &cmd).await;
            let _ = cmd.reply.send(result);
        });
    }
}

async fn apply(
    name: &str,
    registry: &Registry,
    cmd: &Command,
) -> Result<device_types::State, CommandError> {
    if let Some(late) = Instant::now().checked_duration_since(cmd.expires_at) {
        let late_ms = late.as_millis() as u64;
        tracing::warn!(connector = %name, device = %cmd.device, late_ms, "expired cloud command refused");
        return Err(CommandError::Expired { late_ms });
    }
    let options = CommandOptions::from(Origin::Cloud(name.to_owned()));
    match registry
        .command_and_wait(&cmd.device, &cmd.patch, options)
        .await
    {
        Ok(device) => {
            tracing::debug!(connector = %name, device = %cmd.device, "cloud command accepted by the device's source");
            Ok(device.state)
        }
        Err(RegistryError::UnknownDevice(id)) => Err(CommandError::UnknownDevice(id)),
        Err(e) => {
            tracing::warn!(connector = %name, device = %cmd.device, error = %e, "cloud command not carried out");
            Err(CommandError::Invalid(e.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use device_types::{DeviceKind, State};
    use tokio::sync::oneshot;

    use super::*;
    use crate::config::DeviceConfig;

    fn command(device: &str, on: bool, expires_at: Instant) -> Command {
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

    #[tokio::test]
    async fn expired_commands_are_refused_and_fresh_ones_reach_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let registry = Registry::open(
            dir.path(),
            &[DeviceConfig {
                with: Default::default(),
                id: "lamp".into(),
                kind: DeviceKind::OnOffLight,
                name: "Lamp".into(),
                room: None,
                state: None,
                parts: Vec::new(),
            }],
        )
        .unwrap();
        let mut commands = registry.attach_source(crate::registry::VIRTUAL_ROUTE);
        let source = {
            let registry = registry.clone();
            tokio::spawn(async move {
                let command = commands.recv().await.unwrap();
                assert_eq!(command.origin, Origin::Cloud("home".into()));
                crate::registry::confirm_at_once(&registry, command);
            })
        };
        let mut changes = registry.subscribe();
        let late = command("lamp", true, Instant::now() - Duration::from_secs(5));
        assert!(matches!(
            apply("home", &registry, &late).await,
            Err(CommandError::Expired { late_ms }) if late_ms >= 5000
        ));
        assert_eq!(registry.get("lamp").unwrap().state.on, Some(false));

        let fresh = command("lamp", true, Instant::now() + Duration::from_secs(30));
        assert_eq!(
            apply("home", &registry, &fresh).await.unwrap().on,
            Some(true)
        );
        source.await.unwrap();
        // The source's confirmation is a local change, never turned back into a command.
        match changes.try_recv().unwrap() {
            crate::registry::Change::State { origin, .. } => assert_eq!(origin, Origin::Local),
            other => panic!("unexpected change {other:?}"),
        }
        let unknown = command("nope", true, Instant::now() + Duration::from_secs(30));
        assert_eq!(
            apply("home", &registry, &unknown).await,
            Err(CommandError::UnknownDevice("nope".into()))
        );
        // The source is gone: refused at once, naming it.
        let again = command("lamp", false, Instant::now() + Duration::from_secs(30));
        match apply("home", &registry, &again).await {
            Err(CommandError::Invalid(message)) => {
                assert!(message.contains("virtual"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
