import { createHash } from 'node:crypto';
import { LeveeError } from '../../errors.js';
import { PROBE_VERDICT_NAME } from '../../probe-verdict-status.js';
import type { FleetMemberSettings } from './settings.js';

/**
 * The hub's name for each member cluster: its ProbeVerdict's name and the value of its
 * `levee.dev/fleet-member` label. Context names are free text (`arn:aws:eks:...:cluster/prod`,
 * `admin@prod`, `Prod_EU`); a name and a label value are not. A context that already is a
 * valid name is used as it is; any other is lowercased, every run of other characters becomes
 * `-`, and a short hash of the context keeps two contexts that read alike apart.
 */

export interface FleetMember {
  /** The kubeconfig context, as written in the kubeconfig. */
  context: string;
  /** The hub ProbeVerdict's name and label value: at most 63 characters of [a-z0-9-.], alphanumeric at both ends. */
  name: string;
}

/** At most 63 characters, so that the name is also a valid label value. */
const NAME_MAX = 63;
const VALID_NAME = /^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$/;

export function memberName(context: string): string {
  if (VALID_NAME.test(context)) return context;
  const hash = createHash('sha256').update(context).digest('hex').slice(0, 6);
  const readable = context
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, NAME_MAX - hash.length - 1)
    .replace(/[^a-z0-9]+$/, '');
  return readable ? `${readable}-${hash}` : `context-${hash}`;
}

/**
 * The members as configured, each with its hub name; a clear error for a name that is not
 * valid, that would overwrite the hub's own verdict (`cluster`), or that two members share.
 */
export function fleetMembers(settings: readonly FleetMemberSettings[]): FleetMember[] {
  const byName = new Map<string, string>();
  return settings.map(({ context, name: given }) => {
    const name = given ?? memberName(context);
    if (!VALID_NAME.test(name)) {
      throw new LeveeError('CONFIG_INVALID', `probe.fleet member ${JSON.stringify(context)}: name ${JSON.stringify(name)} is not a valid name (at most ${NAME_MAX} characters of a-z, 0-9, '-' and '.', alphanumeric at both ends)`);
    }
    if (name === PROBE_VERDICT_NAME) {
      throw new LeveeError('CONFIG_INVALID', `probe.fleet member ${JSON.stringify(context)}: the name "${PROBE_VERDICT_NAME}" is the hub's own verdict; give the member another name (probe.fleet.members[].name)`);
    }
    const taken = byName.get(name);
    if (taken !== undefined) {
      throw new LeveeError('CONFIG_INVALID', `probe.fleet members ${JSON.stringify(taken)} and ${JSON.stringify(context)} would both publish ProbeVerdict ${name}; name one of them (probe.fleet.members[].name)`);
    }
    byName.set(name, context);
    return { context, name };
  });
}
