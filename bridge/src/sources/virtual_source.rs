//! The virtual source: simulated devices whose state lives only in the registry, with optional sensor drift.
//!
//! It is the source of the devices in the config file: a command for one of them (from Matter, a cloud or
//! the API) arrives on its channel, is accepted at once and confirmed with [`Origin::Local`], as a real
//! source confirms what its device did — so the demo takes the same path as real hardware. A command
//! with a transition time moves there over that time, confirming each step ([`super::motion`]). With drift on, every
//! interval each reachable sensor wanders a little, as a real one would: temperature by a random walk of at
//! most ±0.2 °C within 15..30 °C, humidity by at most ±1 %RH within 30..70 %, pressure by at most ±1 hPa
//! within 990..1030 hPa (for every device that has the field, a multi-sensor too), occupancy toggles
//! now and then, a contact rarely. Changes are applied with [`Origin::Local`].

use std::time::Duration;

use async_trait::async_trait;
use device_types::{Shape, State};
use rand::rngs::StdRng;
use rand::{Rng, RngExt, SeedableRng};
use tokio_util::sync::CancellationToken;

use super::motion::{Motions, STEP};
use super::{DeviceSource, SourceError};
use crate::config::VirtualConfig;
use tokio::sync::mpsc;

use crate::registry::{Origin, Registry, RegistryError, SourceCommand, VIRTUAL_ROUTE};

/// Temperature range the drift stays in, °C.
pub const TEMPERATURE_RANGE: (f64, f64) = (15.0, 30.0);
/// Largest temperature step per interval, °C.
pub const TEMPERATURE_STEP: f64 = 0.2;
/// Humidity range the drift stays in, %RH.
pub const HUMIDITY_RANGE: (f64, f64) = (30.0, 70.0);
/// Largest humidity step per interval, %RH.
pub const HUMIDITY_STEP: f64 = 1.0;
/// Pressure wanders within this range (hPa) ...
const PRESSURE_RANGE: (f64, f64) = (990.0, 1030.0);
/// ... by at most this much per step.
const PRESSURE_STEP: f64 = 1.0;
/// Chance per interval that an occupancy sensor toggles.
pub const OCCUPANCY_TOGGLE: f64 = 0.1;
/// Chance per interval that a contact sensor toggles.
pub const CONTACT_TOGGLE: f64 = 0.02;

/// Simulated devices; see the module documentation.
pub struct VirtualSource {
    drift: bool,
    interval: Duration,
    cover_travel: Duration,
    rng: StdRng,
}

impl VirtualSource {
    /// A source drifting (or not) every `interval` (at least 1 ms).
    pub fn new(drift: bool, interval: Duration) -> VirtualSource {
        VirtualSource {
            drift,
            interval: interval.max(Duration::from_millis(1)),
            cover_travel: Duration::ZERO,
            rng: rand::make_rng(),
        }
    }

    /// Window coverings take `full` to travel the whole way (zero: they jump).
    pub fn with_cover_travel(mut self, full: Duration) -> VirtualSource {
        self.cover_travel = full;
        self
    }

    /// A source as the `[virtual]` section says.
    pub fn from_config(config: &VirtualConfig) -> VirtualSource {
        VirtualSource::new(
            config.drift,
            Duration::from_secs(config.drift_interval_secs),
        )
        .with_cover_travel(Duration::from_secs(config.cover_travel_secs))
    }

    /// Makes the drift reproducible (tests).
    pub fn with_seed(mut self, seed: u64) -> VirtualSource {
        self.rng = StdRng::seed_from_u64(seed);
        self
    }

    /// One drift step over every reachable device. Returns how many devices changed.
    pub fn step(&mut self, registry: &Registry) -> usize {
        let mut changed = 0;
        for device in registry.list() {
            if !device.reachable {
                continue;
            }
            let patch = drift_patch(device.shape(), &device.state, &mut self.rng);
            if patch.is_empty() {
                continue;
            }
            match registry.apply(&device.id, &patch, Origin::Local) {
                Ok(_) => changed += 1,
                // Removed between list() and apply(): nothing to drift.
                Err(RegistryError::UnknownDevice(_)) => {}
                Err(e) => tracing::warn!(device = %device.id, error = %e, "virtual drift rejected"),
            }
        }
        changed
    }
}

