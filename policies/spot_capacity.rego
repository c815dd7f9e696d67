# spot-capacity: the cluster (and each critical workload) must keep on-demand capacity to
# fall back on (the cnblogs outage: spot capacity sold out, the 5 remaining nodes collapsed,
# 2 hours of 502s).
#
# Context (built by src/policies/spot-capacity.ts):
#   (every count is as it will be once the changes levee allowed moments ago land)
#   on-demand node leaving the count (delete, cordon, NoSchedule/NoExecute taint, capacity label set to spot):
#     {subject: "node", change: "delete" | "cordon" | "taint" | "relabel", node: {name, capacityType, pool},
#      onDemand: {schedulable, after}, spot: {schedulable, nodes}, spotNodePools: [names],
#      schedulableAfter, pool: {name, onDemandAfter}}
#   Karpenter NodePool: {subject: "nodepool", operation, pool: {name, capacityTypes: [..], previousCapacityTypes?: [..]},
#      others: {count, onDemandCapable: [names]}, onDemandOutsideNodePools}
#   Cluster API (a MachineDeployment or MachinePool, its scale, a provider object their machines
#   are made from, a Cluster topology, a ClusterClass), with the replicas of each workload cluster
#   it touches by capacity type, before and after ("onDemand" includes "unknown": what levee
#   cannot tell is never held against a cluster, but warned about):
#     {subject: "workload-cluster", change: "scaling MachineDeployment capi/md-0 from 3 to 0 replica(s)",
#      createsPools, unknownHere: [pool descriptions],
#      clusters: [{namespace, name, deleting, gone, before: {onDemand, spot, unknown}, after: {...},
#                  spotPools: [descriptions], unknownPools: [descriptions]}]}
#   workload: {subject: "workload", workload: {kind, namespace, name}, critical, criticalBecause,
#      canRunOnDemand, pinnedBy, before?: {critical, canRunOnDemand}}
package levee.policies.spot_capacity

import data.levee.lib

config := data.config.policies["spot-capacity"]

ctx := input.context["spot-capacity"]

actor := input.request.userInfo.username

violation(rule, message) := lib.violation("spot-capacity", rule, message, ctx)

# --- nodes -------------------------------------------------------------------------------

# The cluster's own recovery from a lost node (node lifecycle controller, the node itself,
# autoscalers, termination handlers) is never refused, only recorded.
# Deletes by those that only follow an owner (the garbage collector, Cluster API's manager, the
# namespace controller, kube-controller-manager without service account credentials) are not:
# the garbage collector deletes whatever node a forged ownerReference points it at. Karpenter,
# which owns its nodes, deletes them as itself; the node lifecycle controller's taints are
# updates; a lost node is tainted, so no longer counted, before anything deletes it.
failure_handler if {
	some pattern in config.failureHandlers
	replace(pattern, "{node}", ctx.node.name) == actor
	not follows_owner_here
}

owner_follower if actor in config.ownerFollowers

follows_owner_here if {
	owner_follower
	input.request.operation == "DELETE"
}

# The floor is there because spot capacity can vanish all at once. A cluster with no spot node
# and no NodePool that can launch one has nothing that can vanish: the floor protects nothing
# there, and a one- or two-node cluster must still be drainable.
spot_possible if ctx.spot.nodes > 0

spot_possible if count(ctx.spotNodePools) > 0

below_floor if {
	spot_possible
	ctx.onDemand.after < config.minOnDemandNodes
}

below_floor if {
	spot_possible
	config.minOnDemandShare > 0
	ctx.schedulableAfter == 0
}

below_floor if {
	spot_possible
	config.minOnDemandShare > 0
	ctx.schedulableAfter > 0
	ctx.onDemand.after / ctx.schedulableAfter < config.minOnDemandShare
}

doing := {"delete": "deleting", "cordon": "cordoning", "taint": "tainting"}

node_change := sprintf("relabelling on-demand node %s as spot", [ctx.node.name]) if {
	ctx.change == "relabel"
} else := sprintf("%s on-demand node %s", [doing[ctx.change], ctx.node.name])

share_note := sprintf(" and a share of %v", [config.minOnDemandShare]) if {
	config.minOnDemandShare > 0
} else := ""

floor_message := sprintf(
	"%s would leave %d schedulable on-demand node(s), below the minimum of %d%s, with %d schedulable spot node(s) (rule on-demand-floor)",
	[node_change, ctx.onDemand.after, config.minOnDemandNodes, share_note, ctx.spot.schedulable],
)

violations contains violation("on-demand-floor", msg) if {
	ctx.subject == "node"
	below_floor
	not failure_handler
	msg := sprintf("%s; spot capacity can vanish all at once: add on-demand capacity first, or uncordon another on-demand node", [floor_message])
}

violations contains violation("on-demand-floor-by-failure-handler", msg) if {
	ctx.subject == "node"
	below_floor
	failure_handler
	msg := sprintf("%s; allowed: %s is one of the cluster's failure handlers", [floor_message, actor])
}

# --- Karpenter NodePools --------------------------------------------------------------------

gives_on_demand(capacity_types) if {
	some capacity_type in capacity_types
	capacity_type != "spot"
}

leaves_only_spot if {
	input.request.operation == "CREATE"
	not gives_on_demand(ctx.pool.capacityTypes)
}

leaves_only_spot if {
	input.request.operation == "UPDATE"
	not gives_on_demand(ctx.pool.capacityTypes)
	gives_on_demand(ctx.pool.previousCapacityTypes)
}

leaves_only_spot if {
	input.request.operation == "DELETE"
	gives_on_demand(ctx.pool.previousCapacityTypes)
	ctx.others.count > 0
}

