# probe-gate: no rollouts while levee's black-box probes say the cluster is Unhealthy
# (Alibaba's KubeProbe: when a probe fails, changes are blocked). What people need to recover
# stays open: scale-ups, deletions, rollbacks, metadata changes, controllers creating pods,
# break-glass groups and namespaces, and the probe's own workloads.
#
# Context (built by src/policies/probe-gate.ts):
#   input.context["probe-gate"] = {
#     change: "create" | "template" | "rollback" | "scale" | "no-template-change" | "delete" | "controlled" | "probe-workload",
#     target: {kind, namespace, name},
#     verdict: "Healthy" | "Degraded" | "Unhealthy" | "Unknown",
#     unknownReason: "" | "missing" | "stale", verdictAgeSeconds, maxVerdictAgeSeconds, verdictFile,
#     since: RFC 3339 time the verdict began,
#     failing: [{probe, message, hint, since}],
#   }
package levee.policies.probe_gate

import data.levee.lib

config := data.config.policies["probe-gate"]

ctx := input.context["probe-gate"]

# Only these are rollouts; everything else a person may do to recover.
rollout if ctx.change in {"create", "template"}

recovery_allowed if input.request.namespace in config.allowNamespaces

recovery_allowed if {
	some group in input.request.userInfo.groups
	group in config.breakGlassGroups
}

what := sprintf("creating %s %s", [ctx.target.kind, ctx.target.name]) if ctx.change == "create"

what := sprintf("changing the pod template of %s %s", [ctx.target.kind, ctx.target.name]) if ctx.change == "template"

probe_text(p) := sprintf("%s failing since %s: %s (hint: %s)", [p.probe, p.since, p.message, p.hint]) if p.hint != ""

probe_text(p) := sprintf("%s failing since %s: %s", [p.probe, p.since, p.message]) if p.hint == ""

failing_part := sprintf("failing probes: %s", [concat("; ", [probe_text(p) | some p in ctx.failing])]) if count(ctx.failing) > 0

failing_part := "the verdict names no failing probe" if count(ctx.failing) == 0

violation(rule, message) := lib.violation("probe-gate", rule, message, details)

details := {
	"change": ctx.change,
	"target": ctx.target,
	"verdict": ctx.verdict,
	"since": ctx.since,
	"verdictAgeSeconds": ctx.verdictAgeSeconds,
	"failing": [p.probe | some p in ctx.failing],
}

violations contains violation("cluster-unhealthy", msg) if {
	ctx.verdict == "Unhealthy"
	rollout
	not recovery_allowed
	msg := sprintf(
		"%s is a rollout, and rollouts are paused while the cluster is Unhealthy (since %s); %s. Scale-ups, deletions, rollbacks and metadata changes are still allowed; override with levee.dev/override: probe-gate",
		[what, ctx.since, failing_part],
	)
}

# Whether this warns (the default), denies or is only audited is config unknownAction.
violations contains violation("verdict-unknown", unknown_message) if {
	ctx.verdict == "Unknown"
	rollout
	not recovery_allowed
}

unknown_message := sprintf("cluster health unknown: no probe verdict in %s; is levee probe running?", [ctx.verdictFile]) if {
	ctx.unknownReason == "missing"
}

unknown_message := sprintf(
	"cluster health unknown: the probe verdict is stale (%d s old, limit %d s); is levee probe running?",
	[ctx.verdictAgeSeconds, ctx.maxVerdictAgeSeconds],
) if {
	ctx.unknownReason == "stale"
}
