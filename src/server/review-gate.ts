import type { IncomingMessage, ServerResponse } from 'node:http';

export interface GateLimits {
  /** Reviews being read or judged at once. */
  maxConcurrentReviews: number;
  /** Request bytes those reviews may hold: each counts its declared length, or the body limit when it declares none. */
  maxBytesInFlight: number;
  bodyLimitBytes: number;
}

export interface Shed {
  status: 429;
  code: 'REVIEW_OVERLOADED';
  message: string;
  /** Seconds, for the Retry-After header. */
  retryAfter: number;
}

/**
 * The bound on the work levee takes on: a review is admitted only while fewer than
 * `maxConcurrentReviews` are in flight and its bytes fit in `maxBytesInFlight`; otherwise it is
 * shed with 429 and Retry-After before its body is read, and the API server applies the
 * webhook's failure policy. A review's share is released when its response is done or its
 * connection closes, whichever comes first. A body declared over the limit takes no share: the
 * body reader refuses it at once, without reading it.
 */
export class ReviewGate {
  private active = 0;
  private bytes = 0;

  constructor(private readonly limits: GateLimits) {}

  /** Admits the request (releasing its share when `res` is done) or says why not. */
  admit(req: IncomingMessage, res: ServerResponse): Shed | undefined {
    const share = this.shareOf(req);
    if (this.active >= this.limits.maxConcurrentReviews) return this.shed(`${this.active} reviews are in flight, the most levee takes at once`);
    if (this.bytes + share > this.limits.maxBytesInFlight) {
      return this.shed(`the reviews in flight hold ${this.bytes} bytes; ${share} more would pass the ${this.limits.maxBytesInFlight}-byte bound`);
    }
    this.active++;
    this.bytes += share;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.active--;
      this.bytes -= share;
    };
    res.once('finish', release);
    res.once('close', release);
    return undefined;
  }

  get inFlight(): { reviews: number; bytes: number } {
    return { reviews: this.active, bytes: this.bytes };
  }

  private shareOf(req: IncomingMessage): number {
    const declared = Number(req.headers['content-length']);
    if (!Number.isFinite(declared) || declared < 0) return this.limits.bodyLimitBytes;
    return declared > this.limits.bodyLimitBytes ? 0 : declared;
  }

  private shed(why: string): Shed {
    return { status: 429, code: 'REVIEW_OVERLOADED', message: `levee is shedding load: ${why}; retry shortly`, retryAfter: 1 };
  }
}
