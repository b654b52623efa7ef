//! What `skms bench kmip` asks of the server: the workloads, each a kind of
//! logical action (one or several requests), built from KMIP payloads and
//! checked answer by answer; and the pool of named AES-256 keys that the
//! read workloads use.

use super::session::{ok, Bad, Errors, Session, Target};
use clap::ValueEnum;
use kmip::attributes::{Attribute, AttributeName, AttributeReference, Attributes, Wrapped};
use kmip::enums::{CryptographicAlgorithm, NameType, ObjectType, Operation, State};
use kmip::objects::Object;
use kmip::payloads::{
    ActivateRequest, AddAttributeRequest, CreateRequest, DiscoverVersionsRequest,
    GetAttributesRequest, GetRequest, LocateRequest, RequestPayload, ResponsePayload,
};
use kmip::{Tag, Ttlv, Value};
use std::sync::Arc;

/// What `skms bench kmip` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Get of pre-created AES-256 keys (--keys of them, in turn).
    Get,
    /// Create of AES-256 keys (each acknowledged Create is durable on the server).
    Create,
    /// Locate by Name among the pre-created keys: exactly the one key answers.
    Locate,
    /// Get Attributes (State, Cryptographic Algorithm and Length) of pre-created keys.
    GetAttributes,
    /// vCenter's sequence from its captures, as three actions: Create; three Get
    /// Attributes of x- names then Add Attribute ×3 in one batch; Get, Get
    /// Attributes(State), Activate.
    Vcenter,
    /// M new connections at once (--hosts), each: Discover Versions, Get of one
    /// shared key, close, as vSAN hosts after a power event. Not timed by --duration.
    BootStorm,
    /// get, get-attributes, locate and create in the proportions of --mix.
    Mix,
    /// --connections connections opened (each with Discover Versions) and
    /// held without traffic for --duration, then each asks Discover Versions
    /// again: what holding them costs the server (read its memory meanwhile).
    Idle,
}

impl Workload {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Get => "get",
            Workload::Create => "create",
            Workload::Locate => "locate",
            Workload::GetAttributes => "get-attributes",
            Workload::Vcenter => "vcenter",
            Workload::BootStorm => "boot-storm",
            Workload::Mix => "mix",
            Workload::Idle => "idle",
        }
    }

    /// Whether the run needs the pool of pre-created keys.
    pub fn needs_pool(self) -> bool {
        !matches!(self, Workload::Create | Workload::Vcenter | Workload::Idle)
    }
}

/// One logical action; latency is measured per action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Get,
    Create,
    Locate,
    GetAttributes,
    /// vCenter's first connection: Create.
    VcenterCreate,
    /// vCenter's second: Get Attributes of x-Product_Version, x-Vendor and
    /// x-Product, then one batch of three Add Attributes.
    VcenterTag,
    /// vCenter's third: Get, Get Attributes(State), Activate.
    VcenterUse,
    /// Discover Versions (an idle connection still answers).
    Discover,
}

impl Action {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Action::Get => "get",
            Action::Create => "create",
            Action::Locate => "locate",
            Action::GetAttributes => "get-attributes",
            Action::VcenterCreate => "vcenter create",
            Action::VcenterTag => "vcenter tag",
            Action::VcenterUse => "vcenter get+activate",
            Action::Discover => "discover versions",
        }
    }
}

/// The pre-created keys: identifier and Name of each.
pub struct Pool {
    pub keys: Vec<(String, String)>,
}

/// What a connection's loop keeps between its actions.
#[derive(Default)]
pub struct Cursor {
    /// Actions started.
    n: u64,
    /// vCenter: the key the next actions work on (created by the first).
    vcenter_key: Option<String>,
    /// vCenter: that key's tagging was sent.
    vcenter_tagged: bool,
}

/// The sequence of actions of one workload (the mix as a fixed, evenly
/// interleaved cycle).
pub struct Plan {
    workload: Workload,
    cycle: Vec<Action>,
}

impl Plan {
    /// The plan of `workload`; `mix` weighs the mix's actions.
    pub fn new(workload: Workload, mix: &[(Action, u32)]) -> Plan {
        let cycle = match workload {
            Workload::Get | Workload::BootStorm => vec![Action::Get],
            Workload::Idle => vec![Action::Discover],
            Workload::Create => vec![Action::Create],
            Workload::Locate => vec![Action::Locate],
            Workload::GetAttributes => vec![Action::GetAttributes],
            Workload::Vcenter => vec![
                Action::VcenterCreate,
                Action::VcenterTag,
                Action::VcenterUse,
            ],
            Workload::Mix => interleave(mix),
        };
        Plan { workload, cycle }
    }

