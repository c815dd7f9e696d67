{{/*
levee's chart renders the kustomize manifests in files/manifests (a link to the repository's
manifests/) instead of copies of them, so the chart and `kubectl apply -k manifests/base`
cannot drift: every object, RBAC rule and webhook rule comes from there, and the helpers
below only rename, place and label them, and apply the values.
*/}}

{{- define "levee.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The chart's name for a manifest's `levee` or `levee-<suffix>` name; other names stay. */}}
{{- define "levee.rename" -}}
{{- $name := .name -}}
{{- $full := include "levee.fullname" .root -}}
{{- if eq $name "levee" -}}
{{- $full -}}
{{- else if hasPrefix "levee-" $name -}}
{{- printf "%s%s" $full (trimPrefix "levee" $name) -}}
{{- else -}}
{{- $name -}}
{{- end -}}
{{- end -}}

{{- define "levee.labels" -}}
app.kubernetes.io/name: levee
app.kubernetes.io/part-of: levee
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "levee.image" -}}
{{- $image := .Values.image -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the serving certificate, by certificate source. */}}
{{- define "levee.tlsSecret" -}}
{{- $source := .Values.certificates.source -}}
{{- if or (eq $source "self") (eq $source "cert-manager") -}}
{{- include "levee.rename" (dict "name" "levee-tls" "root" .) -}}
{{- else if eq $source "provided" -}}
{{- required "certificates.provided.secretName: the TLS Secret (tls.crt, tls.key) levee serves with, in the release namespace" .Values.certificates.provided.secretName -}}
{{- else -}}
{{- fail (printf "certificates.source: %q is not one of self, cert-manager, provided" $source) -}}
{{- end -}}
{{- end -}}

{{/*
The objects of one kustomization directory under files/manifests, as a list of maps:
its `resources` (files, or directories with their own kustomization.yaml) read in order.
*/}}
{{- define "levee.kustomizationObjects" -}}
{{- $root := .root -}}
{{- $dir := .dir -}}
{{- $kustomization := $root.Files.Get (printf "files/manifests/%s/kustomization.yaml" $dir) | fromYaml -}}
{{- $objects := list -}}
{{- range $resource := concat (default list $kustomization.resources) (default list (.withComponents | ternary $kustomization.components list)) -}}
{{- if hasSuffix ".yaml" $resource -}}
{{- $objects = concat $objects (include "levee.fileObjects" (dict "root" $root "path" (printf "files/manifests/%s/%s" $dir $resource)) | fromYaml).items -}}
{{- else -}}
{{- $sub := clean (printf "%s/%s" $dir $resource) -}}
{{- $objects = concat $objects (include "levee.kustomizationObjects" (dict "root" $root "dir" $sub "withComponents" false) | fromYaml).items -}}
{{- end -}}
{{- end -}}
{{- dict "items" $objects | toYaml -}}
{{- end -}}

