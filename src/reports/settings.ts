import { z } from 'zod';

/**
 * The `reports` section of levee's configuration: the elected `levee probe` audits the live
 * cluster on this schedule and writes what it finds as openreports.io Reports.
 */
export const reportSettings = z.strictObject({
  /** Whether the probe leader writes Reports (it skips quietly while the openreports.io CRDs are not installed). */
  enabled: z.boolean().default(true),
  /** How often the leader audits the cluster and replaces the Reports; the first run is one interval after `levee probe` starts. */
  intervalSeconds: z.number().min(5).default(300),
  /**
   * Results kept in one Report (the rest are counted in its summary only). A result takes
   * about 0.7 KB in etcd (README, "Reports"), so even 1000 stay under etcd's 1.5 MiB object limit.
   */
  maxResultsPerReport: z.number().int().min(1).max(1000).default(200),
});

export type ReportSettings = z.infer<typeof reportSettings>;
