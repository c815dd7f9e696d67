// Fake Node objects for levee's local cluster. kwok manages every Node carrying the
// MANAGED_ANNOTATION annotation; the labels mimic what Karpenter, EKS and GKE put on
// real nodes, so capacity-type policies see the same keys they see in production.
//
//   LEVEE_NODES_ONDEMAND          on-demand nodes (default 5): ondemand-1..N
//   LEVEE_NODES_SPOT              spot nodes (default 4): spot-1..N
//   LEVEE_KUBELET_VERSION         kubeletVersion of most nodes (default v1.34.4)
//   LEVEE_NODES_SKEWED            how many nodes run an older kubelet (default 1: the
//                                 last on-demand node, then the last spot node, ...)
//   LEVEE_KUBELET_VERSION_SKEWED  that older kubeletVersion (default v1.33.7)

export const MANAGED_ANNOTATION = 'kwok.x-k8s.io/node';
export const MANAGED_VALUE = 'fake';

const ZONES = ['us-east-1a', 'us-east-1b', 'us-east-1c'];

const POOLS = {
  'on-demand': {
    prefix: 'ondemand',
    pool: 'on-demand-a',
    instanceType: 'm6i.xlarge',
    labels: {
      'karpenter.sh/capacity-type': 'on-demand',
      'eks.amazonaws.com/capacityType': 'ON_DEMAND',
    },
  },
  spot: {
    prefix: 'spot',
    pool: 'spot-a',
    instanceType: 'm6a.xlarge',
    labels: {
      'karpenter.sh/capacity-type': 'spot',
      'eks.amazonaws.com/capacityType': 'SPOT',
      'cloud.google.com/gke-spot': 'true',
    },
  },
};

function count(value, fallback, name) {
  if (value === undefined || value === null || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100) {
    throw new Error(`levee: ${name} must be a whole number from 0 to 100, got ${JSON.stringify(value)}`);
  }
  return n;
}

function version(value, fallback, name) {
  const v = value === undefined || value === null || value === '' ? fallback : String(value);
  if (!/^v\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(v)) {
    throw new Error(`levee: ${name} must look like v1.34.4, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * The node settings, from options first, then the environment, then the defaults.
 * @param {{onDemand?: number, spot?: number, kubeletVersion?: string, skewed?: number, skewedKubeletVersion?: string}} [options]
 * @param {NodeJS.ProcessEnv} [env]
 */
export function nodeSettings(options = {}, env = process.env) {
  return {
    onDemand: count(options.onDemand ?? env.LEVEE_NODES_ONDEMAND, 5, 'LEVEE_NODES_ONDEMAND'),
    spot: count(options.spot ?? env.LEVEE_NODES_SPOT, 4, 'LEVEE_NODES_SPOT'),
    kubeletVersion: version(options.kubeletVersion ?? env.LEVEE_KUBELET_VERSION, 'v1.34.4', 'LEVEE_KUBELET_VERSION'),
    skewed: count(options.skewed ?? env.LEVEE_NODES_SKEWED, 1, 'LEVEE_NODES_SKEWED'),
    skewedKubeletVersion: version(
      options.skewedKubeletVersion ?? env.LEVEE_KUBELET_VERSION_SKEWED,
      'v1.33.7',
      'LEVEE_KUBELET_VERSION_SKEWED',
    ),
  };
}

/**
 * Node manifests (with status, which the API server accepts on create) for the settings.
 * @param {ReturnType<typeof nodeSettings>} settings
 */
export function nodeManifests(settings) {
  const plan = [];
  for (let i = 1; i <= settings.onDemand; i++) plan.push({ type: 'on-demand', index: i });
  for (let i = 1; i <= settings.spot; i++) plan.push({ type: 'spot', index: i });

  // Older kubelets go on the last on-demand node, then the last spot node, and so on.
  const skewed = new Set();
  const onDemand = plan.filter((n) => n.type === 'on-demand').reverse();
  const spot = plan.filter((n) => n.type === 'spot').reverse();
  for (let i = 0; skewed.size < Math.min(settings.skewed, plan.length); i++) {
    if (onDemand[i]) skewed.add(onDemand[i]);
    if (skewed.size < settings.skewed && spot[i]) skewed.add(spot[i]);
  }

  return plan.map((entry, ordinal) => {
    const pool = POOLS[entry.type];
    const name = `${pool.prefix}-${entry.index}`;
    const zone = ZONES[(entry.index - 1) % ZONES.length];
    const kubeletVersion = skewed.has(entry) ? settings.skewedKubeletVersion : settings.kubeletVersion;
    const internalIP = `10.0.0.${ordinal + 10}`;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        annotations: {
          [MANAGED_ANNOTATION]: MANAGED_VALUE,
          'node.alpha.kubernetes.io/ttl': '0',
        },
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          'beta.kubernetes.io/os': 'linux',
          'beta.kubernetes.io/arch': 'amd64',
          'node.kubernetes.io/instance-type': pool.instanceType,
          'topology.kubernetes.io/region': 'us-east-1',
          'topology.kubernetes.io/zone': zone,
          'levee.dev/pool': pool.pool,
          'karpenter.sh/nodepool': pool.pool,
          ...pool.labels,
        },
      },
      spec: {
        podCIDR: `10.244.${ordinal}.0/24`,
        podCIDRs: [`10.244.${ordinal}.0/24`],
        providerID: `kwok://${name}`,
      },
      status: {
        addresses: [
          { type: 'InternalIP', address: internalIP },
          { type: 'Hostname', address: name },
        ],
        capacity: { cpu: '4', memory: '16Gi', 'ephemeral-storage': '100Gi', pods: '110' },
        allocatable: { cpu: '3920m', memory: '15Gi', 'ephemeral-storage': '95Gi', pods: '110' },
        nodeInfo: {
          architecture: 'amd64',
          operatingSystem: 'linux',
          osImage: 'Amazon Linux 2023',
          kernelVersion: '6.1.141-155.222.amzn2023.x86_64',
          containerRuntimeVersion: 'containerd://2.0.5',
          kubeletVersion,
        },
      },
    };
  });
}