    /// The next action of the connection with `cursor` (connection `index`
    /// starts at its own place in the cycle, so connections do not move in step).
    pub fn next(&self, index: usize, cursor: &Cursor) -> Action {
        if self.workload == Workload::Vcenter {
            // A vCenter key is tagged and used only once it exists.
            return match (&cursor.vcenter_key, cursor.vcenter_tagged) {
                (None, _) => Action::VcenterCreate,
                (Some(_), false) => Action::VcenterTag,
                (Some(_), true) => Action::VcenterUse,
            };
        }
        self.cycle[(index as u64 * 7 + cursor.n) as usize % self.cycle.len()]
    }
}

/// Spreads weighted actions evenly over a cycle of at most 100 steps (weights
/// in percent or any ratio; `get=3,create=1` is get, get, get, create, in
/// an interleaved order).
fn interleave(mix: &[(Action, u32)]) -> Vec<Action> {
    let total: u32 = mix.iter().map(|(_, w)| w).sum();
    let scale = if total > 100 {
        100.0 / total as f64
    } else {
        1.0
    };
    let mut slots: Vec<(f64, Action)> = Vec::new();
    for &(action, weight) in mix {
        let n = ((weight as f64 * scale).round() as u32).max(u32::from(weight > 0));
        for i in 0..n {
            // Each action's steps spaced evenly over [0, 1).
            slots.push(((i as f64 + 0.5) / n as f64, action));
        }
    }
    slots.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    slots.into_iter().map(|(_, a)| a).collect()
}

/// The weights of `--mix`, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mix(pub Vec<(Action, u32)>);

/// Parses `--mix`: `get=70,get-attributes=10,locate=10,create=10`.
pub fn parse_mix(s: &str) -> Result<Mix, String> {
    let mut mix = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?}: expected ACTION=WEIGHT"))?;
        let action = match name.trim() {
            "get" => Action::Get,
            "create" => Action::Create,
            "locate" => Action::Locate,
            "get-attributes" => Action::GetAttributes,
            other => {
                return Err(format!(
                    "{other:?}: the mix takes get, create, locate and get-attributes"
                ))
            }
        };
        let weight: u32 = weight
            .trim()
            .parse()
            .map_err(|_| format!("{part:?}: the weight must be a whole number"))?;
        if mix.iter().any(|(a, _)| *a == action) {
            return Err(format!("{name:?} is given twice"));
        }
        mix.push((action, weight));
    }
    if mix.iter().all(|(_, w)| *w == 0) {
        return Err("the mix needs at least one action with a weight above 0".into());
    }
    Ok(Mix(mix))
}

/// A Create of an AES-256 key (Encrypt | Decrypt, as vCenter asks), named
/// when `name` is given.
fn create(name: Option<&str>) -> (Operation, RequestPayload) {
    let mut attributes = vec![
        Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        ),
        Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
        Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
    ];
    if let Some(name) = name {
        attributes.push(name_attribute(name));
    }
    (
        Operation::CREATE,
        CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(attributes),
            protection_storage_masks: None,
        }
        .into(),
    )
}

/// A Name attribute (uninterpreted text string).
fn name_attribute(name: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        Value::Structure(vec![
            Ttlv::new(Tag::NAME_VALUE, Value::TextString(name.into())),
            Ttlv::new(
                Tag::NAME_TYPE,
                Value::Enumeration(NameType::UNINTERPRETED_TEXT_STRING.0),
            ),
        ]),
    )
}

fn get(uid: &str) -> (Operation, RequestPayload) {
    (
        Operation::GET,
        GetRequest {
            unique_identifier: Some(uid.into()),
            ..Default::default()
        }
        .into(),
    )
}

fn get_attributes(uid: &str, names: &[&str]) -> (Operation, RequestPayload) {
    (
        Operation::GET_ATTRIBUTES,
        GetAttributesRequest {
            unique_identifier: Some(uid.into()),
            attribute_reference: names
                .iter()
                .map(|n| AttributeReference(AttributeName::from_v1(n)))
                .collect(),
        }
        .into(),
    )
}

fn add_text_attribute(uid: &str, name: &str, value: &str) -> (Operation, RequestPayload) {
    (
        Operation::ADD_ATTRIBUTE,
        AddAttributeRequest {
            unique_identifier: Some(uid.into()),
            attribute: Wrapped(Attribute::custom(name, Value::TextString(value.into()))),
        }
        .into(),
    )
}

