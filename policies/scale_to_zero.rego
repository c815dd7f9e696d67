# scale-to-zero: a workload must not drop to zero replicas while a Service still selects
# its pods and nothing else backs that Service (the Monzo outage: a Service with no
# endpoints crashed every linkerd that parsed it).
#
# Context (built by src/policies/scale-to-zero.ts):
#   input.context["scale-to-zero"] = {
#     target: {kind, namespace, name},
#     change: "replicas" | "autoscaled" | "paused" | "delete" | "evict" | "autoscaler" | "relabel",
#     (target.kind is also DaemonSet or Pod for "delete" and "relabel", and Pod for "evict"; for
#     "relabel", services are those its pods back today and its new pod labels no longer match;
#     for "evict", those the pod is an endpoint of)
#     replicasBefore: number | null (null: the workload is created), replicasAfter: number,
#     autoscaler: {kind, name} (for "autoscaled", "autoscaler" and "paused"),
#     services: [{name, readyEndpoints, ownReadyEndpoints, otherReadyEndpoints, otherBackends: [string]}],
#   }
package levee.policies.scale_to_zero

import data.levee.lib

config := data.config.policies["scale-to-zero"]

ctx := input.context["scale-to-zero"]

# Services that would be left without a ready endpoint once the target has none: nothing
# else that keeps running backs them, and the target takes ready endpoints away with it.
unbacked contains svc.name if {
	some svc in ctx.services
	svc.otherReadyEndpoints == 0
	takes_away(svc)
}

# A workload whose pods never became ready takes nothing away: the Service had no endpoint
# from it, and scaling it to zero changes nothing for clients.
takes_away(svc) if svc.ownReadyEndpoints > 0

# A workload created at zero ships a Service with nothing behind it: the Monzo state itself.
takes_away(_) if ctx.replicasBefore == null

# An autoscaler that can reach zero may take the endpoints away at any later moment.
takes_away(_) if ctx.change == "autoscaler"

exempt if {
	some pattern in config.exemptWorkloads
	parts := split(pattern, "/")
	parts[0] == ctx.target.namespace
	parts[1] in {"*", ctx.target.name}
}

target := sprintf("%s/%s", [ctx.target.kind, ctx.target.name])

service_list := concat(", ", sort(unbacked))

reaching_zero if {
	ctx.replicasAfter == 0
	not ctx.replicasBefore == 0
}

scaling_to_zero if {
	ctx.change in {"replicas", "paused"}
	reaching_zero
}

# Created at zero: the message says how an autoscaler meant to own it gets its way.
created := ctx.replicasBefore == null

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
		"%s would leave Service %s in namespace %s with no endpoints; %s",
		[what, service_list, ctx.target.namespace, way_out],
	)
}

# The workload's own way to zero, in the words of every message that names it.
to_zero := sprintf("creating %s at 0 replicas", [target]) if {
	created
} else := sprintf("scaling %s to 0 replicas", [target])

what := to_zero if ctx.change == "replicas"

what := sprintf("pausing %s/%s pins %s to 0 replicas, which", [ctx.autoscaler.kind, ctx.autoscaler.name, target]) if ctx.change == "paused"

way_out := "delete the Service first, scale another workload behind it, or override with levee.dev/override: scale-to-zero" if not created

way_out := "delete the Service first, scale another workload behind it, create first the autoscaler meant to own it at zero (an HPA, ScaledObject or HTTPScaledObject with a minimum of 0), or override with levee.dev/override: scale-to-zero" if created

removal := sprintf(
	"deleting %s leaves Service %s in namespace %s with no endpoints; delete the Service too if it is no longer needed",
	[target, service_list, ctx.target.namespace],
) if ctx.change == "delete"

# An eviction (kubectl drain) deletes the pod as surely, and no controller recreates a bare one.
removal := sprintf(
	"evicting %s leaves Service %s in namespace %s with no endpoints, and nothing recreates a pod no controller owns; run it under a Deployment or StatefulSet, or delete the Service too if it is no longer needed",
	[target, service_list, ctx.target.namespace],
) if ctx.change == "evict"

violations contains violation("last-backend-deleted", removal) if {
	ctx.change in {"delete", "evict"}
	ctx.replicasBefore > 0
	not exempt
	count(unbacked) > 0
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

# The autoscaler's own scale to zero, or a workload created at zero under it: the owner chose
# this when writing the autoscaler, which was judged then.
violations contains violation("autoscaler-to-zero", msg) if {
	ctx.change == "autoscaled"
	reaching_zero
	not exempt
	count(unbacked) > 0
	msg := sprintf(
		"%s, which %s/%s lets reach zero, leaves Service %s in namespace %s with no endpoints until it scales up again, unless an activator fronts it",
		[to_zero, ctx.autoscaler.kind, ctx.autoscaler.name, service_list, ctx.target.namespace],
	)
}

# New pod labels that a Service backed by this workload alone no longer selects: once its pods
# are replaced (or, for a bare Pod, at once), the Service is as empty as after a scale to zero.
violations contains violation("labels-leave-service", msg) if {
	ctx.change == "relabel"
	not exempt
	count(unbacked) > 0
	msg := sprintf(
		"the new pod labels of %s leave Service %s in namespace %s with no endpoints once its pods carry them (its selector matches the old labels only, and nothing else backs it); keep the labels the Service selects, change the Service's selector first, or override with levee.dev/override: scale-to-zero",
		[target, service_list, ctx.target.namespace],
	)
}
