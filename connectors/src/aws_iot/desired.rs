//! The AWS connector's desired-state rules over a connection: which desired fields to apply (newer than
//! the device's latest local change, judged on the shadow service's clock and monotonic time, never the
//! hub's wall clock), commands made from them, and clearing each field once applied.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::run::{Note, Run};
use super::shadow::{self, Shadow};
use crate::driver::Cx;
use crate::model::CommandError;
use crate::Error;

impl Run<'_> {
    /// Applies the desired fields newer than the local change; returns the stale ones to clear.
    pub(super) fn apply_desired(
        &mut self,
        cx: &mut Cx<'_>,
        device: &str,
        sh: &Shadow,
        local_at: Option<u64>,
        source: &str,
    ) -> Vec<String> {
        let Some(current) = cx.s.devices.device(device) else {
            return Vec::new();
        };
        let plan = shadow::reconcile(sh, &current.state, local_at);
        if let Some(e) = &plan.invalid {
            cx.s.health.add_command(true);
            tracing::warn!(connector = %self.c.name, device, error = %e, "desired state refused");
        }
        if !plan.clear.is_empty() {
            tracing::info!(connector = %self.c.name, device, fields = ?plan.clear, "desired older than a local change: not applied, cleared");
        }
        if !plan.apply.is_empty() {
            let fields = match serde_json::to_value(&plan.apply) {
                Ok(Value::Object(m)) => m.keys().cloned().collect(),
                _ => Vec::new(),
            };
            self.command(cx, device, plan.apply, fields, source);
        }
        plan.clear
    }

    /// The device's latest local change in the shadow service's clock (Unix seconds): the document's
    /// own `timestamp` (the service's now) minus how long ago, by the monotonic clock, it happened.
    pub(super) fn local_secs(&mut self, cx: &Cx<'_>, device: &str, doc: &Value) -> Option<u64> {
        self.saw_timestamp(doc);
        let at = *self.local_at.get(device)?;
        let service_now_ms = self
            .service_now_ms()
            .unwrap_or_else(|| cx.s.outbox.clock().wall_ms());
        let ago = cx.s.outbox.clock().now().saturating_duration_since(at);
        // In milliseconds until the end: flooring the service's now and the age separately put a
        // local change up to 2 s in the past, so a desired value written a second before it won.
        let ago_ms = u64::try_from(ago.as_millis()).unwrap_or(u64::MAX);
        Some(service_now_ms.saturating_sub(ago_ms) / 1000)
    }

    /// The service's "now" in Unix milliseconds: the highest lower bound its timestamps gave (a
    /// message stamped with whole second `ts` was sent at or after `ts`, so the message that came
    /// soonest after a second began pins the clock closest), advanced by monotonic time.
    fn service_now_ms(&self) -> Option<u64> {
        self.service_clock
            .map(|(ts_ms, at)| ts_ms + u64::try_from(at.elapsed().as_millis()).unwrap_or(0))
    }

    /// Learns the service's clock from a message's `timestamp` (only forward: a document's timestamp
    /// may be its last change rather than the time it was sent).
    pub(super) fn saw_timestamp(&mut self, doc: &Value) {
        if let Some(ts) = doc.get("timestamp").and_then(Value::as_u64) {
            let ts_ms = ts.saturating_mul(1000);
            if self.service_now_ms().is_none_or(|now| ts_ms > now) {
                self.service_clock = Some((ts_ms, Instant::now()));
            }
        }
    }

    /// A command made from desired fields was answered: report the state it produced and clear those
    /// fields in the same update, so the shadow stops asking for them (a later local change is then
    /// never undone by a stale desired). A refused command's fields are cleared too (they would be
    /// refused again); only a bridge shutting down leaves them.
    pub(super) fn applied(
        &mut self,
        cx: &mut Cx<'_>,
        device: &str,
        fields: &[String],
        result: Result<device_types::State, CommandError>,
    ) -> Result<(), Error> {
        match result {
            Err(CommandError::Unavailable) => Ok(()),
            Ok(state) => self.update(cx, device, Some(&state), fields, Vec::new()),
            Err(_) => self.update(cx, device, None, fields, Vec::new()),
        }
    }

    fn command(
        &mut self,
        cx: &mut Cx<'_>,
        device: &str,
        patch: device_types::State,
        fields: Vec<String>,
        source: &str,
    ) {
        let ttl = Duration::from_secs(self.c.outbox.command_ttl_secs);
        let _ =
            cx.s.send_command(&self.c.name, device, patch, ttl, source.to_owned(), {
                let (tx, device) = (self.notes.clone(), device.to_owned());
                move |result| async move {
                    let _ = tx.send(Note::Applied((device, fields, result)));
                }
            });
    }
}
