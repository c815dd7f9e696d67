/** The Node fields inspections read, from one shared list per run. */
export interface NodeItem {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { nodeInfo?: { kubeletVersion?: string }; conditions?: Array<{ type: string; status: string }> };
}

export interface NodeList {
  items?: NodeItem[];
}

// Served from the API server's watch cache: cheaper, and fresh enough for an inspection.
export const NODES_PATH = '/api/v1/nodes?resourceVersion=0';

export function listNames(names: readonly string[], limit = 5): string {
  const shown = names.slice(0, limit).join(', ');
  return names.length > limit ? `${shown} and ${names.length - limit} more` : shown;
}
