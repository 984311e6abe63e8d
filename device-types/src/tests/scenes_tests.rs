//! Scenes: what a scene captures per kind, and the patch a recall asks for.

use crate::matter::ids::{cluster, color_control, level_control, on_off};
use crate::matter::scenes::{
    capture, is_scenable, recall_patch, scene_clusters, ENHANCED_CURRENT_HUE,
};
use crate::matter::CommandError;
use crate::{ColorMode, DeviceKind, State};

#[test]
fn scene_clusters_follow_the_kind() {
    assert_eq!(
        scene_clusters(DeviceKind::OnOffPlugInUnit),
        [cluster::ON_OFF]
    );
    assert_eq!(
        scene_clusters(DeviceKind::DimmableLight),
        [cluster::ON_OFF, cluster::LEVEL_CONTROL]
    );
    assert_eq!(
        scene_clusters(DeviceKind::ExtendedColorLight),
        [
            cluster::ON_OFF,
            cluster::LEVEL_CONTROL,
            cluster::COLOR_CONTROL
        ]
    );
    assert!(scene_clusters(DeviceKind::DoorLock).is_empty());
    assert!(is_scenable(cluster::ON_OFF, on_off::attr::ON_OFF));
    assert!(!is_scenable(cluster::ON_OFF, on_off::attr::ON_TIME));
    assert!(!is_scenable(
        cluster::LEVEL_CONTROL,
        level_control::attr::ON_LEVEL
    ));
}

#[test]
fn capture_then_recall_gives_the_state_back() {
    let cases = [
        (
            DeviceKind::DimmableLight,
            State {
                on: Some(true),
                brightness: Some(77),
                ..State::default()
            },
        ),
        (
            DeviceKind::ColorTemperatureLight,
            State {
                on: Some(false),
                brightness: Some(200),
                color_temp_mireds: Some(250),
                color_mode: Some(ColorMode::ColorTemp),
                ..State::default()
            },
        ),
        (
            DeviceKind::ExtendedColorLight,
            State {
                on: Some(true),
                brightness: Some(10),
                color_temp_mireds: Some(370),
                hue: Some(120),
                saturation: Some(80),
                color_x: Some(0.3),
                color_y: Some(0.6),
                color_mode: Some(ColorMode::Hs),
                ..State::default()
            },
        ),
        (
            DeviceKind::OnOffPlugInUnit,
            State {
                on: Some(true),
                ..State::default()
            },
        ),
    ];
    for (kind, state) in cases {
        let mut back = State::default();
        for c in scene_clusters(kind) {
            let values = capture(kind, &state, c);
            assert!(!values.is_empty(), "{kind} {c:#x}");
            for (a, _) in &values {
                assert!(
                    is_scenable(c, *a),
                    "{kind}: {c:#x}/{a:#x} captured but not scenable"
                );
            }
            back = back.merged(&recall_patch(kind, c, &values).unwrap());
        }
        kind.validate(&back).unwrap();
        // x/y go through Matter's 1/65536 steps.
        let round = |v: Option<f64>| v.map(|x| (x * 1000.0).round());
        assert_eq!(
            State {
                color_x: round(back.color_x),
                color_y: round(back.color_y),
                ..back.clone()
            },
            State {
                color_x: round(state.color_x),
                color_y: round(state.color_y),
                ..state.clone()
            },
            "{kind}"
        );
    }
}

#[test]
fn recall_refuses_values_out_of_range_and_skips_what_the_kind_lacks() {
    let e = recall_patch(
        DeviceKind::DimmableLight,
        cluster::LEVEL_CONTROL,
        &[(level_control::attr::CURRENT_LEVEL, 255)],
    )
    .unwrap_err();
    assert!(
        matches!(&e, CommandError::ConstraintError { field, value, .. } if field == "CurrentLevel" && value == "255"),
        "{e:?}"
    );
    // A hue on a colour-temperature light is skipped; the light stays in colour temperature.
    let p = recall_patch(
        DeviceKind::ColorTemperatureLight,
        cluster::COLOR_CONTROL,
        &[
            (ENHANCED_CURRENT_HUE, 1000),
            (color_control::attr::COLOR_TEMPERATURE_MIREDS, 300),
            (color_control::attr::ENHANCED_COLOR_MODE, 2),
        ],
    )
    .unwrap();
    assert_eq!(p.hue, None);
    assert_eq!(p.color_temp_mireds, Some(300));
    assert_eq!(p.color_mode, Some(ColorMode::ColorTemp));
    // A cluster the kind does not serve changes nothing.
    assert!(recall_patch(
        DeviceKind::OnOffPlugInUnit,
        cluster::LEVEL_CONTROL,
        &[(0, 5)]
    )
    .unwrap()
    .is_empty());
}
