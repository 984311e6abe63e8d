//! Cloud commands → the registry's command path: refused once expired (never applied late after an
//! outage), else handed with origin `cloud:<name>` to the device's source; the answer (accepted, with the
//! device's state as the registry then has it, or why not) goes back on the command's reply channel.
//!
//! Order: commands reach a source in the order the cloud sent them (a connector's broker delivers one
//! session's messages in order, and "on" then "off" must leave the device off). Each source route has
//! its own lane, a task that hands its commands over one after the other, waiting for room in the
//! source's queue (up to the command's expiry) rather than refusing a burst as busy; a lane is
//! bounded ([`LANE`]) so a stuck source refuses the excess at once. Only the wait for the source's
//! answer runs in a task per command, so a slow source never holds up the next command, nor another
//! source's commands.

use std::collections::HashMap;
use std::time::Instant;

use connectors::{Command, CommandError};
use tokio::sync::mpsc;

use crate::registry::{CommandOptions, Origin, PendingCommand, Registry, RegistryError};

/// Commands that may wait for one source's queue, per connector; past that they are refused as busy.
pub const LANE: usize = 4096;

pub async fn run(name: String, registry: Registry, mut commands: mpsc::Receiver<Command>) {
    let mut lanes: HashMap<String, mpsc::Sender<Command>> = HashMap::new();
    while let Some(cmd) = commands.recv().await {
        let Some(route) = registry.route_of(&cmd.device) else {
            let _ = cmd
                .reply
                .send(Err(CommandError::UnknownDevice(cmd.device.clone())));
            continue;
        };
        let lane = lanes.entry(route.clone()).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(LANE);
            tokio::spawn(lane(name.clone(), registry.clone(), rx));
            tx
        });
        if let Err(e) = lane.try_send(cmd) {
            let cmd = match e {
                mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => c,
            };
            // LANE commands already wait for this source.
            let error = RegistryError::SourceBusy {
                device: cmd.device.clone(),
                source_name: route,
            };
            let _ = cmd.reply.send(Err(refused(&name, &cmd.device, error)));
        }
    }
}

/// One source route's commands, handed over in order.
async fn lane(name: String, registry: Registry, mut commands: mpsc::Receiver<Command>) {
    while let Some(cmd) = commands.recv().await {
        match hand_over(&name, &registry, &cmd).await {
            Err(e) => {
                let _ = cmd.reply.send(Err(e));
            }
            Ok(pending) => {
                let (name, registry) = (name.clone(), registry.clone());
                tokio::spawn(async move {
                    let result = confirm(&name, &registry, pending).await;
                    let _ = cmd.reply.send(result);
                });
            }
        }
    }
}

/// Checks the expiry and hands the command to the device's source (waiting for room in its queue).
async fn hand_over(
    name: &str,
    registry: &Registry,
    cmd: &Command,
) -> Result<PendingCommand, CommandError> {
    if let Some(late) = Instant::now().checked_duration_since(cmd.expires_at) {
        let late_ms = late.as_millis() as u64;
        if let Some(suppressed) = connectors::log_limit::allow(name, line!()) {
            tracing::warn!(connector = %name, device = %cmd.device, late_ms, suppressed, "expired cloud command refused");
        }
        return Err(CommandError::Expired { late_ms });
    }
    let options = CommandOptions::from(Origin::Cloud(name.to_owned()));
    registry
        .command_when_room(&cmd.device, &cmd.patch, options, cmd.expires_at)
        .await
        .map_err(|e| refused(name, &cmd.device, e))
}

/// Waits for the source's answer.
async fn confirm(
    name: &str,
    registry: &Registry,
    pending: PendingCommand,
) -> Result<device_types::State, CommandError> {
    let device = pending.device().to_owned();
    match registry.wait_accepted(pending).await {
        Ok(d) => {
            tracing::debug!(connector = %name, device = %device, "cloud command accepted by the device's source");
            Ok(d.state)
        }
        Err(e) => Err(refused(name, &device, e)),
    }
}

fn refused(name: &str, device: &str, e: RegistryError) -> CommandError {
    match e {
        RegistryError::UnknownDevice(id) => CommandError::UnknownDevice(id),
        e => {
            if let Some(suppressed) = connectors::log_limit::allow(name, line!()) {
                tracing::warn!(connector = %name, device = %device, error = %e, suppressed, "cloud command not carried out");
            }
            CommandError::Invalid(e.to_string())
        }
    }
}