#[async_trait]
impl DeviceSource for VirtualSource {
    fn name(&self) -> &str {
        VIRTUAL_ROUTE
    }

    async fn run(
        mut self: Box<Self>,
        registry: Registry,
        mut commands: mpsc::Receiver<SourceCommand>,
        shutdown: CancellationToken,
    ) -> Result<(), SourceError> {
        tracing::info!(
            source = "virtual",
            drift = self.drift,
            interval_ms = self.interval.as_millis() as u64,
            "started"
        );
        let mut ticks = tokio::time::interval(self.interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate; drift starts one interval in
        let mut motions = Motions::new().with_cover_travel(self.cover_travel);
        let mut steps = tokio::time::interval(STEP);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                command = commands.recv() => match command {
                    Some(command) => motions.handle(&registry, command, tokio::time::Instant::now()),
                    None => break,
                },
                _ = steps.tick(), if motions.is_moving() => {
                    motions.step(&registry, tokio::time::Instant::now());
                }
                _ = ticks.tick(), if self.drift => {
                    let changed = self.step(&registry);
                    tracing::trace!(source = "virtual", changed, "drift step");
                }
            }
        }
        tracing::info!(source = "virtual", "stopped");
        Ok(())
    }
}

/// The drift of one device for one interval: the fields that change (empty if none).
pub fn drift_patch<R: Rng + ?Sized>(shape: Shape, state: &State, rng: &mut R) -> State {
    let has = |f: &str| shape.fields().contains(&f);
    let mut patch = State::default();
    // Thermostats and temperature sensors (also as a multi-sensor's `with`).
    if has("temperature") {
        let (lo, hi) = TEMPERATURE_RANGE;
        patch.temperature = Some(walk(state.temperature, 21.0, lo, hi, TEMPERATURE_STEP, rng));
    }
    if has("humidity") {
        let (lo, hi) = HUMIDITY_RANGE;
        patch.humidity = Some(walk(state.humidity, 45.0, lo, hi, HUMIDITY_STEP, rng));
    }
    if has("pressure") {
        let (lo, hi) = PRESSURE_RANGE;
        patch.pressure = Some(walk(state.pressure, 1013.0, lo, hi, PRESSURE_STEP, rng).round());
    }
    if has("occupied") && rng.random_bool(OCCUPANCY_TOGGLE) {
        patch.occupied = Some(!state.occupied.unwrap_or(false));
    }
    if has("contact") && rng.random_bool(CONTACT_TOGGLE) {
        patch.contact = Some(!state.contact.unwrap_or(true));
    }
    state.diff(&patch)
}

