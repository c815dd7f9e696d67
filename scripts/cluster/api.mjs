// A minimal Kubernetes API client over node:https with a client certificate: enough for
// the cluster script to wait for readiness and create a few objects without a kubectl
// process per call.
import http from 'node:http';
import https from 'node:https';

/**
 * `timeoutMs` bounds each request unless the call gives its own; 0 leaves requests unbounded.
 * @param {{server: string, ca: Buffer|string, cert: Buffer|string, key: Buffer|string, connections?: number, timeoutMs?: number}} options
 */
export function apiClient({ server, ca, cert, key, connections = 8, timeoutMs: defaultTimeoutMs = 5000 }) {
  const agent = new https.Agent({ ca, cert, key, keepAlive: true, maxSockets: connections });
  const base = new URL(server);

  /**
   * A string body is sent as it is (a patch already serialized); anything else as JSON.
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {{timeoutMs?: number, contentType?: string}} [options]
   * @returns {Promise<{status: number, body: any, text: string}>}
   */
  function request(method, path, body, { timeoutMs = defaultTimeoutMs, contentType = 'application/json' } = {}) {
    return new Promise((resolve, reject) => {
      const payload = body === undefined || typeof body === 'string' ? body : JSON.stringify(body);
      const req = https.request(
        {
          agent,
          method,
          hostname: base.hostname,
          port: base.port,
          path,
          headers: {
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
          },
          ...(timeoutMs > 0 ? { timeout: timeoutMs } : {}),
        },
        (res) => {
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out after ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  return {
    request,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    put: (path, body) => request('PUT', path, body),
    close: () => agent.destroy(),
  };
}

/**
 * A GET without a client certificate and without verifying the server (health endpoints
 * of etcd, kwok and the secure ports of controller-manager and scheduler).
 * @returns {Promise<{status: number, text: string}>}
 */
export function probe(url, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const client = target.protocol === 'https:' ? https : http;
    const req = client.request(
      target,
      { method: 'GET', timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
