//! Scenes Management (0x0062) on the bridged lights and plugs, served by rs-matter 0.4.1's
//! `ScenesHandler` over one node-wide scene table, with this bridge's dynamic endpoints as its
//! scene-aware clusters.
//!
//! rs-matter's handler registers scene-aware clusters as a static tuple, one handler per endpoint;
//! a bridge's endpoints come and go, so [`SceneBridge`] implements its `SceneClusters` trait over the
//! mirror instead: StoreScene captures On/Off, Level Control and Color Control from the device's
//! state (`device_types::matter::scenes`), RecallScene turns the stored values into a state patch and
//! sends it through the registry's command path (origin `matter`), so the device's source actuates
//! it and its confirmation updates controllers like any command's.
//!
//! The table (AddScene, ViewScene, RemoveScene, RemoveAllScenes, StoreScene, RecallScene,
//! GetSceneMembership, CopyScene, FabricSceneInfo) and its persistence are rs-matter's: one TLV blob in
//! the Matter KV store (`<storage>/matter/`), loaded at start-up, written on every change, purged per
//! fabric on fabric removal. It holds [`SCENE_TABLE`] scenes for the whole node, shared by every
//! endpoint (each fabric may use up to half); SceneTableSize reads that figure. A change made outside a
//! recall (a controller's command, the device itself) clears SceneValid for the endpoint.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use device_types::matter::scenes as dts;
use device_types::State;
use embassy_futures::select::{select, Either};
use rs_matter::dm::clusters::scenes::{
    AttributeValuePairStruct, ExtensionFieldSetStructBuilder, SceneClusters, SceneInvalidator,
    ScenesHandler, ScenesState,
};
use rs_matter::dm::{AttrId, ClusterId, EndptId, HandlerContext};
use rs_matter::error::{Error, ErrorCode};
use rs_matter::tlv::{TLVArray, TLVBuilderParent, TLVTag};

use super::handler::Mirror;
use crate::registry::{CommandOptions, Origin, Registry, ACCEPT_TIMEOUT};

/// Scenes the node stores in all (every endpoint and fabric together).
pub const SCENE_TABLE: usize = 256;
/// Bytes of extension fields one scene may hold (an extended colour light's scene is ~90).
pub const SCENE_FIELDS: usize = 128;

/// The node-wide scene table.
pub type SceneTable = ScenesState<SCENE_TABLE, SCENE_FIELDS>;
/// The Scenes Management handler of every bridged endpoint.
pub type Scenes<'a> = rs_matter::dm::clusters::scenes::HandlerAsyncAdaptor<
    ScenesHandler<'a, SCENE_TABLE, SceneBridge<'a>, SCENE_FIELDS>,
>;

/// What the last recall asked of each endpoint: its confirmation keeps SceneValid.
#[derive(Clone, Default)]
pub struct Recalls(Rc<RefCell<HashMap<u16, State>>>);

impl Recalls {
    /// Whether the change `old` → `new` on `endpoint` is what a recall asked for (then it leaves
    /// the recalled scene valid); otherwise the recall target is forgotten.
    fn is_recall(&self, endpoint: u16, old: &State, new: &State) -> bool {
        let changed = old.diff(new);
        let mut recalled = self.0.borrow_mut();
        let matches = recalled.get(&endpoint).is_some_and(|target| {
            changed
                .present_fields()
                .iter()
                .all(|f| target.field_value(f) == changed.field_value(f))
        });
        if !matches {
            recalled.remove(&endpoint);
        }
        matches
    }

    fn asked(&self, endpoint: u16, patch: &State) {
        let mut recalled = self.0.borrow_mut();
        let target = recalled.entry(endpoint).or_default();
        *target = target.merged(patch);
    }
}

/// Builds the handler over `table`.
pub fn handler<'a>(
    table: &'a SceneTable,
    mirror: &'a Mirror,
    registry: Registry,
    recalls: Recalls,
) -> Scenes<'a> {
    ScenesHandler::new(
        rs_matter::dm::Dataver::new(rand::random()),
        table,
        SceneBridge {
            mirror,
            registry,
            recalls,
        },
    )
    .adapt()
}

/// The bridge's endpoints as rs-matter's scene-aware clusters.
pub struct SceneBridge<'a> {
    mirror: &'a Mirror,
    registry: Registry,
    recalls: Recalls,
}

