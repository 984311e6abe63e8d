//! Parts on the Matter node: which bridged endpoint each part's endpoint belongs to (the
//! Descriptor PartsList of a bridged endpoint, [`PartsTree`]) and the TagList a part's tag
//! becomes (one semantic tag of the Common Position or Common Number namespace).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use device_types::Tag;
use rs_matter::dm::clusters::desc::PartsMatcher;
use rs_matter::dm::{EndptId, SemanticTag};
use rs_matter::utils::sync::DynBase;

/// The Descriptor TagList of a part's tag, built once per distinct tag (at most 38).
pub(super) fn semantic_tags(tag: Tag) -> &'static [SemanticTag<'static>] {
    static TAGS: OnceLock<Mutex<HashMap<Tag, &'static [SemanticTag<'static>]>>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut tags = tags.lock().unwrap_or_else(|e| e.into_inner());
    tags.entry(tag).or_insert_with(|| {
        let (namespace, value) = tag.semantic();
        Box::leak(Box::new([SemanticTag::new(namespace, value)]))
    })
}

/// Which bridged endpoint each part's endpoint belongs to; the Descriptor PartsList of every
/// bridged endpoint is read from it (endpoint 0 lists every endpoint, as the standard matcher).
#[derive(Debug, Default)]
pub struct PartsTree {
    parents: Mutex<HashMap<u16, u16>>,
}

impl PartsTree {
    pub(super) fn map(&self) -> std::sync::MutexGuard<'_, HashMap<u16, u16>> {
        self.parents.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The endpoint `endpoint` is a direct child of (a part's bridged endpoint, a facet's device).
    pub fn parent_of(&self, endpoint: u16) -> Option<u16> {
        self.map().get(&endpoint).copied()
    }

    /// Every endpoint below `parent` (parts, facets, parts' facets), in ascending order: the
    /// Descriptor PartsList of a composed device lists its whole tree, as the spec's tree pattern asks.
    pub fn parts_of(&self, parent: u16) -> Vec<u16> {
        let map = self.map();
        let mut parts: Vec<u16> = map
            .keys()
            .copied()
            .filter(|child| descends(&map, *child, parent))
            .collect();
        parts.sort_unstable();
        parts
    }
}

/// `child` is below `ancestor` (a tree a few levels deep; a loop cannot form, but is cut anyway).
fn descends(map: &HashMap<u16, u16>, child: u16, ancestor: u16) -> bool {
    let mut at = child;
    for _ in 0..8 {
        match map.get(&at) {
            Some(p) if *p == ancestor => return true,
            Some(p) => at = *p,
            None => return false,
        }
    }
    false
}

impl DynBase for PartsTree {}

impl PartsMatcher for PartsTree {
    fn matches(&self, our_endpoint: EndptId, endpoint: EndptId) -> bool {
        if our_endpoint == 0 {
            return endpoint != 0;
        }
        descends(&self.map(), endpoint, our_endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::super::node::{BridgeNode, BRIDGED_INFO, DESCRIPTOR};
    use super::*;
    use device_types::{DeviceKind, Shape};
    use rs_matter::dm::Metadata as _;

    #[test]
    fn a_part_is_a_tagged_child_without_bridged_node_or_bdbi() {
        use device_types::{parts::NAMESPACE_COMMON_POSITION, Position};
        let node = BridgeNode::new();
        let container = Shape::parse(DeviceKind::BridgedNode, &["battery"]).unwrap();
        assert!(node.add(2, container));
        assert!(node.add_part(
            3,
            DeviceKind::OnOffLight.into(),
            2,
            Some(Tag::Position(Position::Right))
        ));
        assert!(node.add(4, DeviceKind::ContactSensor));
        node.access(|n| {
            let parent = n.endpoint(2).unwrap();
            let types: Vec<u16> = parent.device_types.iter().map(|d| d.dtype).collect();
            assert_eq!(
                types,
                vec![0x0013, 0x0011],
                "Bridged Node once, then Power Source"
            );
            assert!(parent.clusters.iter().any(|c| c.id == BRIDGED_INFO));
            assert!(
                !parent.clusters.iter().any(|c| c.id == 0x0003),
                "no Identify"
            );
            let part = n.endpoint(3).unwrap();
            let types: Vec<u16> = part.device_types.iter().map(|d| d.dtype).collect();
            assert_eq!(types, vec![0x0100]);
            assert!(!part.clusters.iter().any(|c| c.id == BRIDGED_INFO));
            let desc = part.clusters.iter().find(|c| c.id == DESCRIPTOR).unwrap();
            assert_eq!(desc.feature_map, 1, "TagList feature");
            assert_eq!(part.semantic_tags.len(), 1);
            assert_eq!(
                part.semantic_tags[0].namespace_id,
                NAMESPACE_COMMON_POSITION
            );
            assert_eq!(part.semantic_tags[0].tag, 1);
        });
        let tree = node.tree();
        assert!(tree.matches(2, 3) && !tree.matches(4, 3) && !tree.matches(2, 4));
        assert!(tree.matches(0, 3) && tree.matches(0, 2) && !tree.matches(0, 0));
        assert!(node.remove(3));
        assert!(!tree.matches(2, 3));
    }

    #[test]
    fn parts_of_lists_a_parents_children_in_order() {
        let tree = PartsTree::default();
        tree.map().extend([(9, 5), (6, 5), (7, 2), (8, 5)]);
        assert_eq!(tree.parts_of(5), vec![6, 8, 9]);
        assert_eq!(tree.parts_of(2), vec![7]);
        assert!(tree.parts_of(3).is_empty());
    }

    #[test]
    fn a_parts_facet_is_in_the_bridged_endpoints_parts_list_too() {
        // 2 is a bridged device, 3 its part, 4 the facet (a `with` kind) of that part.
        let tree = PartsTree::default();
        tree.map().extend([(3, 2), (4, 3)]);
        assert_eq!(tree.parts_of(2), vec![3, 4], "the whole tree below 2");
        assert_eq!(tree.parts_of(3), vec![4]);
        assert!(tree.matches(2, 4) && tree.matches(3, 4) && !tree.matches(4, 3));
        assert_eq!(tree.parent_of(4), Some(3));
    }
}
