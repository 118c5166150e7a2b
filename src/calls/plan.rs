//! Routing decisions for a new call, as a pure function of the tenant, its staff and the time, so
//! every branch (hours, strategies, staff order, no targets) is unit-tested without HTTP or a database.

use jiff::Timestamp;

use crate::db::staff::Staff;
use crate::db::tenants::Tenant;
use crate::domain::routing::{StaffOrder, Strategy};

/// What a new call will do, fixed when the call is first logged so Twilio's retries and the later
/// webhooks of the same call continue one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The strategy in force (the after-hours one when closed), after falling back to voicemail when
    /// there is nobody to ring.
    pub strategy: Strategy,
    pub after_hours: bool,
    /// Numbers to ring one after another (E.164).
    pub targets: Vec<String>,
}

/// Chooses the plan for a call arriving at `now`. `rotation` is the tenant's round-robin counter for
/// this call (ignored in priority order).
pub fn plan(tenant: &Tenant, staff: &[Staff], now: Timestamp, rotation: u64) -> Plan {
    let policy = &tenant.routing_policy;
    let open = tenant
        .business_hours
        .is_open(now, &tenant.time_zone.time_zone());
    let wanted = if open {
        policy.strategy
    } else {
        policy.after_hours_strategy
    };
    let on_duty: Vec<&Staff> = staff.iter().filter(|s| s.on_duty).collect();
    let staff_targets = || -> Vec<String> {
        // `staff` arrives in priority order; round robin rotates who is rung first.
        let mut list: Vec<String> = on_duty.iter().map(|s| s.phone.to_string()).collect();
        if policy.staff_order == StaffOrder::RoundRobin && !list.is_empty() {
            let k = (rotation % list.len() as u64) as usize;
            list.rotate_left(k);
        }
        list
    };
    let external = || {
        policy
            .external_number
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
    };
    let targets = match wanted {
        Strategy::Forward => staff_targets(),
        Strategy::ForwardExternal => external(),
        // Menus and AI hand-offs route on to people afterwards: staff first, else the external number.
        Strategy::Gather | Strategy::AiAssistant => {
            let s = staff_targets();
            if s.is_empty() { external() } else { s }
        }
        Strategy::Voicemail => Vec::new(),
    };
    let strategy = match wanted {
        Strategy::Forward | Strategy::ForwardExternal if targets.is_empty() => Strategy::Voicemail,
        // A hand-off keeps its targets even when empty: they are where a failed hand-off falls back
        // to (voicemail when there are none). A policy stored before the hand-off was configurable
        // has no connector, so such calls are forwarded as they were then.
        Strategy::AiAssistant if policy.ai_assistant.is_none() => {
            if targets.is_empty() {
                Strategy::Voicemail
            } else {
                Strategy::Forward
            }
        }
        other => other,
    };
    Plan {
        strategy,
        after_hours: !open,
        targets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::routing::{AiAssistant, AiConnector};
    use crate::domain::{E164, RoutingPolicy};

    fn tenant(policy: RoutingPolicy) -> Tenant {
        Tenant {
            id: "t".into(),
            name: "Bella".into(),
            twilio_number: Some(E164::parse("n", "+15005550006").unwrap()),
            routing_policy: policy,
            ..Tenant::example("America/New_York")
        }
    }

    fn staff(name: &str, phone: &str, on_duty: bool) -> Staff {
        Staff {
            id: name.into(),
            tenant_id: "t".into(),
            name: name.into(),
            phone: E164::parse("p", phone).unwrap(),
            email: None,
            role: "staff".into(),
            priority: 0,
            on_duty,
            created_at: 0,
            updated_at: 0,
        }
    }

    // Monday 2026-11-23 10:00 in New York (15:00 UTC), and 20:00 the same day.
    fn open_time() -> Timestamp {
        "2026-11-23T15:00:00Z".parse().unwrap()
    }
    fn closed_time() -> Timestamp {
        "2026-11-24T01:00:00Z".parse().unwrap()
    }

    #[test]
    fn forward_rings_on_duty_staff_in_priority_order() {
        let team = [
            staff("a", "+14155550101", true),
            staff("b", "+14155550102", false),
            staff("c", "+14155550103", true),
        ];
        let p = plan(&tenant(RoutingPolicy::default()), &team, open_time(), 0);
        assert_eq!(p.strategy, Strategy::Forward);
        assert!(!p.after_hours);
        assert_eq!(p.targets, ["+14155550101", "+14155550103"]);
    }

    #[test]
    fn round_robin_rotates_the_first_target() {
        let team = [
            staff("a", "+14155550101", true),
            staff("b", "+14155550102", true),
            staff("c", "+14155550103", true),
        ];
        let policy = RoutingPolicy {
            staff_order: StaffOrder::RoundRobin,
            ..Default::default()
        };
        let firsts: Vec<String> = (0..4)
            .map(|r| plan(&tenant(policy.clone()), &team, open_time(), r).targets[0].clone())
            .collect();
        assert_eq!(
            firsts,
            [
                "+14155550101",
                "+14155550102",
                "+14155550103",
                "+14155550101"
            ]
        );
        assert_eq!(
            plan(&tenant(policy), &team, open_time(), 1).targets.len(),
            3,
            "everyone is still tried"
        );
    }

    #[test]
    fn after_hours_uses_the_after_hours_strategy() {
        let team = [staff("a", "+14155550101", true)];
        let p = plan(&tenant(RoutingPolicy::default()), &team, closed_time(), 0);
        assert_eq!((p.strategy, p.after_hours), (Strategy::Voicemail, true));
        let policy = RoutingPolicy {
            after_hours_strategy: Strategy::ForwardExternal,
            external_number: Some(E164::parse("e", "+14155550199").unwrap()),
            ..Default::default()
        };
        let p = plan(&tenant(policy), &team, closed_time(), 0);
        assert_eq!(p.strategy, Strategy::ForwardExternal);
        assert_eq!(p.targets, ["+14155550199"]);
    }

    #[test]
    fn nobody_to_ring_means_voicemail() {
        let p = plan(
            &tenant(RoutingPolicy::default()),
            &[staff("a", "+14155550101", false)],
            open_time(),
            0,
        );
        assert_eq!(p.strategy, Strategy::Voicemail);
        let ext = RoutingPolicy {
            strategy: Strategy::ForwardExternal,
            ..Default::default()
        };
        assert_eq!(
            plan(&tenant(ext), &[], open_time(), 0).strategy,
            Strategy::Voicemail
        );
    }

    #[test]
    fn gather_keeps_targets_for_after_the_menu() {
        let policy = RoutingPolicy {
            strategy: Strategy::Gather,
            ..Default::default()
        };
        let p = plan(
            &tenant(policy),
            &[staff("a", "+14155550101", true)],
            open_time(),
            0,
        );
        assert_eq!(p.strategy, Strategy::Gather);
        assert_eq!(p.targets, ["+14155550101"]);
    }

    fn ai_policy(strategy: Strategy, after_hours: Strategy) -> RoutingPolicy {
        RoutingPolicy {
            strategy,
            after_hours_strategy: after_hours,
            ai_assistant: Some(AiAssistant {
                connector: AiConnector::Stream,
                url: Some("wss://agent.example/stream".into()),
                parameters: Default::default(),
                number: None,
                sip: None,
                caller_id: None,
                api_key: None,
                assistant_id: None,
                metadata: None,
                timeout_ms: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ai_assistant_stays_in_the_plan_with_fallback_targets() {
        let team = [staff("a", "+14155550101", true)];
        let policy = ai_policy(Strategy::AiAssistant, Strategy::Voicemail);
        let p = plan(&tenant(policy.clone()), &team, open_time(), 0);
        assert_eq!(p.strategy, Strategy::AiAssistant);
        assert_eq!(p.targets, ["+14155550101"], "staff to fall back to");
        // Nobody on duty: the external number is the fallback; without one, still a hand-off
        // (whose fallback is then voicemail).
        let ext = RoutingPolicy {
            external_number: Some(E164::parse("e", "+14155550199").unwrap()),
            ..policy.clone()
        };
        let p = plan(&tenant(ext), &[], open_time(), 0);
        assert_eq!(
            (p.strategy, p.targets),
            (Strategy::AiAssistant, vec!["+14155550199".to_string()])
        );
        let p = plan(&tenant(policy), &[], open_time(), 0);
        assert_eq!(p.strategy, Strategy::AiAssistant);
        assert!(p.targets.is_empty());
    }

    #[test]
    fn ai_after_hours_and_staff_in_hours() {
        let team = [staff("a", "+14155550101", true)];
        let policy = ai_policy(Strategy::Forward, Strategy::AiAssistant);
        let open = plan(&tenant(policy.clone()), &team, open_time(), 0);
        assert_eq!(open.strategy, Strategy::Forward);
        let closed = plan(&tenant(policy), &team, closed_time(), 0);
        assert_eq!(
            (closed.strategy, closed.after_hours),
            (Strategy::AiAssistant, true)
        );
    }

    #[test]
    fn unconfigured_ai_assistant_is_forwarded_as_before() {
        let legacy = RoutingPolicy {
            strategy: Strategy::AiAssistant,
            ..Default::default()
        };
        let team = [staff("a", "+14155550101", true)];
        let p = plan(&tenant(legacy.clone()), &team, open_time(), 0);
        assert_eq!(p.strategy, Strategy::Forward);
        assert_eq!(
            plan(&tenant(legacy), &[], open_time(), 0).strategy,
            Strategy::Voicemail
        );
    }
}