/// One command, handed over and confirmed (what a lane does for each).
#[cfg(test)]
async fn apply(
    name: &str,
    registry: &Registry,
    cmd: &Command,
) -> Result<device_types::State, CommandError> {
    let pending = hand_over(name, registry, cmd).await?;
    confirm(name, registry, pending).await
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
        let registry = Registry::open(dir.path(), &[light("lamp", "Lamp")]).unwrap();
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

    fn light(id: &str, name: &str) -> DeviceConfig {
        DeviceConfig {
            with: Default::default(),
            id: id.into(),
            kind: DeviceKind::OnOffLight,
            name: name.into(),
            room: None,
            state: None,
            parts: Vec::new(),
        }
    }

    fn lamps(dir: &std::path::Path, n: usize) -> Registry {
        let devices: Vec<DeviceConfig> = (0..n)
            .map(|i| light(&format!("lamp-{i}"), &format!("Lamp {i}")))
            .collect();
        Registry::open(dir, &devices).unwrap()
    }

    fn command_with_reply(
        device: &str,
        on: bool,
    ) -> (
        Command,
        oneshot::Receiver<Result<device_types::State, CommandError>>,
    ) {
        let (reply, rx) = oneshot::channel();
        let cmd = Command {
            reply,
            ..command(device, on, Instant::now() + Duration::from_secs(30))
        };
        (cmd, rx)
    }

    /// A cloud's commands for one device reach its source in the order they were sent, on a
    /// multi-threaded runtime, and the device ends at the last one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commands_for_a_device_reach_its_source_in_the_order_sent() {
        let dir = tempfile::tempdir().unwrap();
        let registry = lamps(dir.path(), 1);
        let mut source = registry.attach_source(crate::registry::VIRTUAL_ROUTE);
        let (tx, rx) = mpsc::channel(64);
        tokio::spawn(run("home".into(), registry.clone(), rx));
        const N: usize = 2000;
        let seen = {
            let registry = registry.clone();
            tokio::spawn(async move {
                let mut seen = Vec::with_capacity(N);
                while seen.len() < N {
                    let c = source.recv().await.unwrap();
                    seen.push(c.patch.on.unwrap());
                    crate::registry::confirm_at_once(&registry, c);
                }
                seen
            })
        };
        let mut replies = Vec::new();
        for i in 0..N {
            let (cmd, reply) = command_with_reply("lamp-0", i % 2 == 0);
            tx.send(cmd).await.unwrap();
            replies.push(reply);
        }
        let seen = seen.await.unwrap();
        let sent: Vec<bool> = (0..N).map(|i| i % 2 == 0).collect();
        assert_eq!(seen, sent, "commands reached the source out of order");
        for r in replies {
            r.await.unwrap().unwrap();
        }
        assert_eq!(registry.get("lamp-0").unwrap().state.on, Some(sent[N - 1]));
    }

    /// A burst bigger than the source's queue ("everything off" for many devices) waits for room
    /// and is carried out in full instead of partly refused as busy.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_bigger_than_the_source_queue_is_carried_out_not_refused() {
        let dir = tempfile::tempdir().unwrap();
        const N: usize = crate::registry::SOURCE_QUEUE * 4;
        let registry = lamps(dir.path(), N);
        let mut source = registry.attach_source(crate::registry::VIRTUAL_ROUTE);
        let (tx, rx) = mpsc::channel(N);
        tokio::spawn(run("home".into(), registry.clone(), rx));
        let mut replies = Vec::new();
        for i in 0..N {
            let (cmd, reply) = command_with_reply(&format!("lamp-{i}"), true);
            tx.send(cmd).await.unwrap();
            replies.push(reply);
        }
        // The source is busy elsewhere while the whole burst arrives.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let registry2 = registry.clone();
        tokio::spawn(async move {
            while let Some(c) = source.recv().await {
                crate::registry::confirm_at_once(&registry2, c);
            }
        });
        for (i, r) in replies.into_iter().enumerate() {
            let state = r.await.unwrap().unwrap_or_else(|e| panic!("lamp-{i}: {e}"));
            assert_eq!(state.on, Some(true));
        }
        assert!((0..N).all(|i| registry.get(&format!("lamp-{i}")).unwrap().state.on == Some(true)));
    }

    /// A source that never takes its commands: each waits until its expiry and is then refused,
    /// naming the source — and another source's commands are not held up behind them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_source_holds_up_only_its_own_commands() {
        let dir = tempfile::tempdir().unwrap();
        let registry = lamps(dir.path(), 1);
        registry.add(light("desk", "Desk"), Origin::Api).unwrap();
        let _stuck = registry.attach_source(crate::registry::VIRTUAL_ROUTE); // never read
        let mut api = registry.attach_source(crate::registry::API_ROUTE);
        let registry2 = registry.clone();
        tokio::spawn(async move {
            while let Some(c) = api.recv().await {
                crate::registry::confirm_at_once(&registry2, c);
            }
        });
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(run("home".into(), registry.clone(), rx));
        // Fill the stuck source's queue, then one more that must wait and expire.
        for _ in 0..crate::registry::SOURCE_QUEUE {
            let (cmd, _reply) = command_with_reply("lamp-0", true);
            tx.send(cmd).await.unwrap();
        }
        let (reply, late) = oneshot::channel();
        tx.send(Command {
            reply,
            ..command(
                "lamp-0",
                false,
                Instant::now() + Duration::from_millis(1500),
            )
        })
        .await
        .unwrap();
        // The other source's device is served meanwhile.
        let (cmd, desk) = command_with_reply("desk", true);
        tx.send(cmd).await.unwrap();
        let state = tokio::time::timeout(Duration::from_secs(1), desk)
            .await
            .expect("the API device's command waited behind the stuck source")
            .unwrap()
            .unwrap();
        assert_eq!(state.on, Some(true));
        match tokio::time::timeout(Duration::from_secs(5), late).await {
            Ok(Ok(Err(CommandError::Invalid(message)))) => {
                assert!(message.contains("virtual"), "{message}")
            }
            other => panic!("expected a busy refusal, got {other:?}"),
        }
        // An unknown device is answered at once, whatever the stuck source does.
        let (cmd, unknown) = command_with_reply("nope", true);
        tx.send(cmd).await.unwrap();
        assert_eq!(
            tokio::time::timeout(Duration::from_secs(1), unknown)
                .await
                .unwrap()
                .unwrap(),
            Err(CommandError::UnknownDevice("nope".into()))
        );
    }
}
