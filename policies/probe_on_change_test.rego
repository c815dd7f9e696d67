package levee.policies.probe_on_change_test

import data.levee.harness

# The cases in cases/probe_on_change.json run here and, through the compiled wasm bundle,
# in test/policies/probe-on-change.test.ts.
test_shared_cases if harness.shared_cases_pass(data.cases.probe_on_change)

test_hold_says_what_ran_and_when_to_retry if {
	v := harness.violation_of(data.cases.probe_on_change, "a platform change while the run after the last one is pending", "run-in-progress")
	v.policy == "probe-on-change"
	contains(v.message, "a probe run after creating DaemonSet kube-system/kube-proxy (admitted 4 s ago) is in progress; retry in 6 s")
	contains(v.message, "changing the pod template of Deployment kube-system/coredns waits")
	contains(v.message, "levee.dev/override: probe-on-change")
	v.details.run == "pending"
}

test_unhealthy_after_change_names_the_change_and_probes if {
	v := harness.violation_of(data.cases.probe_on_change, "after an Unhealthy run", "cluster-unhealthy")
	contains(v.message, "platform changes wait while the cluster is Unhealthy (since 2026-11-23T10:00:00.000Z); the probe run after creating DaemonSet kube-system/kube-proxy found it Unhealthy; failing probes: scheduler")
	contains(v.message, "Deletions and rollbacks are still allowed")
}

test_unhealthy_without_a_change_run_says_nothing_about_one if {
	v := harness.violation_of(data.cases.probe_on_change, "Unhealthy with no platform change before", "cluster-unhealthy")
	not contains(v.message, "found it Unhealthy")
	contains(v.message, "the verdict names no failing probe")
}
