# version-skew: a control plane must never be older than its nodes, move backwards, or
# skip a minor; workers must stay within the skew policy (the ride-hailing outage: an API
# server downgraded below its kubelets, 12 hours down).
#
# Context (built by src/policies/version-skew.ts); a version V is
# {major, minor, patch, text}, normalised in TypeScript:
#   upgrade intent (Cluster API KubeadmControlPlane, MachineDeployment, Cluster topology...):
#     {subject: "intent", object: {kind, namespace, name, cluster?, role: "control-plane" | "workers" | "both"},
#      version: V, previous?: V, controlPlane?: {min: V, max: V, count}, workers?: {min: V, max: V, count}}
#     (controlPlane and workers: the other objects of the same workload cluster)
#   node (only when it registers or reports a different kubelet version):
#     {subject: "node", node, kubelet: V, previousKubelet?: V, apiServer?: V, kubelets?: {min: V, max: V, count}}
#   add-on: {subject: "addon", workload: {kind, namespace, name},
#            images: [{container, addon, image, from: V, to: V}]}
package levee.policies.version_skew

import data.levee.lib

ctx := input.context["version-skew"]

# Minors counted across majors, so that 1.x and 2.y still compare.
minor_of(v) := (v.major * 1000) + v.minor

older(a, b) if minor_of(a) < minor_of(b)

older(a, b) if {
	minor_of(a) == minor_of(b)
	a.patch < b.patch
}

series(v) := sprintf("v%d.%d.x", [v.major, v.minor])

# How many minors a kubelet (and so a worker) may trail the control plane:
# 3, or 2 for kubelets older than 1.25 (k8s-reference.md 1.1).
allowed_lag(v) := 2 if {
	v.major == 1
	v.minor < 25
} else := 3

is_control_plane if ctx.object.role in {"control-plane", "both"}

subject := sprintf("%s %s/%s of cluster %s", [ctx.object.kind, ctx.object.namespace, ctx.object.name, ctx.object.cluster]) if {
	ctx.object.cluster
} else := sprintf("%s %s/%s", [ctx.object.kind, ctx.object.namespace, ctx.object.name])

violation(rule, message) := lib.violation("version-skew", rule, message, ctx)

violations contains violation("control-plane-older-than-workers", msg) if {
	ctx.subject == "intent"
	is_control_plane
	workers := ctx.workers.max
	minor_of(ctx.version) < minor_of(workers)
	msg := sprintf(
		"%s: control plane %s would be older than workers at %s (rule control-plane-older-than-workers); downgrade the workers first or keep %s",
		[subject, ctx.version.text, workers.text, series(workers)],
	)
}

violations contains violation("control-plane-downgrade", msg) if {
	ctx.subject == "intent"
	is_control_plane
	older(ctx.version, ctx.previous)
	msg := sprintf(
		"%s: control plane downgrade from %s to %s (rule control-plane-downgrade); a control plane must never move back below the kubelets it serves: keep %s",
		[subject, ctx.previous.text, ctx.version.text, ctx.previous.text],
	)
}

violations contains violation("minor-skip", msg) if {
	ctx.subject == "intent"
	is_control_plane
	skipped := (minor_of(ctx.version) - minor_of(ctx.previous)) - 1
	skipped > 0
	msg := sprintf(
		"%s: control plane upgrade from %s to %s skips %d minor version(s) (rule minor-skip); upgrade one minor at a time: %s first",
		[subject, ctx.previous.text, ctx.version.text, skipped, next_minor(ctx.previous)],
	)
}

next_minor(v) := sprintf("v%d.%d.x", [v.major, v.minor + 1])

# A control plane upgrade that leaves the workers too far behind (the workers' own change is
# workers-too-old below).
violations contains violation("control-plane-too-far-ahead", msg) if {
	ctx.subject == "intent"
	is_control_plane
	workers := ctx.workers.min
	lag := minor_of(ctx.version) - minor_of(workers)
	lag > allowed_lag(workers)
	msg := sprintf(
		"%s: control plane %s would be %d minors ahead of workers at %s, more than the %d the skew policy allows (rule control-plane-too-far-ahead); upgrade the workers first",
		[subject, ctx.version.text, lag, workers.text, allowed_lag(workers)],
	)
}

violations contains violation("workers-newer-than-control-plane", msg) if {
	ctx.subject == "intent"
	ctx.object.role == "workers"
	control_plane := ctx.controlPlane.min
	minor_of(ctx.version) > minor_of(control_plane)
	msg := sprintf(
		"%s: workers %s would be newer than the control plane at %s (rule workers-newer-than-control-plane); upgrade the control plane first or keep %s",
		[subject, ctx.version.text, control_plane.text, series(control_plane)],
	)
}

# Workers set too far behind their control plane (a control plane moving too far ahead of
# them is control-plane-too-far-ahead above).
violations contains violation("workers-too-old", msg) if {
	ctx.subject == "intent"
	ctx.object.role == "workers"
	control_plane := ctx.controlPlane.max
	lag := minor_of(control_plane) - minor_of(ctx.version)
	lag > allowed_lag(ctx.version)
	msg := sprintf(
		"%s: workers %s would be %d minors behind the control plane at %s, more than the %d the skew policy allows (rule workers-too-old); keep the workers within %d minors",
		[subject, ctx.version.text, lag, control_plane.text, allowed_lag(ctx.version), allowed_lag(ctx.version)],
	)
}

# Only changes are judged, and TypeScript owns that guard (src/policies/version-skew.ts): a node
# context exists only when a Node registers or reports a different kubelet version, an intent
# context only when its version changes, so no rule here checks it again. A node heartbeat,
# which never changes its kubelet version, gets no context and is never refused: refusing it
# would turn a skewed cluster into a cluster of NotReady nodes.
violations contains violation("kubelet-newer-than-apiserver", msg) if {
	ctx.subject == "node"
	minor_of(ctx.kubelet) > minor_of(ctx.apiServer)
	msg := sprintf(
		"node %s reports kubelet %s, newer than the API server at %s (rule kubelet-newer-than-apiserver); kubelets must never be newer than the API server: upgrade the control plane first or run a %s kubelet",
		[ctx.node, ctx.kubelet.text, ctx.apiServer.text, series(ctx.apiServer)],
	)
}

violations contains violation("addon-downgrade", msg) if {
	ctx.subject == "addon"
	some image in ctx.images
	minor_of(image.to) < minor_of(image.from)
	msg := sprintf(
		"%s %s/%s: %s image %s goes back from %s to %s, a minor downgrade (rule addon-downgrade); check that this %s version supports the cluster's Kubernetes version",
		[ctx.workload.kind, ctx.workload.namespace, ctx.workload.name, image.addon, image.image, image.from.text, image.to.text, image.addon],
	)
}
