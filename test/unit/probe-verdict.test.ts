import assert from 'node:assert/strict';
import { parseVerdictDocument, PROBE_LABEL, VERDICTS } from '../../src/probe-verdict.js';

describe('probe-verdict', () => {
  it('refuses documents without a verdict, a time or a probes list, naming what is missing', () => {
    assert.throws(() => parseVerdictDocument('{"verdict":"Fine"}'), /no verdict/);
    assert.throws(() => parseVerdictDocument('{"verdict":"Healthy","generatedAt":"yesterday"}'), /generatedAt/);
    assert.throws(() => parseVerdictDocument('{"verdict":"Healthy","generatedAt":"2026-01-01T00:00:00Z"}'), /probes/);
    assert.throws(() => parseVerdictDocument('{"verdict":'), /not JSON/);
  });

  it('reads a document that names no failing probes as failing none', () => {
    const document = parseVerdictDocument('{"verdict":"Degraded","generatedAt":"2026-01-01T00:00:00Z","probes":[]}');
    assert.equal(document.verdict, 'Degraded');
    assert.deepEqual(document.failing, []);
  });

  it('keeps the names other tools rely on: the three verdicts and the label on probe objects', () => {
    assert.deepEqual(VERDICTS, ['Healthy', 'Degraded', 'Unhealthy']);
    assert.equal(PROBE_LABEL, 'levee.dev/probe');
  });
});
