/**
 * Waits for `check` to hold. With `change`, makes the change at once and again every
 * `retryMs` until it does: fs.watchFile takes its first look at a file only after it starts,
 * so a change made before that look is never reported.
 */
export async function until(check: () => boolean, options: { change?: () => void; timeoutMs?: number; retryMs?: number } = {}): Promise<void> {
  const { change, timeoutMs = 10_000, retryMs = 250 } = options;
  const deadline = Date.now() + timeoutMs;
  let changed = Date.now();
  change?.();
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    if (change && Date.now() - changed > retryMs) {
      change();
      changed = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits for an asynchronous `check` (a failed one counts as not yet), polling every 200 ms. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('condition not met in time');
}