{{/* The documents of one YAML file, as {items: [...]}. */}}
{{- define "levee.fileObjects" -}}
{{- $text := .root.Files.Get .path -}}
{{- if not $text -}}
{{- fail (printf "%s is missing from the chart" .path) -}}
{{- end -}}
{{- $objects := list -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" $text -1 -}}
{{- $object := fromYaml $doc -}}
{{- if and $object $object.kind -}}
{{- $objects = append $objects $object -}}
{{- end -}}
{{- end -}}
{{- dict "items" $objects | toYaml -}}
{{- end -}}

{{- define "levee.clusterScopedKinds" -}}
{{- list "Namespace" "ClusterRole" "ClusterRoleBinding" "CustomResourceDefinition" "ValidatingWebhookConfiguration" "MutatingWebhookConfiguration" | toYaml -}}
{{- end -}}

{{/*
Places one manifest in the release: the chart's name for it, the release namespace, the
chart's labels, and references to other levee objects renamed the same way.
*/}}
{{- define "levee.adopt" -}}
{{- $root := .root -}}
{{- $object := .object -}}
{{- $namespace := $root.Release.Namespace -}}
{{- $metadata := $object.metadata -}}
{{- $_ := set $metadata "name" (include "levee.rename" (dict "name" $metadata.name "root" $root)) -}}
{{- if not (has $object.kind (include "levee.clusterScopedKinds" $root | fromYamlArray)) -}}
{{- $_ := set $metadata "namespace" $namespace -}}
{{- end -}}
{{- $_ := set $metadata "labels" (merge (include "levee.labels" $root | fromYaml) (default dict $metadata.labels)) -}}
{{- if or (eq $object.kind "ClusterRoleBinding") (eq $object.kind "RoleBinding") -}}
{{- $_ := set $object.roleRef "name" (include "levee.rename" (dict "name" $object.roleRef.name "root" $root)) -}}
{{- range $subject := $object.subjects -}}
{{- if eq $subject.kind "ServiceAccount" -}}
{{- $_ := set $subject "name" (include "levee.rename" (dict "name" $subject.name "root" $root)) -}}
{{- $_ := set $subject "namespace" $namespace -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $object | toYaml -}}
{{- end -}}

{{/*
levee's configuration file: manifests/base/config.yaml's, then values.config over it; the
namespace, the TLS file paths (where the chart mounts the Secret), where the certificates
come from and the probe's leader Lease (granted by name in the Role, after the release) stay
the chart's.
*/}}
{{- define "levee.config" -}}
{{- $base := dict -}}
{{- range $object := (include "levee.fileObjects" (dict "root" . "path" "files/manifests/base/config.yaml") | fromYaml).items -}}
{{- if eq $object.kind "ConfigMap" -}}
{{- $base = index $object.data "config.yaml" | fromYaml -}}
{{- end -}}
{{- end -}}
{{- $lease := include "levee.rename" (dict "name" (dig "probe" "lease" "name" "levee-probe" $base) "root" .) -}}
{{- $owned := dict "leveeNamespace" .Release.Namespace "server" (pick (default dict $base.server) "tlsCertFile" "tlsKeyFile") "probe" (dict "lease" (dict "name" $lease)) -}}
{{- $config := mergeOverwrite (deepCopy $base) (deepCopy (default dict .Values.config)) $owned -}}
{{- $_ := set $config.server "certificates" (include "levee.certificatesConfig" . | fromYaml) -}}
{{- /* toYaml answers "" for what YAML cannot carry: levee would start with no configuration at all. */ -}}
{{- $text := $config | toYaml -}}
{{- if not $text -}}
{{- fail "config: cannot be written as YAML: a string holds a character YAML does not allow (a control character such as DEL)" -}}
{{- end -}}
{{- $text -}}
{{- end -}}

{{/* The values that apply to a Deployment of the manifests: image, replicas, resources, placement. */}}
{{- define "levee.deployment" -}}
{{- $root := .root -}}
{{- $object := .object -}}
{{- $values := $root.Values -}}
{{- $pod := $object.spec.template.spec -}}
{{- if eq (dig "spec" "selector" "matchLabels" "app.kubernetes.io/component" "" $object) "webhook" -}}
{{- $_ := set $object.spec "replicas" (int $values.replicas) -}}
{{- end -}}
{{- $template := $object.spec.template.metadata -}}
{{- $annotations := merge (dict "levee.dev/config-checksum" (include "levee.config" $root | sha256sum)) (default dict $values.podAnnotations) (default dict $template.annotations) -}}
{{- $_ := set $template "annotations" $annotations -}}
{{- if $pod.serviceAccountName -}}
{{- $_ := set $pod "serviceAccountName" (include "levee.rename" (dict "name" $pod.serviceAccountName "root" $root)) -}}
{{- end -}}
{{- range $container := $pod.containers -}}
{{- $_ := set $container "image" (include "levee.image" $root) -}}
{{- $_ := set $container "imagePullPolicy" $values.image.pullPolicy -}}
{{- $settings := index $values $container.name -}}
{{- if and $settings $settings.resources -}}
{{- $_ := set $container "resources" $settings.resources -}}
{{- end -}}
{{- end -}}
{{- range $volume := $pod.volumes -}}
{{- if and $volume.secret (eq $volume.secret.secretName "levee-tls") -}}
{{- $_ := set $volume.secret "secretName" (include "levee.tlsSecret" $root) -}}
{{- else if $volume.secret -}}
{{- $_ := set $volume.secret "secretName" (include "levee.rename" (dict "name" $volume.secret.secretName "root" $root)) -}}
{{- end -}}
{{- if $volume.configMap -}}
{{- $_ := set $volume.configMap "name" (include "levee.rename" (dict "name" $volume.configMap.name "root" $root)) -}}
{{- end -}}
{{- end -}}
{{- with $values.imagePullSecrets -}}
{{- $_ := set $pod "imagePullSecrets" . -}}
{{- end -}}
{{- with $values.nodeSelector -}}
{{- $_ := set $pod "nodeSelector" . -}}
{{- end -}}
{{- with $values.tolerations -}}
{{- $_ := set $pod "tolerations" . -}}
{{- end -}}
{{- if hasKey $values "priorityClassName" -}}
{{- if $values.priorityClassName -}}
{{- $_ := set $pod "priorityClassName" $values.priorityClassName -}}
{{- else -}}
{{- $_ := unset $pod "priorityClassName" -}}
{{- end -}}
{{- end -}}
{{- $object | toYaml -}}
{{- end -}}

{{/*
The webhook registrations of manifests/components/webhooks: reached through the release's
Service (or admission.url), never judging the release namespace, with each entry's
failurePolicy, timeoutSeconds and selectors from admission.webhooks.<entry> when set, and
mutate.levee.dev's condition rendered from levee's configuration (levee.mutateCondition).
*/}}
{{- define "levee.webhooks" -}}
{{- $root := .root -}}
{{- $object := .object -}}
{{- $values := $root.Values -}}
{{- $namespace := $root.Release.Namespace -}}
{{- $service := include "levee.rename" (dict "name" "levee" "root" $root) -}}
{{- if eq $values.certificates.source "cert-manager" -}}
{{- $annotations := merge (dict "cert-manager.io/inject-ca-from" (include "levee.injectCaFrom" $root)) (default dict $object.metadata.annotations) -}}
{{- $_ := set $object.metadata "annotations" $annotations -}}
{{- end -}}
{{- $known := list -}}
{{- range $webhook := $object.webhooks -}}
{{- $key := trimSuffix ".levee.dev" $webhook.name -}}
{{- $known = append $known $key -}}
{{- $settings := default dict (index (default dict $values.admission.webhooks) $key) -}}
{{- $client := $webhook.clientConfig -}}
{{- $path := $client.service.path -}}
{{- if $values.admission.url -}}
{{- $client = dict "url" (printf "%s%s" (trimSuffix "/" $values.admission.url) $path) -}}
{{- else -}}
{{- $_ := set $client.service "name" $service -}}
{{- $_ := set $client.service "namespace" $namespace -}}
{{- end -}}
{{- if eq $values.certificates.source "provided" -}}
{{- $_ := set $client "caBundle" (required "certificates.provided.caBundle: the base64 PEM CA that signed the serving certificate" $values.certificates.provided.caBundle) -}}
{{- end -}}
{{- $_ := set $webhook "clientConfig" $client -}}
{{- range $field := list "failurePolicy" "timeoutSeconds" "objectSelector" "namespaceSelector" -}}
{{- if hasKey $settings $field -}}
{{- $_ := set $webhook $field (index $settings $field) -}}
{{- end -}}
{{- end -}}
{{- if and $webhook.namespaceSelector (not (hasKey $settings "namespaceSelector")) -}}
{{- range $expression := default list $webhook.namespaceSelector.matchExpressions -}}
{{- if eq $expression.key "kubernetes.io/metadata.name" -}}
{{- $names := list -}}
{{- range $name := $expression.values -}}
{{- $names = append $names (eq $name "levee-system" | ternary $namespace $name) -}}
{{- end -}}
{{- if eq $expression.operator "NotIn" -}}
{{- $names = concat $names (default list $values.admission.excludeNamespaces) -}}
{{- end -}}
{{- $_ := set $expression "values" (uniq $names) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if eq $webhook.name "mutate.levee.dev" -}}
{{- $condition := dict -}}
{{- range $each := default list $webhook.matchConditions -}}
{{- if eq $each.name "levee-annotation-or-critical-pod-template" -}}
{{- $condition = $each -}}
{{- end -}}
{{- end -}}
{{- if not $condition -}}
{{- fail "mutate.levee.dev has no matchCondition levee-annotation-or-critical-pod-template to render from config" -}}
{{- end -}}
{{- $_ := set $condition "expression" (include "levee.mutateCondition" (include "levee.config" $root | fromYaml)) -}}
{{- end -}}
{{- end -}}
{{- $object | toYaml -}}
{{- end -}}

{{/*
The expression of mutate.levee.dev's condition levee-annotation-or-critical-pod-template for
levee's configuration (the ConfigMap's, levee.config): the text mutateConditionExpression() in
src/policies/mutate-condition.ts renders from it, byte for byte (test/unit/chart-mutate-condition
compares the two). Keys left out take levee's defaults (src/policies/spot-capacity-settings.ts);
a key that is set replaces its default whole. String literals are JSON without HTML escapes,
label keys in Go's order of strings.
*/}}
{{- define "levee.mutateCondition" -}}
{{- $settings := dig "policies" "spot-capacity" dict . -}}
{{- $critical := default dict $settings.critical -}}
{{- $labels := hasKey $critical "labels" | ternary $critical.labels (dict "levee.dev/critical" "true") -}}
{{- $namespaces := hasKey $critical "namespaces" | ternary $critical.namespaces list -}}
{{- $priorityClassNames := hasKey $critical "priorityClassNames" | ternary $critical.priorityClassNames (list "system-cluster-critical" "system-node-critical") -}}
{{- $clauses := list `object.?metadata.?annotations.orValue({}).exists(k, k.startsWith("levee.dev/"))` `request.operation == "UPDATE" && oldObject.?metadata.?annotations.orValue({}).exists(k, k.startsWith("levee.dev/"))` -}}
{{- $criticalClauses := list -}}
{{- range $key := keys (default dict $labels) | sortAlpha -}}
{{- $value := index $labels $key | toRawJson -}}
{{- $criticalClauses = append $criticalClauses (printf "object.?metadata.?labels[?%s] == optional.of(%s)" (toRawJson $key) $value) -}}
{{- $criticalClauses = append $criticalClauses (printf "object.?spec.?template.?metadata.?labels[?%s] == optional.of(%s)" (toRawJson $key) $value) -}}
{{- end -}}
{{- $quoted := list -}}
{{- range $namespace := default list $namespaces -}}
{{- $quoted = append $quoted (toRawJson $namespace) -}}
{{- end -}}
{{- if $quoted -}}
{{- $criticalClauses = append $criticalClauses (printf "request.namespace in [%s]" (join ", " $quoted)) -}}
{{- end -}}
{{- /* An empty class name never makes a workload critical: left out, as levee leaves it out. */ -}}
{{- $quoted = list -}}
{{- range $name := default list $priorityClassNames -}}
{{- if ne $name "" -}}
{{- $quoted = append $quoted (toRawJson $name) -}}
{{- end -}}
{{- end -}}
{{- if $quoted -}}
{{- $criticalClauses = append $criticalClauses (printf "object.?spec.?template.?spec.?priorityClassName.orValue(\"\") in [%s]" (join ", " $quoted)) -}}
{{- end -}}
{{- if and (dig "spread" "enabled" true $settings) $criticalClauses -}}
{{- $spread := list `object.?kind.orValue("") in ["Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"]` `!object.?metadata.?ownerReferences.orValue([]).exists(r, r.?controller.orValue(false) == true)` `(request.operation == "CREATE" || object.?spec.?template != oldObject.?spec.?template)` (printf "(%s)" (join " ||\n  " $criticalClauses)) -}}
{{- $clauses = append $clauses (printf "(%s)" (join " &&\n" $spread)) -}}
{{- end -}}
{{- join " ||\n" $clauses -}}
{{- end -}}

{{/*
The Certificate whose CA cainjector puts into the webhooks' caBundle: the one the cert-manager
overlay's patches name (its own CA), or the serving Certificate when your issuer signs it.
*/}}
{{- define "levee.injectCaFrom" -}}
{{- $name := "levee-serving" -}}
{{- if not .Values.certificates.certManager.issuerRef -}}
{{- $kustomization := .Files.Get "files/manifests/overlays/cert-manager/kustomization.yaml" | fromYaml -}}
{{- range $patch := $kustomization.patches -}}
{{- if hasSuffix "WebhookConfiguration" (dig "target" "kind" "" $patch) -}}
{{- range $op := fromYamlArray $patch.patch -}}
{{- with (index (default dict $op.value) "cert-manager.io/inject-ca-from") -}}
{{- $name = last (splitList "/" .) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- printf "%s/%s" .Release.Namespace (include "levee.rename" (dict "name" $name "root" .)) -}}
{{- end -}}


{{/*
server.certificates of levee's configuration: with certificates.source=self, the release's
Secret and webhook configurations, and a certificate for the release's Service names, the host
of admission.url, and the values' own dnsNames and ipAddresses (config.server.certificates
keeps its validity and interval too); otherwise the mounted files.
*/}}
{{- define "levee.certificatesConfig" -}}
{{- $base := dict -}}
{{- range $object := (include "levee.fileObjects" (dict "root" . "path" "files/manifests/base/config.yaml") | fromYaml).items -}}
{{- if eq $object.kind "ConfigMap" -}}
{{- $base = dig "server" "certificates" dict (index $object.data "config.yaml" | fromYaml) -}}
{{- end -}}
{{- end -}}
{{- $settings := mergeOverwrite (deepCopy $base) (deepCopy (dig "server" "certificates" dict (default dict .Values.config))) -}}
{{- if eq .Values.certificates.source "self" -}}
{{- $service := include "levee.rename" (dict "name" "levee" "root" .) -}}
{{- $configuration := include "levee.rename" (dict "name" "levee" "root" .) -}}
{{- $_ := set $settings "source" "self" -}}
{{- $_ := set $settings "secretName" (include "levee.tlsSecret" .) -}}
{{- $dnsNames := list (printf "%s.%s.svc" $service .Release.Namespace) (printf "%s.%s.svc.cluster.local" $service .Release.Namespace) -}}
{{- $ipAddresses := dig "server" "certificates" "ipAddresses" list (default dict .Values.config) -}}
{{- /* The API server calls admission.url when set: the certificate names its host too. */ -}}
{{- with .Values.admission.url -}}
{{- $host := (urlParse .).hostname -}}
{{- if or (regexMatch "^[0-9.]+$" $host) (contains ":" $host) -}}
{{- $ipAddresses = append $ipAddresses $host -}}
{{- else if $host -}}
{{- $dnsNames = append $dnsNames $host -}}
{{- end -}}
{{- end -}}
{{- $_ := set $settings "dnsNames" (concat $dnsNames (dig "server" "certificates" "dnsNames" list (default dict .Values.config)) | uniq) -}}
{{- if $ipAddresses -}}
{{- $_ := set $settings "ipAddresses" (uniq $ipAddresses) -}}
{{- end -}}
{{- $_ := set $settings "validatingWebhookConfigurations" (list $configuration) -}}
{{- $_ := set $settings "mutatingWebhookConfigurations" (list $configuration) -}}
{{- else -}}
{{- $settings = dict "source" "files" -}}
{{- end -}}
{{- $settings | toYaml -}}
{{- end -}}

{{/* Objects of manifests/base that only self-managed certificates need: their Secret and RBAC. */}}
{{- define "levee.selfCertificatesObject" -}}
{{- $object := .object -}}
{{- $names := list "levee-tls" "levee-certificates" -}}
{{- if and (has $object.kind (list "Secret" "ClusterRole" "ClusterRoleBinding" "Role" "RoleBinding")) (has $object.metadata.name $names) -}}
true
{{- end -}}
{{- end -}}
