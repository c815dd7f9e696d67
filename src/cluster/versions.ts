import semver from 'semver';

/**
 * Kubernetes versions as levee compares them. Providers decorate the semver core
 * (`v1.29.3-eks-abc`, `v1.30.0+k3s1`, `1.28.3-gke.1286000`); only major.minor.patch
 * matters to the skew policy, so the decoration is dropped here, once, and Rego
 * receives plain numbers.
 */
export interface KubeVersion {
  major: number;
  minor: number;
  patch: number;
  /** The version as it was written, for messages. */
  text: string;
}

/** Normalises a version string; undefined when it holds no version at all (e.g. `latest`). */
export function parseKubeVersion(raw: unknown): KubeVersion | undefined {
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  const core = semver.coerce(text);
  if (!core) return undefined;
  return { major: core.major, minor: core.minor, patch: core.patch, text };
}

export function compareVersions(a: KubeVersion, b: KubeVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The normalised form, `v1.29.3`, which also keys versions in tallies. */
export function versionKey(version: KubeVersion): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

/**
 * A multiset of versions with its oldest and newest member, kept up to date on every add
 * and remove. Clusters run a handful of distinct versions, so min/max look only at the
 * distinct ones: constant time however many nodes or machines report them.
 */
export class VersionTally {
  private readonly counts = new Map<string, { version: KubeVersion; count: number }>();
  private total = 0;

  get size(): number {
    return this.total;
  }

  add(version: KubeVersion): void {
    const key = versionKey(version);
    const entry = this.counts.get(key);
    if (entry) entry.count++;
    else this.counts.set(key, { version: { ...version, text: key }, count: 1 });
    this.total++;
  }

  remove(version: KubeVersion): void {
    const key = versionKey(version);
    const entry = this.counts.get(key);
    if (!entry) return;
    this.total--;
    if (--entry.count === 0) this.counts.delete(key);
  }

  clear(): void {
    this.counts.clear();
    this.total = 0;
  }

  /** Oldest and newest, leaving out one occurrence of `except` (the object a request replaces). */
  range(except?: KubeVersion): { min: KubeVersion; max: KubeVersion; count: number } | undefined {
    return this.rangeAdjusted(except ? [except] : [], []);
  }

  /**
   * Oldest and newest once one occurrence of each of `without` is left out and `with` is added
   * (objects a request, or a change levee allowed moments ago, replaces): constant time in the
   * number of objects, linear in the few adjustments.
   */
  rangeAdjusted(without: readonly KubeVersion[], added: readonly KubeVersion[]): { min: KubeVersion; max: KubeVersion; count: number } | undefined {
    const counts = new Map<string, { version: KubeVersion; count: number }>();
    for (const [key, entry] of this.counts) counts.set(key, { version: entry.version, count: entry.count });
    for (const version of without) {
      const entry = counts.get(versionKey(version));
      if (entry) entry.count--;
    }
    for (const version of added) {
      const key = versionKey(version);
      const entry = counts.get(key);
      if (entry) entry.count++;
      else counts.set(key, { version: { ...version, text: key }, count: 1 });
    }
    let min: KubeVersion | undefined;
    let max: KubeVersion | undefined;
    let count = 0;
    for (const entry of counts.values()) {
      if (entry.count <= 0) continue;
      count += entry.count;
      if (!min || compareVersions(entry.version, min) < 0) min = entry.version;
      if (!max || compareVersions(entry.version, max) > 0) max = entry.version;
    }
    return min && max ? { min, max, count } : undefined;
  }
}
