# scale-to-zero: a workload must not drop to zero replicas while a Service still selects
# its pods and nothing else backs that Service (the Monzo outage: a Service with no
# endpoints crashed every linkerd that parsed it).
#
# Context (built by src/policies/scale-to-zero.ts):
#   input.context["scale-to-zero"] = {
#     target: {kind, namespace, name},
#     change: "replicas" | "paused" | "delete" | "autoscaler",
#     replicasBefore: number | null, replicasAfter: number,
#     autoscaler: {kind, name} (for "autoscaler" and "paused"),
#     services: [{name, readyEndpoints, otherReadyEndpoints, otherBackends: [string]}],
#   }
package levee.policies.scale_to_zero

import data.levee.lib

config := data.config.policies["scale-to-zero"]

ctx := input.context["scale-to-zero"]

# Services that would be left without a ready endpoint once the target has none.
unbacked contains svc.name if {
	some svc in ctx.services
	svc.otherReadyEndpoints == 0
}

exempt if {
	some pattern in config.exemptWorkloads
	parts := split(pattern, "/")
	parts[0] == ctx.target.namespace
	parts[1] in {"*", ctx.target.name}
}

target := sprintf("%s/%s", [ctx.target.kind, ctx.target.name])

service_list := concat(", ", sort(unbacked))

scaling_to_zero if {
	ctx.change in {"replicas", "paused"}
	ctx.replicasAfter == 0
	not ctx.replicasBefore == 0
}

violation(rule, message) := lib.violation("scale-to-zero", rule, message, details)

details := {
	"target": ctx.target,
	"services": sort(unbacked),
	"replicasBefore": ctx.replicasBefore,
	"replicasAfter": ctx.replicasAfter,
}

violations contains violation("scale-to-zero", msg) if {
	scaling_to_zero
	not exempt
	count(unbacked) > 0
	msg := sprintf(
		"%s %s to 0 replicas would leave Service %s in namespace %s with no endpoints; delete the Service first, scale another workload behind it, or override with levee.dev/override: scale-to-zero",
		[how, target, service_list, ctx.target.namespace],
	)
}

how := "scaling" if ctx.change == "replicas"

how := sprintf("pausing %s/%s pins", [ctx.autoscaler.kind, ctx.autoscaler.name]) if ctx.change == "paused"

violations contains violation("last-backend-deleted", msg) if {
	ctx.change == "delete"
	ctx.replicasBefore > 0
	not exempt
	count(unbacked) > 0
	msg := sprintf(
		"deleting %s leaves Service %s in namespace %s with no endpoints; delete the Service too if it is no longer needed",
		[target, service_list, ctx.target.namespace],
	)
}

violations contains violation("autoscaler-to-zero", msg) if {
	ctx.change == "autoscaler"
	not exempt
	count(unbacked) > 0
	msg := sprintf(
		"%s/%s can scale %s to 0 replicas, which leaves Service %s in namespace %s with no endpoints unless an activator fronts it",
		[ctx.autoscaler.kind, ctx.autoscaler.name, target, service_list, ctx.target.namespace],
	)
}
