import { IndexedStore } from './store.js';
import type { ServiceView } from './views.js';

/**
 * Services, found from a set of pod labels without walking a label's bucket. An index by
 * single `key=value` pairs degrades to a scan when many Services share one selector pair
 * (every Service of a Helm release selects `app.kubernetes.io/instance=<release>`): a lookup
 * would test each of them. Here each Service is indexed once by its whole selector, and each
 * namespace remembers the distinct sets of selector keys in use ("shapes", typically a handful).
 * A lookup builds, for each shape the pod labels cover, the one selector that would match,
 * and reads its bucket: the cost follows the number of shapes, not the number of Services.
 */
export class ServiceStore extends IndexedStore<ServiceView> {
  /** namespace -> shape (sorted selector keys) -> how many Services have it. */
  private readonly shapes = new Map<string, Map<string, { keys: readonly string[]; count: number }>>();

  constructor() {
    super('services', { selector: (service) => (hasSelector(service) ? [selectorKey(service.namespace, service.selector)] : []) });
  }

  protected override added(view: ServiceView): void {
    this.countShape(view, +1);
  }

  protected override removed(view: ServiceView): void {
    this.countShape(view, -1);
  }

  override replaceAll(entries: Iterable<[string, ServiceView]>): void {
    this.shapes.clear();
    // IndexedStore.replaceAll clears and re-adds through upsert, which counts each shape again.
    super.replaceAll(entries);
  }

  /** Services in `namespace` whose whole selector is contained in `labels`. */
  selecting(namespace: string, labels: Readonly<Record<string, string>>): ServiceView[] {
    const shapes = this.shapes.get(namespace);
    if (!shapes) return [];
    const found: ServiceView[] = [];
    for (const { keys } of shapes.values()) {
      if (!keys.every((label) => labels[label] !== undefined)) continue;
      const selector: Record<string, string> = {};
      for (const label of keys) selector[label] = labels[label]!;
      found.push(...this.byIndex('selector', selectorKey(namespace, selector)));
    }
    return found;
  }

  private countShape(service: ServiceView, delta: 1 | -1): void {
    if (!hasSelector(service)) return;
    const keys = Object.keys(service.selector).sort();
    const shape = keys.join('\0');
    let shapes = this.shapes.get(service.namespace);
    if (!shapes) this.shapes.set(service.namespace, (shapes = new Map()));
    const entry = shapes.get(shape) ?? { keys, count: 0 };
    entry.count += delta;
    if (entry.count > 0) shapes.set(shape, entry);
    else shapes.delete(shape);
    if (shapes.size === 0) this.shapes.delete(service.namespace);
  }
}

function hasSelector(service: ServiceView): boolean {
  return Object.keys(service.selector).length > 0;
}

/** `namespace` and the selector's pairs in key order: equal for equal selectors however they were written. */
function selectorKey(namespace: string, selector: Readonly<Record<string, string>>): string {
  const keys = Object.keys(selector).sort();
  return `${namespace}\0${keys.map((key) => `${key}=${selector[key]}`).join('\0')}`;
}