/// After a state change on `endpoint`: unless a recall asked for it, a change to a scenable
/// attribute clears SceneValid for the scenes recalled there (Scenes Management: "any change to
/// the attributes of a scene invalidates it"). Returns whether anything scenable changed.
pub fn state_changed(
    table: &SceneTable,
    recalls: &Recalls,
    endpoint: u16,
    kind: device_types::DeviceKind,
    old: &State,
    new: &State,
) -> bool {
    let clusters = dts::scene_clusters(kind);
    if clusters.is_empty() {
        return false;
    }
    let scenable = clusters
        .iter()
        .any(|c| dts::capture(kind, old, *c) != dts::capture(kind, new, *c));
    if scenable && !recalls.is_recall(endpoint, old, new) {
        table.scenable_attribute_changed(endpoint);
    }
    scenable
}

impl SceneClusters for SceneBridge<'_> {
    fn capture<P: TLVBuilderParent>(&self, endpoint_id: EndptId, parent: P) -> Result<P, Error> {
        let Some((kind, state)) = self
            .mirror
            .devices
            .borrow()
            .get(&endpoint_id)
            .map(|d| (d.shape.kind, d.state.clone()))
        else {
            return Ok(parent);
        };
        let mut parent = parent;
        for cluster in dts::scene_clusters(kind) {
            let efs = ExtensionFieldSetStructBuilder::new(parent, &TLVTag::Anonymous)?;
            let mut avps = efs.cluster_id(cluster)?.attribute_value_list()?;
            for (attr, value) in dts::capture(kind, &state, cluster) {
                avps = if dts::value_bits(cluster, attr) == 16 {
                    avps.push_u16(attr, value.min(u64::from(u16::MAX)) as u16)?
                } else {
                    avps.push_u8(attr, value.min(u64::from(u8::MAX)) as u8)?
                };
            }
            parent = avps.end()?.end()?;
        }
        Ok(parent)
    }

    fn check_scenable(&self, cluster_id: ClusterId, attribute_id: AttrId) -> Option<bool> {
        use device_types::matter::ids::cluster;
        matches!(
            cluster_id,
            cluster::ON_OFF | cluster::LEVEL_CONTROL | cluster::COLOR_CONTROL
        )
        .then(|| dts::is_scenable(cluster_id, attribute_id))
    }

    async fn apply<C: HandlerContext>(
        &self,
        _ctx: &C,
        endpoint_id: EndptId,
        cluster_id: ClusterId,
        avp_list: &TLVArray<'_, AttributeValuePairStruct<'_>>,
        transition_time_ms: u32,
    ) -> Result<bool, Error> {
        let Some((id, kind)) = self
            .mirror
            .devices
            .borrow()
            .get(&endpoint_id)
            .map(|d| (d.id.clone(), d.shape.kind))
        else {
            return Ok(false);
        };
        if !dts::scene_clusters(kind).contains(&cluster_id) {
            return Ok(false);
        }
        let mut values = Vec::new();
        for avp in avp_list.iter() {
            let avp = avp?;
            let value = [
                avp.value_unsigned_8()?.map(u64::from),
                avp.value_unsigned_16()?.map(u64::from),
                avp.value_unsigned_32()?.map(u64::from),
                avp.value_unsigned_64()?,
            ]
            .into_iter()
            .flatten()
            .next();
            if let Some(v) = value {
                values.push((avp.attribute_id()?, v));
            }
        }
        let patch = dts::recall_patch(kind, cluster_id, &values).map_err(|e| {
            tracing::warn!(device = %id, endpoint = endpoint_id, error = %e, "scene not applicable");
            Error::from(ErrorCode::ConstraintError)
        })?;
        if patch.is_empty() {
            return Ok(true);
        }
        self.recalls.asked(endpoint_id, &patch);
        let options = CommandOptions {
            transition: (transition_time_ms > 0)
                .then(|| std::time::Duration::from_millis(transition_time_ms.into())),
            stop: None,
            origin: Origin::Matter,
        };
        let pending = self.registry.command(&id, &patch, options).map_err(|e| {
            tracing::warn!(device = %id, endpoint = endpoint_id, error = %e, "scene recall refused");
            Error::from(ErrorCode::Failure)
        })?;
        let timeout = embassy_time::Timer::after(embassy_time::Duration::from_millis(
            ACCEPT_TIMEOUT.as_millis() as u64,
        ));
        match select(pending.accepted(), timeout).await {
            Either::First(Ok(())) => {
                tracing::info!(device = %id, endpoint = endpoint_id, cluster = cluster_id, patch = %patch.to_json(), "scene recalled");
                Ok(true)
            }
            Either::First(Err(e)) => {
                tracing::warn!(device = %id, endpoint = endpoint_id, error = %e, "scene recall not accepted");
                Err(ErrorCode::Failure.into())
            }
            Either::Second(()) => {
                tracing::warn!(device = %id, endpoint = endpoint_id, "the device's source did not accept the scene in time");
                Err(ErrorCode::Failure.into())
            }
        }
    }
}
