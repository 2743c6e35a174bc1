//! A big Sandbox account, for trying and benchmarking what a view costs as an account grows:
//! `cutover sandbox serve --load-balancers 1000 --droplets-per-lb 200 --records 5000`, or for the
//! app's built-in Sandbox `CUTOVER_SANDBOX_SCALE=lbs=1000,droplets=200,records=5000`.

use std::str::FromStr;

/// The environment variable [`SandboxScale::from_env`] reads.
pub const SCALE_ENV: &str = "CUTOVER_SANDBOX_SCALE";

/// The most load balancers a scaled Sandbox holds (their addresses, 127.0.2.1 on, stay
/// distinct up to 62,500; beyond this the JSON of one listing is no longer a benchmark).
pub const MAX_LOAD_BALANCERS: u32 = 10_000;
/// The most generated droplets (they share one server, but each is a droplet in every listing).
pub const MAX_DROPLETS_PER_LB: u32 = 5_000;
/// The most generated domain records.
pub const MAX_RECORDS: u32 = 100_000;

/// How big the Sandbox account is. Zero everywhere (the default) is the seeded account as it
/// is: 9 load balancers, 10 droplets, 10 records in the first domain.
///
/// - `load_balancers`: how many load balancers the account holds in all, the 9 seeded ones
///   included (`blog-staging-0009`, `api-staging-0010`, … are added up to the number).
/// - `droplets_per_lb`: how many droplets each generated load balancer has (`app-0001`, …,
///   tag `app`). They are one pool that all generated load balancers share, every tenth one
///   by tag. They are not each a real server: all of them are served by one shared HTTPS and
///   one HTTP listener (the fleet certificate, a page naming the shared server), so a
///   certificate check of all of them connects and succeeds. Only the 10 seeded droplets
///   (web-1..3, api-1..2, three Kubernetes workers, web-ams3-1..2) have listeners of their own.
/// - `records`: how many records are added to the seeded domain (`host-00001`, …: A records on
///   127.3.x.y, CNAMEs and TXT records inside the zone).
///
/// The scale shapes a new account only: a state file that already exists is loaded as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SandboxScale {
    pub load_balancers: u32,
    pub droplets_per_lb: u32,
    pub records: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaleError {
    #[error("{SCALE_ENV}: {0:?} is not KEY=NUMBER (use e.g. lbs=1000,droplets=200,records=5000)")]
    Syntax(String),
    #[error("{SCALE_ENV}: unknown key {0:?} (use lbs, droplets and records)")]
    UnknownKey(String),
    #[error("{what} must be at most {max}, not {value}")]
    TooLarge {
        what: &'static str,
        value: u64,
        max: u32,
    },
}

impl SandboxScale {
    /// True for the seeded account as it is.
    pub fn is_seed_only(&self) -> bool {
        self.load_balancers <= 3 && self.droplets_per_lb == 0 && self.records == 0
    }

    /// Builds a scale from numbers, refusing what is over the maximums.
    pub fn new(
        load_balancers: u64,
        droplets_per_lb: u64,
        records: u64,
    ) -> Result<Self, ScaleError> {
        let check = |what, value: u64, max: u32| {
            u32::try_from(value)
                .ok()
                .filter(|v| *v <= max)
                .ok_or(ScaleError::TooLarge { what, value, max })
        };
        Ok(Self {
            load_balancers: check("load balancers", load_balancers, MAX_LOAD_BALANCERS)?,
            droplets_per_lb: check(
                "droplets per load balancer",
                droplets_per_lb,
                MAX_DROPLETS_PER_LB,
            )?,
            records: check("records", records, MAX_RECORDS)?,
        })
    }

    /// Reads [`SCALE_ENV`]: `None` when it is unset or empty.
    pub fn from_env() -> Result<Option<Self>, ScaleError> {
        match std::env::var(SCALE_ENV) {
            Ok(v) if !v.trim().is_empty() => v.parse().map(Some),
            // Unset, or not Unicode (then it cannot be a scale either: say so).
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(v)) => {
                Err(ScaleError::Syntax(v.to_string_lossy().into_owned()))
            }
        }
    }
}

/// `lbs=1000,droplets=200,records=5000`; keys in any order, each optional (also
/// `load_balancers` and `droplets_per_lb`), separated by commas or spaces.
impl FromStr for SandboxScale {
    type Err = ScaleError;

    fn from_str(spec: &str) -> Result<Self, ScaleError> {
        let (mut lbs, mut droplets, mut records) = (0u64, 0u64, 0u64);
        for part in spec.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| ScaleError::Syntax(part.to_string()))?;
            let value: u64 = value
                .trim()
                .replace('_', "")
                .parse()
                .map_err(|_| ScaleError::Syntax(part.to_string()))?;
            match key.trim().to_ascii_lowercase().as_str() {
                "lbs" | "load_balancers" => lbs = value,
                "droplets" | "droplets_per_lb" => droplets = value,
                "records" => records = value,
                other => return Err(ScaleError::UnknownKey(other.to_string())),
            }
        }
        Self::new(lbs, droplets, records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scale_parses_from_the_environment_syntax() {
        let s: SandboxScale = "lbs=1000,droplets=200,records=5_000".parse().unwrap();
        assert_eq!(
            s,
            SandboxScale {
                load_balancers: 1000,
                droplets_per_lb: 200,
                records: 5000
            }
        );
        let s: SandboxScale = " records=7  lbs=4 ".parse().unwrap();
        assert_eq!((s.load_balancers, s.droplets_per_lb, s.records), (4, 0, 7));
        assert!("".parse::<SandboxScale>().unwrap().is_seed_only());
        assert!(matches!(
            "lbs".parse::<SandboxScale>(),
            Err(ScaleError::Syntax(_))
        ));
        assert!(matches!(
            "lbs=many".parse::<SandboxScale>(),
            Err(ScaleError::Syntax(_))
        ));
        assert!(matches!(
            "vpcs=3".parse::<SandboxScale>(),
            Err(ScaleError::UnknownKey(_))
        ));
        let err = "lbs=99999999999".parse::<SandboxScale>().unwrap_err();
        assert!(err.to_string().contains("at most 10000"), "{err}");
    }
}