allowed_types := concat(", ", ctx.pool.capacityTypes) if {
	count(ctx.pool.capacityTypes) > 0
} else := "no"

pool_change := sprintf("deleting NodePool %s leaves %d NodePool(s), none of which", [ctx.pool.name, ctx.others.count]) if {
	input.request.operation == "DELETE"
} else := sprintf("NodePool %s allows only %s capacity and no other NodePool", [ctx.pool.name, allowed_types])

# On-demand nodes Karpenter did not launch (a managed node group) stay whatever the NodePools
# say; enough of them is the on-demand capacity to fall back on.
outside_needed := max([1, config.minOnDemandNodes])

violations contains violation("all-pools-spot", msg) if {
	ctx.subject == "nodepool"
	count(ctx.others.onDemandCapable) == 0
	ctx.onDemandOutsideNodePools < outside_needed
	leaves_only_spot
	msg := sprintf(
		"%s can launch on-demand nodes (rule all-pools-spot), and %d schedulable on-demand node(s) outside Karpenter are fewer than %d; when spot capacity runs out nothing replaces it: allow on-demand in this NodePool (karpenter.sh/capacity-type In [spot, on-demand]), keep an on-demand NodePool, or keep on-demand nodes in a node group",
		[pool_change, ctx.onDemandOutsideNodePools, outside_needed],
	)
}

# --- Cluster API workload clusters -------------------------------------------------------------

# A workload cluster whose replicas are all spot: when spot capacity runs out, nothing replaces it.
all_spot(tally) if {
	tally.onDemand == 0
	tally.spot > 0
}

# The request takes the cluster into all-spot (scaling the on-demand pools to 0, pointing them at
# spot templates, deleting them, adding spot replicas where there are no on-demand ones), or
# creates pools in a cluster left all spot (a new spot pool, or an on-demand one with no
# replicas). Edits inside a cluster that was all spot already are not refused, so it can still
# be repaired; a cluster being deleted is never judged.
spot_only_cluster contains c if {
	ctx.subject == "workload-cluster"
	some c in ctx.clusters
	not c.deleting
	all_spot(c.after)
	not all_spot(c.before)
}

spot_only_cluster contains c if {
	ctx.subject == "workload-cluster"
	ctx.createsPools
	some c in ctx.clusters
	not c.deleting
	all_spot(c.after)
}

# Cluster API's manager, the garbage collector and the namespace controller take pools down with
# their cluster: exempt (recorded, never refused) only where levee's cache shows that Cluster
# gone; a cluster being deleted is not judged at all. Anything else they write (the topology
# controller repointing a pool, the garbage collector following a forged ownerReference) is
# judged like anyone's. Other failure handlers keep their exemption.
pool_controller(c) if {
	some pattern in config.failureHandlers
	not contains(pattern, "{node}")
	pattern == actor
	not owner_follower
}

pool_controller(c) if {
	owner_follower
	c.gone
}

spot_only_message(c) := sprintf(
	"%s would leave workload cluster %s/%s with spot machines only: %d spot replica(s) (%s) and no on-demand replica",
	[ctx.change, c.namespace, c.name, c.after.spot, concat(", ", c.spotPools)],
)

violations contains violation("all-pools-spot", msg) if {
	some c in spot_only_cluster
	not pool_controller(c)
	msg := sprintf(
		"%s (rule all-pools-spot); when spot capacity runs out nothing replaces it: keep on-demand replicas in a MachineDeployment or MachinePool (an infrastructure template without spot options), or an override",
		[spot_only_message(c)],
	)
}

violations contains violation("all-pools-spot-by-failure-handler", msg) if {
	some c in spot_only_cluster
	pool_controller(c)
	msg := sprintf("%s; allowed: %s is one of the cluster's own controllers", [spot_only_message(c), actor])
}

# Unknown never silently means on-demand: say so where levee had to assume it.
relies_on_unknown(c) if {
	c.after.unknown > 0
	c.after.onDemand == c.after.unknown
	c.after.spot > 0
}

violations contains violation("unknown-capacity", msg) if {
	ctx.subject == "workload-cluster"
	count(ctx.unknownHere) > 0
	msg := sprintf(
		"levee cannot tell whether these make spot machines, and counts them as on-demand: %s (rule unknown-capacity); create what they are made from first, or tell levee about the provider",
		[concat(", ", ctx.unknownHere)],
	)
}

violations contains violation("unknown-capacity", msg) if {
	ctx.subject == "workload-cluster"
	count(ctx.unknownHere) == 0
	some c in ctx.clusters
	relies_on_unknown(c)
	msg := sprintf(
		"workload cluster %s/%s keeps on-demand capacity only if these are on-demand, which levee cannot tell: %s (rule unknown-capacity); levee counts them as on-demand",
		[c.namespace, c.name, concat(", ", c.unknownPools)],
	)
}

# --- critical workloads ----------------------------------------------------------------------

newly_pinned if not ctx.before

newly_pinned if not ctx.before.critical

newly_pinned if ctx.before.canRunOnDemand

violations contains violation("critical-pinned-to-spot", msg) if {
	ctx.subject == "workload"
	ctx.critical
	not ctx.canRunOnDemand
	newly_pinned
	msg := sprintf(
		"%s %s/%s is critical (%s) but %s pins it to spot capacity only (rule critical-pinned-to-spot); allow on-demand nodes too, e.g. karpenter.sh/capacity-type In [spot, on-demand]",
		[ctx.workload.kind, ctx.workload.namespace, ctx.workload.name, ctx.criticalBecause, ctx.pinnedBy],
	)
}
