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

test_workload_cluster_message_names_the_change_the_cluster_and_the_spot_pools if {
	v := violation_of("scaling the on-demand MachineDeployment to 0 next to a spot one (the cnblogs end state)", "all-pools-spot")
	contains(v.message, "scaling MachineDeployment capi/prod-md-0 from 3 to 0 replica(s) would leave workload cluster capi/prod with spot machines only: 3 spot replica(s) (MachineDeployment prod-md-spot (AWSMachineTemplate/prod-spot sets spotMarketOptions): 3 replica(s)) and no on-demand replica (rule all-pools-spot)")
}

test_workload_cluster_failure_handler_says_who if {
	v := violation_of("Cluster API's manager deleting the on-demand MachineDeployment of a Cluster gone from the cache is recorded, never refused", "all-pools-spot-by-failure-handler")
	contains(v.message, "allowed: system:serviceaccount:capi-system:capi-manager is one of the cluster's own controllers")
}

test_unknown_capacity_names_the_pool_and_why if {
	v := violation_of("a MachineDeployment whose template levee cannot read is warned about, never held against it", "unknown-capacity")
	contains(v.message, "counts them as on-demand: MachineDeployment prod-md-x (AWSMachineTemplate/later is not known to levee (yet)): 3 replica(s)")
}

test_unknown_capacity_when_the_cluster_relies_on_it if {
	v := violation_of("on-demand capacity that exists only if pools levee cannot read are on-demand", "unknown-capacity")
	contains(v.message, "workload cluster capi/prod keeps on-demand capacity only if these are on-demand, which levee cannot tell: MachinePool prod-mp-0")
}

test_nodepool_message_counts_on_demand_nodes_outside_karpenter if {
	v := violation_of("a spot-only NodePool as the only pool, beside 1 on-demand node outside Karpenter (below the minimum of 2)", "all-pools-spot")
	contains(v.message, "and 1 schedulable on-demand node(s) outside Karpenter are fewer than 2")
}

test_relabel_message if {
	v := violation_of("relabelling an on-demand node as spot takes it out of the on-demand count like a cordon", "on-demand-floor")
	contains(v.message, "relabelling on-demand node ondemand-4 as spot would leave 1 schedulable on-demand node(s)")
}
