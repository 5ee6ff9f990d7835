//! References to a version: `name`, `name:latest`, `name:v3`, `name:<alias>`, each optionally with
//! `project/` in front.

use std::fmt;
use std::str::FromStr;

use crate::error::ValidationError;
use crate::types::{AliasName, ArtifactName, ProjectName, VersionIndex};

/// Which version of an artifact a reference means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionSelector {
    /// The `latest` alias (also what a bare `name` means).
    Latest,
    Index(VersionIndex),
    Alias(AliasName),
}

/// A parsed reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArtifactRef {
    pub project: Option<ProjectName>,
    pub name: ArtifactName,
    pub selector: VersionSelector,
}

impl FromStr for ArtifactRef {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (project, rest) = match s.split_once('/') {
            Some((p, rest)) => (
                Some(ProjectName::parse(p).map_err(|e| ref_error(s, &e.message))?),
                rest,
            ),
            None => (None, s),
        };
        let (name, selector) = match rest.split_once(':') {
            Some((n, sel)) => (n, Some(sel)),
            None => (rest, None),
        };
        let name = ArtifactName::parse(name).map_err(|e| ref_error(s, &e.message))?;
        let selector = match selector {
            None | Some("latest") => VersionSelector::Latest,
            Some(sel) => match VersionIndex::parse_label(sel) {
                Some(i) => VersionSelector::Index(i),
                None => VersionSelector::Alias(
                    AliasName::parse(sel).map_err(|e| ref_error(s, &e.message))?,
                ),
            },
        };
        Ok(ArtifactRef {
            project,
            name,
            selector,
        })
    }
}

fn ref_error(s: &str, why: &str) -> ValidationError {
    ValidationError::new(
        "reference",
        format!("{s:?} is not [project/]name[:version|alias]: {why}"),
    )
}

impl fmt::Display for ArtifactRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.project {
            write!(f, "{p}/")?;
        }
        write!(f, "{}", self.name)?;
        match &self.selector {
            VersionSelector::Latest => write!(f, ":latest"),
            VersionSelector::Index(i) => write!(f, ":{i}"),
            VersionSelector::Alias(a) => write!(f, ":{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ArtifactRef {
        s.parse().expect(s)
    }

    #[test]
    fn every_form_parses() {
        let r = parse("model");
        assert_eq!((r.project, r.selector), (None, VersionSelector::Latest));
        assert_eq!(parse("model:latest").selector, VersionSelector::Latest);
        assert_eq!(
            parse("model:v3").selector,
            VersionSelector::Index(VersionIndex(3))
        );
        assert_eq!(
            parse("model:best").selector,
            VersionSelector::Alias(AliasName::parse("best").expect("a"))
        );
        let full = parse("vision/resnet-50:prod");
        assert_eq!(
            full.project.map(|p| p.into_string()),
            Some("vision".to_owned())
        );
        assert_eq!(full.name.as_str(), "resnet-50");
        assert_eq!(parse("vision/resnet:v1").to_string(), "vision/resnet:v1");
    }

    #[test]
    fn malformed_references_are_refused() {
        for bad in [
            "",
            ":v1",
            "model:",
            "a/b/c",
            "Proj/model",
            "model:v1:v2",
            "/model",
            "model:bad alias",
        ] {
            let err = bad.parse::<ArtifactRef>().expect_err(bad);
            assert_eq!(err.field, "reference");
        }
    }
}
