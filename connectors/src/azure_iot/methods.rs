//! Commands from Azure (desired properties, direct methods, cloud-to-device messages) handed to the
//! registry, and direct-method answers: 200 with the state, 400 with a message on bad input, 404 for an
//! unknown device, 501 for an unknown method, 503 when the bridge cannot take it now.

use std::time::Duration;

use device_types::State;
use serde_json::{json, Value};

use super::connector::Run;
use super::twin::{self, MethodCall};
use crate::driver::Cx;
use crate::model::CommandError;

impl Run<'_> {
    /// Sends a command to the registry; the answer goes to `reply_to` (a method's `$rid`) or the log.
    pub(super) fn command(
        &mut self,
        cx: &mut Cx<'_>,
        device: String,
        patch: State,
        source: String,
        reply_to: Option<String>,
    ) -> Result<(), ()> {
        let ttl = Duration::from_secs(self.c.outbox.command_ttl_secs);
        let out = self.out_tx.clone();
        let (rid, dev) = (reply_to.clone(), device.clone());
        let sent = cx.s.send_command(
            &self.c.name,
            &device,
            patch,
            ttl,
            source,
            move |result| async move {
                let Some(rid) = rid else { return };
                let (status, body) = match result {
                    Ok(state) => (200, json!({"device": dev, "state": state})),
                    Err(e @ CommandError::UnknownDevice(_)) => {
                        (404, json!({"message": e.to_string()}))
                    }
                    Err(e @ CommandError::Invalid(_)) => (400, json!({"message": e.to_string()})),
                    Err(e) => (503, json!({"message": e.to_string()})),
                };
                let _ = out.send((
                    twin::method_response(status, &rid),
                    body.to_string().into_bytes(),
                ));
            },
        );
        if !sent {
            if let Some(rid) = reply_to {
                let body = json!({"message": "the bridge is busy; try again"});
                let _ = self.out_tx.send((
                    twin::method_response(503, &rid),
                    body.to_string().into_bytes(),
                ));
            }
            return Err(());
        }
        Ok(())
    }

    pub(super) fn method(&mut self, cx: &mut Cx<'_>, method: &str, rid: &str, payload: &[u8]) {
        let respond = |run: &mut Self, status: u16, body: Value| {
            let _ = run.out_tx.send((
                twin::method_response(status, rid),
                body.to_string().into_bytes(),
            ));
        };
        match twin::parse_method(method, payload) {
            Err(e) => {
                cx.s.health.add_command(true);
                if let Some(suppressed) = crate::log_limit::allow(&self.c.name, line!()) {
                    tracing::warn!(connector = %self.c.name, method, status = e.status, error = %e.message, suppressed, "direct method refused");
                }
                respond(self, e.status, e.body());
            }
            Ok(MethodCall::Get { device }) => match cx.s.devices.device(&device) {
                Some(d) => respond(
                    self,
                    200,
                    json!({"device": device, "state": d.state, "reachable": d.reachable}),
                ),
                None => respond(
                    self,
                    404,
                    json!({"message": format!("no device with id `{device}`")}),
                ),
            },
            Ok(MethodCall::Set { device, patch }) => {
                if cx.s.devices.device(&device).is_none() {
                    cx.s.health.add_command(true);
                    respond(
                        self,
                        404,
                        json!({"message": format!("no device with id `{device}`")}),
                    );
                    return;
                }
                let _ = self.command(
                    cx,
                    device,
                    patch,
                    format!("method {method}"),
                    Some(rid.to_owned()),
                );
            }
        }
    }
}