/// One random-walk step of at most `step`, kept in `lo..=hi`, rounded to 0.01 (Matter's resolution).
/// A missing or out-of-range current value restarts from `start`.
fn walk<R: Rng + ?Sized>(
    current: Option<f64>,
    start: f64,
    lo: f64,
    hi: f64,
    step: f64,
    rng: &mut R,
) -> f64 {
    let current = current
        .filter(|v| v.is_finite() && (lo..=hi).contains(v))
        .unwrap_or(start);
    let next = current + rng.random_range(-step..=step);
    (next.clamp(lo, hi) * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DeviceConfig;
    use device_types::DeviceKind;

    fn registry(dir: &std::path::Path) -> Registry {
        // Every kind that stands alone (a bridged_node needs parts).
        let devices: Vec<DeviceConfig> = DeviceKind::ALL
            .iter()
            .filter(|k| **k != DeviceKind::BridgedNode)
            .map(|kind| DeviceConfig {
                with: Default::default(),
                id: kind.as_str().replace('_', "-"),
                kind: *kind,
                name: kind.as_str().chars().take(32).collect(),
                room: None,
                state: None,
                parts: Vec::new(),
            })
            .collect();
        Registry::open(dir, &devices).unwrap()
    }

    #[test]
    fn sensors_wander_within_their_ranges_and_nothing_else_moves() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        let before = registry.list();
        let mut source = VirtualSource::new(true, Duration::from_millis(1)).with_seed(7);
        let mut last_temp = registry
            .get("temperature-sensor")
            .unwrap()
            .state
            .temperature;
        let (mut occupancy_changes, mut humidity_changes) = (0, 0);
        let mut occupied = registry.get("occupancy-sensor").unwrap().state.occupied;
        let mut humidity = registry.get("humidity-sensor").unwrap().state.humidity;
        for _ in 0..500 {
            source.step(&registry);
            let t = registry
                .get("temperature-sensor")
                .unwrap()
                .state
                .temperature
                .unwrap();
            assert!((15.0..=30.0).contains(&t), "{t}");
            if let Some(prev) = last_temp.filter(|p| (15.0..=30.0).contains(p)) {
                assert!((t - prev).abs() <= 0.2 + 1e-9, "step {prev} -> {t}");
            }
            last_temp = Some(t);
            let h = registry
                .get("humidity-sensor")
                .unwrap()
                .state
                .humidity
                .unwrap();
            assert!((30.0..=70.0).contains(&h), "{h}");
            humidity_changes += usize::from(humidity != Some(h));
            humidity = Some(h);
            let o = registry.get("occupancy-sensor").unwrap().state.occupied;
            occupancy_changes += usize::from(o != occupied);
            occupied = o;
        }
        assert!(humidity_changes > 400, "{humidity_changes}");
        assert!(
            (10..200).contains(&occupancy_changes),
            "{occupancy_changes}"
        );
        for device in before {
            if matches!(device.kind, k if k.as_str().ends_with("light") || k == DeviceKind::DoorLock)
            {
                assert_eq!(
                    registry.get(&device.id).unwrap().state,
                    device.state,
                    "{}",
                    device.id
                );
            }
        }
    }

    #[test]
    fn unreachable_devices_do_not_drift() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        registry.set_reachable("temperature-sensor", false).unwrap();
        let before = registry.get("temperature-sensor").unwrap();
        let mut source = VirtualSource::new(true, Duration::from_millis(1)).with_seed(1);
        for _ in 0..20 {
            source.step(&registry);
        }
        assert_eq!(
            registry.get("temperature-sensor").unwrap().version,
            before.version
        );
    }

    #[tokio::test]
    async fn running_source_drifts_and_stops_on_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        let mut changes = registry.subscribe();
        let shutdown = CancellationToken::new();
        let source: Box<dyn DeviceSource> =
            Box::new(VirtualSource::new(true, Duration::from_millis(2)));
        let task = tokio::spawn(source.run(
            registry.clone(),
            registry.attach_source(VIRTUAL_ROUTE),
            shutdown.clone(),
        ));
        let change = tokio::time::timeout(Duration::from_secs(5), changes.recv()).await;
        let change = change.expect("drift within 5 s").unwrap();
        assert!(matches!(
            change,
            crate::registry::Change::State {
                origin: Origin::Local,
                ..
            }
        ));
        shutdown.cancel();
        let result = tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops");
        result.unwrap().unwrap();
    }

    #[tokio::test]
    async fn without_drift_nothing_changes() {
        let dir = tempfile::tempdir().unwrap();
        let registry = registry(dir.path());
        let shutdown = CancellationToken::new();
        let source = Box::new(VirtualSource::new(false, Duration::from_millis(1)));
        let task = tokio::spawn(source.run(
            registry.clone(),
            registry.attach_source(VIRTUAL_ROUTE),
            shutdown.clone(),
        ));
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(registry.version(), 0);
        shutdown.cancel();
        task.await.unwrap().unwrap();
    }
}
