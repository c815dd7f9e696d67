import assert from 'node:assert/strict';
import { reviewRouteOf } from '../../../src/server/review-route.js';

describe('server/review-route', () => {
  describe('reviewRouteOf', () => {
    it('matches the three review routes on POST', () => {
      assert.deepEqual(reviewRouteOf('POST', '/validate'), { route: 'validate', warnOnly: false });
      assert.deepEqual(reviewRouteOf('POST', '/validate/warn-only'), { route: 'validate', warnOnly: true });
      assert.deepEqual(reviewRouteOf('POST', '/mutate'), { route: 'mutate', warnOnly: false });
    });

    it('ignores the query the API server appends, case, and one trailing slash, as express did', () => {
      assert.deepEqual(reviewRouteOf('POST', '/validate?timeout=10s'), { route: 'validate', warnOnly: false });
      assert.deepEqual(reviewRouteOf('POST', '/Mutate/'), { route: 'mutate', warnOnly: false });
      assert.deepEqual(reviewRouteOf('POST', '/validate/WARN-ONLY?timeout=5s'), { route: 'validate', warnOnly: true });
    });

    it('leaves everything else to express: other methods, other paths, no URL', () => {
      assert.equal(reviewRouteOf('GET', '/validate'), undefined);
      assert.equal(reviewRouteOf('POST', '/validate//'), undefined);
      assert.equal(reviewRouteOf('POST', '/healthz'), undefined);
      assert.equal(reviewRouteOf('POST', '/validate/extra'), undefined);
      assert.equal(reviewRouteOf(undefined, '/validate'), undefined);
      assert.equal(reviewRouteOf('POST', undefined), undefined);
    });
  });
});
