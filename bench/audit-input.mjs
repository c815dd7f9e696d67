// Synthetic `levee audit -f` input of a chosen size: many applications, each a Deployment,
// the Service in front of it and a ConfigMap, as multi-document YAML (what `helm template`
// or a repository of manifests looks like). Deterministic, so runs compare.

/** One application's three documents, about 2.3 KB of YAML. */
function application(i) {
  const name = `app-${i}`;
  const namespace = `team-${i % 40}`;
  const env = Array.from({ length: 6 }, (_, k) => `            - name: SETTING_${k}\n              value: "value-${i}-${k}"`).join('\n');
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: {app.kubernetes.io/name: ${name}, app.kubernetes.io/part-of: shop}
  annotations:
    example.com/owner: team-${i % 40}
spec:
  replicas: ${1 + (i % 4)}
  selector:
    matchLabels: {app.kubernetes.io/name: ${name}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: ${name}, app.kubernetes.io/part-of: shop}
    spec:
      containers:
        - name: main
          image: registry.example/${name}:1.${i % 10}.0
          ports: [{containerPort: 8080, name: http}]
          env:
${env}
          resources:
            requests: {cpu: 100m, memory: 128Mi}
            limits: {memory: 256Mi}
          readinessProbe:
            httpGet: {path: /healthz, port: http}
            periodSeconds: 5
---
apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  selector: {app.kubernetes.io/name: ${name}}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-config
  namespace: ${namespace}
data:
  settings.yaml: |
    listen: ":8080"
    upstream: http://${name}-backend.${namespace}.svc:8080
    retries: 3
    timeoutSeconds: 30
---
`;
}

/** Multi-document YAML of at least `bytes` bytes. */
export function auditInput(bytes) {
  const parts = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const text = application(i);
    parts.push(text);
    size += Buffer.byteLength(text);
  }
  return parts.join('');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const megabytes = Number(process.argv[2] ?? '5');
  process.stdout.write(auditInput(megabytes * 1_000_000));
}
