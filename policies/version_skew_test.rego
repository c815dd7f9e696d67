package levee.policies.version_skew_test

import data.levee
import data.levee.harness

# The cases in cases/version_skew.json run here and, through the compiled wasm bundle,
# in test/policies/version-skew.test.ts.
test_shared_cases if harness.shared_cases_pass(data.cases.version_skew)

violation_of(name, rule) := harness.violation_of(data.cases.version_skew, name, rule)

test_ride_hailing_message_quotes_both_versions_and_the_way_back if {
	v := violation_of("the ride-hailing replay: control plane downgraded below its workers", "control-plane-older-than-workers")
	v.policy == "version-skew"
	contains(v.message, "KubeadmControlPlane default/prod-cp of cluster prod")
	contains(v.message, "control plane v1.12.10 would be older than workers at v1.20.2")
	contains(v.message, "rule control-plane-older-than-workers")
	contains(v.message, "keep v1.20.x")
}

test_downgrade_message if {
	v := violation_of("the ride-hailing replay: control plane downgraded below its workers", "control-plane-downgrade")
	contains(v.message, "control plane downgrade from v1.20.2 to v1.12.10")
}

test_minor_skip_counts_the_skipped_minors_and_names_the_next_step if {
	v := violation_of("control plane jumps four minors", "minor-skip")
	contains(v.message, "from v1.20.2 to v1.24.0 skips 3 minor version(s)")
	contains(v.message, "v1.21.x first")
}

test_control_plane_too_far_ahead_names_the_allowed_lag if {
	v := violation_of("control plane jumps four minors", "control-plane-too-far-ahead")
	contains(v.message, "4 minors ahead of workers at v1.20.2, more than the 2 the skew policy allows")
}

test_workers_newer_message if {
	v := violation_of("workers moved ahead of their control plane", "workers-newer-than-control-plane")
	contains(v.message, "workers v1.21.0 would be newer than the control plane at v1.20.2")
}

test_kubelet_message if {
	v := violation_of("a node registers with a kubelet newer than the API server", "kubelet-newer-than-apiserver")
	contains(v.message, "node node-a reports kubelet v1.35.0, newer than the API server at v1.34.4")
}

test_addon_message if {
	v := violation_of("coredns image moved back a minor", "addon-downgrade")
	contains(v.message, "Deployment kube-system/coredns: coredns image registry.k8s.io/coredns/coredns goes back from v1.11.1 to v1.10.1")
}

test_allowed_lag if {
	allowed_lag({"major": 1, "minor": 24, "patch": 0}) == 2
	allowed_lag({"major": 1, "minor": 25, "patch": 0}) == 3
	allowed_lag({"major": 1, "minor": 34, "patch": 0}) == 3
}

allowed_lag(v) := data.levee.policies.version_skew.allowed_lag(v)
