import { Agent, request } from 'node:https';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCerts, writeCerts } from '../../src/certs/generate.js';

export interface TestCerts {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
}

export async function makeTestCerts(validDays = 1): Promise<TestCerts> {
  const dir = mkdtempSync(join(tmpdir(), 'levee-certs-'));
  const certs = await generateCerts({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'], validDays });
  return { dir, ...writeCerts(dir, certs), ca: certs.caCert };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): unknown;
}

/** One HTTPS call over a keep-alive agent, as the API server makes them. */
export function call(
  port: number,
  ca: string,
  options: { method?: string; path: string; body?: string | Buffer; headers?: Record<string, string>; agent?: Agent; cert?: string; key?: string },
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'POST',
        path: options.path,
        ca,
        servername: 'localhost',
        agent: options.agent,
        ...(options.cert ? { cert: options.cert, key: options.key } : {}),
        headers: { 'content-type': 'application/json', ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as unknown });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}
