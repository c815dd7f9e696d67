/**
 * Whether a member cluster's API server answers, judged from the requests its probes send
 * anyway (no request of its own): unreachable once a request has gone unanswered (refused,
 * reset, timed out) and no request has been answered for `afterSeconds`. An answer of any
 * status, even an error, means the server is there and the probes' verdict stands.
 */

export type Reach = { reachable: true } | { reachable: false; error: string; since: Date };

export class Reachability {
  private lastAnswer: number | undefined;
  private failure: { error: string; at: number; since: number } | undefined;

  constructor(
    private readonly afterSeconds: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** One request's end, as KubeApi.observeAnswers tells it. */
  record(answered: boolean, error?: Error): void {
    const at = this.now().getTime();
    if (answered) {
      this.lastAnswer = at;
      this.failure = undefined;
      return;
    }
    this.failure = { error: error?.message ?? 'no answer', at, since: this.failure?.since ?? at };
  }

  /** A member that never could be reached at all (no such context, unreadable credentials) says why, from the start. */
  fail(error: string): void {
    const at = this.now().getTime();
    this.failure = { error, at, since: this.failure?.since ?? at };
    this.lastAnswer = undefined;
  }

  get state(): Reach {
    if (!this.failure) return { reachable: true };
    // Answered a moment ago: one lost request is not an outage.
    if (this.lastAnswer !== undefined && this.now().getTime() - this.lastAnswer < this.afterSeconds * 1000) return { reachable: true };
    return { reachable: false, error: this.failure.error, since: new Date(this.failure.since) };
  }
}
