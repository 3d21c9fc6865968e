//! Top-level networks and volumes.

use std::collections::BTreeMap;

use super::{Loader, Result};
use crate::compose::model::Volume;
use crate::compose::yaml::Node;

impl Loader<'_> {
    pub(super) fn named_resources(&self, node: &Node, what: &str) -> Result<BTreeMap<String, Volume>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.entries(node, &format!("a mapping of {what} names"))? {
            let mut resource = Volume::default();
            for (k, v) in self.entries(value, &format!("the {what}'s settings"))? {
                match k.name.as_str() {
                    "name" => resource.name = Some(self.string(v, &format!("a {what} name"))?),
                    "external" => resource.external = self.bool(v, "true or false")?,
                    other => {
                        return Err(self.error(
                            k.pos,
                            &format!("{what} setting `{other}` is not supported by dmp"),
                            "unsupported",
                            Some("dmp supports `name` and `external`"),
                        ));
                    }
                }
            }
            out.insert(key.name.clone(), resource);
        }
        Ok(out)
    }
}
