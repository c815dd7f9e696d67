# probe-on-change: after levee admits a change to what the cluster runs on (kube-system
# workloads, a kubelet's version, Karpenter NodePools, Cluster API objects), `serve` asks its
# probe for a run; the next platform change waits until that run has a verdict, and passes
# only if it is not Unhealthy (Alibaba's KubeProbe: probes on every release, changes blocked
# when they fail). An admission webhook cannot wait minutes (the API server gives it at most
# 30 s), so waiting means a refusal that says when to retry.
#
# Context (built by src/policies/probe-on-change.ts):
#   input.context["probe-on-change"] = {
#     change: {area, what, target: {kind, namespace, name}, holdable, recovery},
#     run: {state: "none" | "pending" | "done" | "unknown", change, elapsedSeconds, retryAfterSeconds, verdict, reason},
#     verdict: "Healthy" | "Degraded" | "Unhealthy" | "Unknown", since, failing: [probe ids],
#   }
package levee.policies.probe_on_change

import data.levee.lib

ctx := input.context["probe-on-change"]

violation(rule, message) := lib.violation("probe-on-change", rule, message, details)

details := {
	"change": ctx.change.what,
	"area": ctx.change.area,
	"run": ctx.run.state,
	"runChange": ctx.run.change,
	"verdict": ctx.verdict,
}

violations contains violation("run-in-progress", msg) if {
	ctx.change.holdable
	ctx.run.state == "pending"
	msg := sprintf(
		"a probe run after %s (admitted %d s ago) is in progress; retry in %d s. %s waits until that run has a verdict; override with levee.dev/override: probe-on-change",
		[ctx.run.change, ctx.run.elapsedSeconds, ctx.run.retryAfterSeconds, ctx.change.what],
	)
}

after_change := sprintf("; the probe run after %s found it Unhealthy", [ctx.run.change]) if {
	ctx.run.state == "done"
	ctx.run.verdict == "Unhealthy"
}

after_change := "" if not ctx.run.verdict == "Unhealthy"

after_change := "" if not ctx.run.state == "done"

failing_part := sprintf("failing probes: %s", [concat(", ", ctx.failing)]) if count(ctx.failing) > 0

failing_part := "the verdict names no failing probe" if count(ctx.failing) == 0

violations contains violation("cluster-unhealthy", msg) if {
	ctx.change.holdable
	ctx.run.state != "pending"
	ctx.verdict == "Unhealthy"
	not ctx.change.recovery
	msg := sprintf(
		"%s is a platform change, and platform changes wait while the cluster is Unhealthy (since %s)%s; %s. Deletions and rollbacks are still allowed; override with levee.dev/override: probe-on-change",
		[ctx.change.what, ctx.since, after_change, failing_part],
	)
}

# Whether this warns (the default), denies or is only audited is config unknownAction.
violations contains violation("run-unknown", msg) if {
	ctx.change.holdable
	ctx.run.state == "unknown"
	msg := sprintf("the probe run after %s gave no verdict (%s); %s goes ahead unchecked", [ctx.run.change, ctx.run.reason, ctx.change.what])
}
