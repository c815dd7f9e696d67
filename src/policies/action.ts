import { z } from 'zod';

/**
 * What a finding does (a policy's or one rule's setting): `deny` refuses the request, `warn`
 * allows it with a warning kubectl prints, `audit` allows it silently and only logs and counts it.
 */
export const enforcementAction = z.enum(['deny', 'warn', 'audit']);
export type EnforcementAction = z.infer<typeof enforcementAction>;
