import type { Logger } from '../logger.js';
import { expectStatus, type KubeApi } from '../probe/kube-api.js';
import { keepFirstSeen, MANAGED_BY, REPORT_NAME, sameContent, type DesiredReports, type OpenReport } from './openreports.js';

const GROUP_PATH = '/apis/openreports.io/v1alpha1';
const SELECTOR = `labelSelector=${encodeURIComponent(Object.entries(MANAGED_BY).map(([key, value]) => `${key}=${value}`).join(','))}`;
const PAGE = 100;

export interface WriteOutcome {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  /** Reports not written because their namespace is being deleted (it takes its Report with it). */
  skipped: number;
  /** Reports that could not be written or deleted, each with the API server's words. */
  failed: string[];
}

interface ReportList {
  metadata?: { continue?: string };
  items?: OpenReport[];
}

function collectionPath(kind: OpenReport['kind'], namespace?: string): string {
  return kind === 'ClusterReport' ? `${GROUP_PATH}/clusterreports` : `${GROUP_PATH}/namespaces/${encodeURIComponent(namespace ?? '')}/reports`;
}

function objectPath(report: Pick<OpenReport, 'kind' | 'metadata'>): string {
  return `${collectionPath(report.kind, report.metadata.namespace)}/${encodeURIComponent(report.metadata.name)}`;
}

function describe(report: Pick<OpenReport, 'kind' | 'metadata'>): string {
  return report.metadata.namespace ? `${report.kind} ${report.metadata.namespace}/${report.metadata.name}` : `${report.kind} ${report.metadata.name}`;
}

/**
 * Makes levee's Reports in the cluster match an audit: each is replaced in place (an update
 * carrying the resourceVersion it read, never a delete and create, so readers never see it
 * missing), written only when its content changed, and deleted once its namespace has no
 * finding left. Only objects named `levee` with levee's managed-by label are ever touched.
 */
export class ReportWriter {
  constructor(
    private readonly api: KubeApi,
    private readonly logger: Logger,
  ) {}

  /** Whether the API server serves openreports.io/v1alpha1 (its CRDs are installed). */
  async installed(): Promise<boolean> {
    const response = await this.api.get(GROUP_PATH);
    if (response.status === 404) return false;
    expectStatus(response, `discovering ${GROUP_PATH}`, 200);
    return true;
  }

  async apply(desired: DesiredReports): Promise<WriteOutcome> {
    const outcome: WriteOutcome = { created: 0, updated: 0, unchanged: 0, deleted: 0, skipped: 0, failed: [] };
    const [reports, clusterReports] = await Promise.all([this.listOwn(`${GROUP_PATH}/reports`), this.listOwn(`${GROUP_PATH}/clusterreports`)]);
    const existing = new Map(reports.map((report) => [report.metadata.namespace ?? '', report]));
    for (const report of [...desired.namespaced.values(), desired.cluster]) {
      const current = report.kind === 'ClusterReport' ? clusterReports[0] : existing.get(report.metadata.namespace ?? '');
      await this.record(outcome, report, () => this.write(report, current));
    }
    for (const [namespace, report] of existing) {
      if (desired.namespaced.has(namespace)) continue;
      await this.record(outcome, report, () => this.remove(report));
    }
    return outcome;
  }

  private async record(outcome: WriteOutcome, report: OpenReport, step: () => Promise<'created' | 'updated' | 'unchanged' | 'deleted' | 'skipped'>): Promise<void> {
    try {
      outcome[await step()]++;
    } catch (err) {
      const message = `${describe(report)}: ${(err as Error).message}`;
      outcome.failed.push(message);
      this.logger.warn({ report: describe(report), err: (err as Error).message }, 'Report not written');
    }
  }

  /** Every Report (or ClusterReport) levee wrote, across namespaces, page by page. */
  private async listOwn(path: string): Promise<OpenReport[]> {
    const own: OpenReport[] = [];
    let next: string | undefined;
    do {
      const page = expectStatus(
        await this.api.get<ReportList>(`${path}?${SELECTOR}&limit=${PAGE}${next ? `&continue=${encodeURIComponent(next)}` : ''}`),
        `listing ${path.slice(GROUP_PATH.length + 1)}`,
        200,
      ).body;
      for (const item of page.items ?? []) if (item.metadata?.name === REPORT_NAME) own.push(item);
      next = page.metadata?.continue || undefined;
    } while (next);
    return own;
  }

  private async write(report: OpenReport, current: OpenReport | undefined): Promise<'created' | 'updated' | 'unchanged' | 'skipped'> {
    if (!current) {
      const created = await this.api.post(collectionPath(report.kind, report.metadata.namespace), report);
      if (namespaceTerminating(created.status, created.body)) {
        this.logger.debug({ report: describe(report) }, 'Report not created: its namespace is being deleted');
        return 'skipped';
      }
      if (created.status !== 409) {
        expectStatus(created, `creating ${describe(report)}`, 201);
        return 'created';
      }
      // Made meanwhile (another leader's last write): replace it.
      current = await this.read(report);
      if (!current) throw new Error(`creating ${describe(report)}: it exists, then it does not; retried next run`);
    }
    for (let attempt = 0; ; attempt++) {
      const next = keepFirstSeen(report, current);
      if (sameContent(next, current)) return 'unchanged';
      const body: OpenReport = {
        ...next,
        metadata: { ...next.metadata, labels: { ...current.metadata.labels, ...next.metadata.labels }, resourceVersion: current.metadata.resourceVersion! },
      };
      const updated = await this.api.put(objectPath(report), body);
      if (updated.status !== 409 || attempt > 0) {
        expectStatus(updated, `updating ${describe(report)}`, 200);
        return 'updated';
      }
      // Changed since it was listed: read it again and retry once.
      const again = await this.read(report);
      if (!again) return this.write(report, undefined);
      current = again;
    }
  }

  private async read(report: OpenReport): Promise<OpenReport | undefined> {
    const response = await this.api.get<OpenReport>(objectPath(report));
    if (response.status === 404) return undefined;
    return expectStatus(response, `reading ${describe(report)}`, 200).body;
  }

  /** Deletes a Report only in the version that was listed: one rewritten meanwhile stays until the next run. */
  private async remove(report: OpenReport): Promise<'deleted'> {
    const response = await this.api.delete(objectPath(report), {
      body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { resourceVersion: report.metadata.resourceVersion } },
    });
    expectStatus(response, `deleting ${describe(report)}`, 200, 404);
    this.logger.info({ report: describe(report) }, 'Report deleted: no finding left in its namespace');
    return 'deleted';
  }
}

/** The API server's refusal to create anything in a namespace that is being deleted. */
function namespaceTerminating(status: number, body: unknown): boolean {
  if (status !== 403) return false;
  const answer = body as { message?: string; details?: { causes?: Array<{ type?: string }> } } | undefined;
  return (answer?.details?.causes ?? []).some((cause) => cause.type === 'NamespaceTerminating') || /because it is being terminated/.test(answer?.message ?? '');
}
