import type { Logger } from '../logger.js';
import { expectStatus, type KubeApi } from './kube-api.js';

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: the holder renews
 * `renewTime` every few seconds; another candidate takes over once the Lease has not been
 * renewed for `leaseDurationSeconds`, writing with the Lease's resourceVersion so that two
 * candidates racing for it cannot both win. A leader that cannot renew steps down on its own
 * clock before its Lease can expire anywhere else. A Lease levee did not write (by hand, by
 * another program, with an absurd duration) is obeyed for at most a few of levee's own
 * durations without a renewal, so one stray write cannot leave the cluster without a leader.
 */

/** Without renewal, a Lease is obeyed at most this many times levee's own duration. */
export const MAX_DURATION_FACTOR = 4;

interface Lease {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

export interface LeaderElectorOptions {
  api: KubeApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds: number;
  logger: Logger;
  onChange?: (leader: boolean) => void;
  now?: () => Date;
}

export class LeaderElector {
  private readonly options: LeaderElectorOptions;
  private readonly now: () => Date;
  private leading = false;
  /** Local time of our last successful renewal. */
  private renewedAt = 0;
  /** The other holder's record as we last saw it, and when (our clock), to judge expiry without trusting theirs. */
  private observed: { record: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The holder whose over-long Lease was last warned about (once per holder). */
  private warnedAbout: string | undefined;

  constructor(options: LeaderElectorOptions) {
    this.options = options;
    this.now = options.now ?? (() => new Date());
  }

  get path(): string {
    const { namespace, name } = this.options;
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(name)}`;
  }

  /** Leader only while the last renewal is fresher than the lease duration. */
  isLeader(): boolean {
    if (!this.leading) return false;
    if (Date.now() - this.renewedAt < this.options.leaseDurationSeconds * 1000) return true;
    this.setLeading(false, 'lease not renewed in time');
    return false;
  }

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      void this.tryAcquireOrRenew()
        .catch((err: unknown) => this.options.logger.warn({ lease: this.options.name, err: (err as Error).message }, 'leader election attempt failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.retryMs()).unref();
        });
    };
    tick();
  }

  /** Stops campaigning; a leader hands the Lease back so a successor need not wait it out. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (!this.leading) return;
    this.setLeading(false, 'stopping');
    try {
      const current = await this.read();
      if (current?.spec.holderIdentity !== this.options.identity) return;
      await this.options.api.put(this.path, { ...current, spec: { ...current.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(this.now()) } }, { timeoutMs: 2000 });
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'could not release the leader Lease');
    }
  }

  /** One election step; returns whether this candidate leads afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, identity, leaseDurationSeconds, namespace, name } = this.options;
    const now = microTime(this.now());
    const current = await this.read();
    if (!current) {
      const lease: Lease = {
        metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
      };
      const created = await api.post(`/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`, lease);
      return this.settle(created.status === 201, [201, 409].includes(created.status) ? undefined : `create: HTTP ${created.status}`);
    }

    const holder = current.spec.holderIdentity ?? '';
    const mine = holder === identity;
    if (!mine && holder !== '' && !this.expired(current)) return this.settle(false);

    const spec = {
      ...current.spec,
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: now,
      ...(mine ? {} : { acquireTime: now, leaseTransitions: (current.spec.leaseTransitions ?? 0) + 1 }),
    };
    const updated = await api.put(this.path, { ...current, spec });
    // 409: someone else wrote the Lease since we read it; they won this round.
    return this.settle(updated.status === 200, [200, 409].includes(updated.status) ? undefined : `update: HTTP ${updated.status}`);
  }

  private async read(): Promise<Lease | undefined> {
    const response = await this.options.api.get<Lease>(this.path);
    if (response.status === 404) return undefined;
    return expectStatus(response, `reading Lease ${this.options.namespace}/${this.options.name}`, 200).body;
  }

  private expired(lease: Lease): boolean {
    const duration = this.obeyedDurationMs(lease);
    const record = `${lease.spec.holderIdentity}|${lease.spec.renewTime}`;
    const nowMs = this.now().getTime();
    if (!this.observed) {
      // First look (a fresh start): trust the holder's timestamp, so a crashed leader's Lease
      // is taken over at once instead of after a full duration.
      this.observed = { record, at: nowMs };
      const renewed = Date.parse(lease.spec.renewTime ?? '');
      return Number.isFinite(renewed) && renewed + duration < this.now().getTime();
    }
    // Afterwards only our own clock counts: a record that keeps changing has a live holder,
    // whatever its clock says.
    if (this.observed.record !== record) {
      this.observed = { record, at: nowMs };
      return false;
    }
    return nowMs - this.observed.at > duration;
  }

  /** The Lease's own duration, but never more than MAX_DURATION_FACTOR times levee's. */
  private obeyedDurationMs(lease: Lease): number {
    const own = this.options.leaseDurationSeconds;
    const written = lease.spec.leaseDurationSeconds ?? own;
    const limit = own * MAX_DURATION_FACTOR;
    if (!(written <= limit)) {
      const holder = lease.spec.holderIdentity ?? '';
      if (this.warnedAbout !== holder) {
        this.options.logger.warn(
          { lease: `${this.options.namespace}/${this.options.name}`, holder, leaseDurationSeconds: written, obeyedSeconds: limit },
          'leader Lease has a duration levee does not write; obeying it only as long as levee\'s own would allow',
        );
        this.warnedAbout = holder;
      }
      return limit * 1000;
    }
    return written * 1000;
  }

  private settle(won: boolean, problem?: string): boolean {
    if (problem) this.options.logger.warn({ lease: this.options.name, problem }, 'leader election write refused');
    if (won) this.renewedAt = Date.now();
    this.setLeading(won, won ? 'acquired or renewed' : 'held by another');
    return won;
  }

  private setLeading(leading: boolean, why: string): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.options.logger.info({ lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity, leader: leading, why }, leading ? 'became leader' : 'not leader');
    this.options.onChange?.(leading);
  }

  private retryMs(): number {
    // Renew at a third of the duration, with jitter so that candidates do not march in step.
    const base = (this.options.leaseDurationSeconds * 1000) / 3;
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }
}

/** Lease times are metav1.MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