/// The one answer of a one-item request, checked as a success of `operation`.
async fn one(
    s: &mut Session,
    target: &Target,
    request: (Operation, RequestPayload),
) -> Result<ResponsePayload, Bad> {
    let operation = request.0;
    let mut answers = s.call(target, vec![request]).await?;
    ok(&answers[0], operation)?;
    Ok(answers.swap_remove(0).payload.expect("checked by ok"))
}

/// Creates one AES-256 key; returns its identifier.
pub async fn create_key(
    s: &mut Session,
    target: &Target,
    name: Option<&str>,
) -> Result<String, Bad> {
    match one(s, target, create(name)).await? {
        ResponsePayload::Create(c)
            if c.object_type == ObjectType::SYMMETRIC_KEY && !c.unique_identifier.is_empty() =>
        {
            Ok(c.unique_identifier)
        }
        ResponsePayload::Create(c) => Err(Bad::new(
            "Create: unexpected answer",
            format!("{} {:?}", c.object_type, c.unique_identifier),
        )),
        other => Err(wrong_payload(Operation::CREATE, &other)),
    }
}

/// Gets `uid` and checks that it is 32 bytes of key.
pub async fn get_key(s: &mut Session, target: &Target, uid: &str) -> Result<(), Bad> {
    match one(s, target, get(uid)).await? {
        ResponsePayload::Get(g) => {
            if g.unique_identifier != uid {
                return Err(Bad::new(
                    "Get returned another object",
                    format!("{} instead of {uid}", g.unique_identifier),
                ));
            }
            let len = match &g.object {
                Object::SymmetricKey(k) => k.key_block.key_bytes().map(|b| b.len()),
                _ => None,
            };
            if len != Some(32) {
                return Err(Bad::new(
                    "Get did not return 32 bytes of key",
                    format!("{}: {len:?} bytes", g.object.object_type()),
                ));
            }
            Ok(())
        }
        other => Err(wrong_payload(Operation::GET, &other)),
    }
}

/// Get Attributes of `names` of `uid`: the attributes found.
async fn read_attributes(
    s: &mut Session,
    target: &Target,
    uid: &str,
    names: &[&str],
) -> Result<Attributes, Bad> {
    match one(s, target, get_attributes(uid, names)).await? {
        ResponsePayload::GetAttributes(g) if g.unique_identifier == uid => {
            Ok(g.attributes.0.unwrap_or_default())
        }
        ResponsePayload::GetAttributes(g) => Err(Bad::new(
            "Get Attributes answered for another object",
            format!("{} instead of {uid}", g.unique_identifier),
        )),
        other => Err(wrong_payload(Operation::GET_ATTRIBUTES, &other)),
    }
}

fn wrong_payload(operation: Operation, got: &ResponsePayload) -> Bad {
    Bad::new(
        format!("{operation}: wrong response payload"),
        format!("{:?}", got.operation()),
    )
}

