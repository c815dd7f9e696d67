package levee.policies.scale_to_zero_test

import data.levee
import data.levee.harness

# The cases in cases/scale_to_zero.json run here and, through the compiled wasm bundle,
# in test/policies/scale-to-zero.test.ts.
test_shared_cases if harness.shared_cases_pass(data.cases.scale_to_zero)

monzo := {
	"request": {"operation": "UPDATE", "namespace": "payments", "name": "ledger"},
	"context": {"scale-to-zero": {
		"target": {"kind": "Deployment", "namespace": "payments", "name": "ledger"},
		"change": "replicas",
		"replicasBefore": 3,
		"replicasAfter": 0,
		"services": [
			{"name": "ledger", "readyEndpoints": 3, "ownReadyEndpoints": 3, "otherReadyEndpoints": 0, "otherBackends": []},
			{"name": "ledger-canary", "readyEndpoints": 4, "ownReadyEndpoints": 3, "otherReadyEndpoints": 1, "otherBackends": ["Deployment/canary"]},
		],
	}},
}

test_message_names_the_unbacked_service_and_the_way_out if {
	some v in levee.violations with input as monzo with data.config as data.cases.config
	v.policy == "scale-to-zero"
	contains(v.message, "Service ledger in namespace payments")
	not contains(v.message, "ledger-canary")
	contains(v.message, "levee.dev/override: scale-to-zero")
	v.details.services == ["ledger"]
}

test_exempt_namespace_wildcard if {
	config := json.patch(data.cases.config, [{"op": "replace", "path": "/policies/scale-to-zero/exemptWorkloads", "value": ["payments/*"]}])
	count(levee.violations) == 0 with input as monzo with data.config as config
}

created_at_zero := json.patch(monzo, [
	{"op": "replace", "path": "/context/scale-to-zero/replicasBefore", "value": null},
	{"op": "replace", "path": "/context/scale-to-zero/services/0/ownReadyEndpoints", "value": 0},
	{"op": "replace", "path": "/context/scale-to-zero/services/0/readyEndpoints", "value": 0},
])

test_created_at_zero_names_the_autoscaler_way_out if {
	some v in levee.violations with input as created_at_zero with data.config as data.cases.config
	v.rule == "scale-to-zero"
	startswith(v.message, "creating Deployment/ledger at 0 replicas would leave Service ledger")
	contains(v.message, "create first the autoscaler meant to own it at zero")
}

test_autoscaled_names_the_autoscaler if {
	c := json.patch(monzo, [
		{"op": "replace", "path": "/context/scale-to-zero/change", "value": "autoscaled"},
		{"op": "add", "path": "/context/scale-to-zero/autoscaler", "value": {"kind": "ScaledObject", "name": "ledger"}},
	])
	some v in levee.violations with input as c with data.config as data.cases.config
	v.rule == "autoscaler-to-zero"
	v.message == "scaling Deployment/ledger to 0 replicas, which ScaledObject/ledger lets reach zero, leaves Service ledger in namespace payments with no endpoints until it scales up again, unless an activator fronts it"
}
