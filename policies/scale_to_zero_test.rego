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
			{"name": "ledger", "readyEndpoints": 3, "otherReadyEndpoints": 0, "otherBackends": []},
			{"name": "ledger-canary", "readyEndpoints": 4, "otherReadyEndpoints": 1, "otherBackends": ["Deployment/canary"]},
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