/// Runs one action on `s`. A failure that vCenter tolerates (its Add
/// Attribute batch) is counted in `tolerated` and does not fail the action.
pub async fn run(
    action: Action,
    s: &mut Session,
    target: &Target,
    pool: &Option<Arc<Pool>>,
    index: usize,
    cursor: &mut Cursor,
    tolerated: &mut Errors,
) -> Result<(), Bad> {
    let n = cursor.n;
    cursor.n += 1;
    // The pool key of this action: connections walk the pool from their own
    // place, so that together they touch every key.
    let pick = || {
        let keys = &pool.as_ref().expect("a pool for this workload").keys;
        &keys[((index as u64).wrapping_mul(7919).wrapping_add(n) % keys.len() as u64) as usize]
    };
    match action {
        Action::Get => get_key(s, target, &pick().0).await,
        Action::Create => create_key(s, target, None).await.map(drop),
        Action::Locate => {
            let (uid, name) = pick();
            let request = LocateRequest {
                attributes: kmip::attributes::InlineAttributes(Some(Attributes::new(vec![
                    name_attribute(name),
                ]))),
                ..Default::default()
            };
            match one(s, target, (Operation::LOCATE, request.into())).await? {
                ResponsePayload::Locate(l) if l.unique_identifier == [uid.clone()] => Ok(()),
                ResponsePayload::Locate(l) => Err(Bad::new(
                    "Locate by Name did not find exactly its key",
                    format!("{name}: {:?} instead of [{uid}]", l.unique_identifier),
                )),
                other => Err(wrong_payload(Operation::LOCATE, &other)),
            }
        }
        Action::GetAttributes => {
            let uid = &pick().0;
            let found = read_attributes(
                s,
                target,
                uid,
                &["State", "Cryptographic Algorithm", "Cryptographic Length"],
            )
            .await?;
            if found.cryptographic_length() != Some(256) || found.state().is_none() {
                return Err(Bad::new(
                    "Get Attributes: State or Cryptographic Length missing or wrong",
                    format!("{uid}: length {:?}", found.cryptographic_length()),
                ));
            }
            Ok(())
        }
        Action::VcenterCreate => {
            cursor.vcenter_key = Some(create_key(s, target, None).await?);
            cursor.vcenter_tagged = false;
            Ok(())
        }
        Action::VcenterTag => {
            // Whatever happens, the key is used next (as vCenter goes on).
            cursor.vcenter_tagged = true;
            let uid = cursor.vcenter_key.clone().expect("created first");
            for name in ["x-Product_Version", "x-Vendor", "x-Product"] {
                read_attributes(s, target, &uid, &[name]).await?;
            }
            let sent = s
                .call(
                    target,
                    vec![
                        add_text_attribute(&uid, "x-Product_Version", "8.0.1 build-21560480"),
                        add_text_attribute(&uid, "x-Vendor", "VMware, Inc."),
                        add_text_attribute(&uid, "x-Product", "VMware vSphere"),
                    ],
                )
                .await;
            let tolerate = |tolerated: &mut Errors, bad: Bad| {
                tolerated.add(Bad {
                    kind: format!(
                        "Add Attribute x3: {} (tolerated, as vCenter does)",
                        bad.kind
                    ),
                    ..bad
                })
            };
            match sent {
                Ok(answers) => {
                    for answer in &answers {
                        if let Err(bad) = ok(answer, Operation::ADD_ATTRIBUTE) {
                            tolerate(tolerated, bad);
                        }
                    }
                    Ok(())
                }
                // A server that cannot read the batch at all (PyKMIP answers
                // one Invalid Message item): vCenter carries on all the same.
                Err(bad) if !bad.broken => {
                    tolerate(tolerated, bad);
                    Ok(())
                }
                Err(bad) => Err(bad),
            }
        }
        Action::Discover => one(
            s,
            target,
            (
                Operation::DISCOVER_VERSIONS,
                DiscoverVersionsRequest::default().into(),
            ),
        )
        .await
        .map(drop),
        Action::VcenterUse => {
            let uid = cursor.vcenter_key.take().expect("created first");
            get_key(s, target, &uid).await?;
            let state = read_attributes(s, target, &uid, &["State"]).await?.state();
            match state {
                Some(State::PRE_ACTIVE) => {
                    let request = ActivateRequest {
                        unique_identifier: Some(uid.clone()),
                    };
                    one(s, target, (Operation::ACTIVATE, request.into())).await?;
                    Ok(())
                }
                // A server that creates keys Active: vCenter skips Activate.
                Some(State::ACTIVE) => Ok(()),
                other => Err(Bad::new(
                    "Get Attributes(State): not Pre-Active or Active",
                    format!("{uid}: {other:?}"),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_is_parsed_and_interleaved() {
        let mix = parse_mix("get=3, create=1").unwrap().0;
        assert_eq!(mix, [(Action::Get, 3), (Action::Create, 1)]);
        let cycle = interleave(&mix);
        assert_eq!(cycle.len(), 4);
        assert_eq!(cycle.iter().filter(|a| **a == Action::Create).count(), 1);
        // Weights above 100 in total are scaled to a cycle of about 100.
        let cycle = interleave(&parse_mix("get=700,locate=300").unwrap().0);
        assert_eq!(cycle.len(), 100);
        assert_eq!(cycle.iter().filter(|a| **a == Action::Locate).count(), 30);
        // Evenly spread: no more than two creates in any run of ten.
        let cycle = interleave(&parse_mix("get=80,create=20").unwrap().0);
        for w in cycle.windows(10) {
            assert!(w.iter().filter(|a| **a == Action::Create).count() <= 2);
        }
        for bad in ["get", "get=x", "destroy=1", "get=0", "get=1,get=2", ""] {
            assert!(parse_mix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vcenter_creates_before_it_tags_and_uses() {
        let plan = Plan::new(Workload::Vcenter, &[]);
        let mut cursor = Cursor::default();
        assert_eq!(plan.next(3, &cursor), Action::VcenterCreate);
        cursor.vcenter_key = Some("k".into());
        assert_eq!(plan.next(3, &cursor), Action::VcenterTag);
        cursor.vcenter_tagged = true;
        assert_eq!(plan.next(3, &cursor), Action::VcenterUse);
        // A failed Create leaves no key: create again, whatever the count.
        cursor.vcenter_key = None;
        assert_eq!(plan.next(3, &cursor), Action::VcenterCreate);
    }
}
