package levee.policies.probe_gate_test

import data.levee
import data.levee.harness

# The cases in cases/probe_gate.json run here and, through the compiled wasm bundle,
# in test/policies/probe-gate.test.ts.
test_shared_cases if harness.shared_cases_pass(data.cases.probe_gate)

controller_manager_down := {
	"request": {"operation": "UPDATE", "namespace": "shop", "name": "web", "userInfo": {"username": "alice", "groups": ["developers"]}},
	"context": {"probe-gate": {
		"change": "template",
		"target": {"kind": "Deployment", "namespace": "shop", "name": "web"},
		"verdict": "Unhealthy",
		"unknownReason": "",
		"verdictAgeSeconds": 3,
		"maxVerdictAgeSeconds": 120,
		"verdictFile": "/var/run/levee/verdict.json",
		"since": "2026-11-23T10:00:00.000Z",
		"failing": [{
			"probe": "controller-manager",
			"message": "Lease kube-system/kube-controller-manager last renewed 40 s ago",
			"hint": "kube-controller-manager is not renewing its leader Lease: is kube-controller-manager running?",
			"since": "2026-11-23T10:00:00.000Z",
		}],
	}},
}

test_denial_names_probe_hint_since_and_override if {
	some v in levee.violations with input as controller_manager_down with data.config as data.cases.config
	v.policy == "probe-gate"
	v.rule == "cluster-unhealthy"
	contains(v.message, "changing the pod template of Deployment web")
	contains(v.message, "controller-manager failing since 2026-11-23T10:00:00.000Z")
	contains(v.message, "is kube-controller-manager running?")
	contains(v.message, "Unhealthy (since 2026-11-23T10:00:00.000Z)")
	contains(v.message, "levee.dev/override: probe-gate")
	v.details.failing == ["controller-manager"]
}

test_stale_verdict_says_how_old if {
	stale := json.patch(controller_manager_down, [
		{"op": "replace", "path": "/context/probe-gate/verdict", "value": "Unknown"},
		{"op": "replace", "path": "/context/probe-gate/unknownReason", "value": "stale"},
		{"op": "replace", "path": "/context/probe-gate/verdictAgeSeconds", "value": 300},
	])
	some v in levee.violations with input as stale with data.config as data.cases.config
	v.rule == "verdict-unknown"
	contains(v.message, "stale (300 s old, limit 120 s)")
}

test_break_glass_group_may_roll_out if {
	config := json.patch(data.cases.config, [{"op": "replace", "path": "/policies/probe-gate/breakGlassGroups", "value": ["developers"]}])
	count([v | some v in levee.violations; v.policy == "probe-gate"]) == 0 with input as controller_manager_down with data.config as config
}
