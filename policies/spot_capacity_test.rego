package levee.policies.spot_capacity_test

import data.levee
import data.levee.harness

# The cases in cases/spot_capacity.json run here and, through the compiled wasm bundle,
# in test/policies/spot-capacity.test.ts.
test_shared_cases if harness.shared_cases_pass(data.cases.spot_capacity)

violation_of(name, rule) := harness.violation_of(data.cases.spot_capacity, name, rule)

test_floor_message_names_the_node_the_count_and_the_way_out if {
	v := violation_of("cordoning the on-demand node that takes the cluster below 2", "on-demand-floor")
	v.policy == "spot-capacity"
	contains(v.message, "cordoning on-demand node ondemand-4 would leave 1 schedulable on-demand node(s), below the minimum of 2")
	contains(v.message, "with 4 schedulable spot node(s)")
	contains(v.message, "uncordon another on-demand node")
}

test_failure_handler_finding_says_why_it_was_allowed if {
	v := violation_of("the node itself may go (its kubelet deregistering)", "on-demand-floor-by-failure-handler")
	contains(v.message, "allowed: system:node:ondemand-4 is one of the cluster's failure handlers")
}

test_nodepool_message if {
	v := violation_of("an all-spot NodePool as the only pool", "all-pools-spot")
	contains(v.message, "NodePool default allows only spot capacity and no other NodePool can launch on-demand nodes")
}

test_nodepool_delete_message if {
	v := violation_of("deleting the only on-demand-capable NodePool", "all-pools-spot")
	contains(v.message, "deleting NodePool default leaves 2 NodePool(s), none of which can launch on-demand nodes")
}

test_critical_message_says_why_critical_and_what_pins_it if {
	v := violation_of("a critical workload pinned to spot", "critical-pinned-to-spot")
	contains(v.message, "Deployment payments/ledger is critical (label levee.dev/critical=true) but nodeSelector karpenter.sh/capacity-type=spot pins it to spot capacity only")
}
