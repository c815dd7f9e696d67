import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { ReviewError } from '../../../src/errors.js';
import { readJsonBody } from '../../../src/server/body.js';

/** A request body as node:http delivers it: a stream with headers. */
function request(headers: Record<string, string> = {}): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers: { 'content-type': 'application/json', ...headers } }) as unknown as PassThrough & IncomingMessage;
}

async function refusal(promise: Promise<unknown>): Promise<ReviewError> {
  const error = await promise.then(
    () => assert.fail('expected the body to be refused'),
    (err: unknown) => err,
  );
  assert.ok(error instanceof ReviewError, `expected a ReviewError, got ${String(error)}`);
  return error;
}

describe('server/body', () => {
  it('reads a JSON body, without a byte order mark, and an empty body as {}', async () => {
    const req = request();
    const read = readJsonBody(req, 1024);
    req.end('\uFEFF{"kind":"AdmissionReview"}');
    assert.deepEqual(await read, { kind: 'AdmissionReview' });
    const empty = request();
    const nothing = readJsonBody(empty, 1024);
    empty.end();
    assert.deepEqual(await nothing, {});
  });

  it('refuses a declared length over the limit at once, with a coded 413 that leaves the body unread', async () => {
    const req = request({ 'content-length': String(10 * 1024 * 1024) });
    const error = await refusal(readJsonBody(req, 1024));
    assert.deepEqual([error.code, error.httpStatus, error.unreadBody, error.message], ['REVIEW_TOO_LARGE', 413, true, 'request body exceeds the 1024 byte limit']);
  });

  it('refuses a streamed body as soon as it passes the limit', async () => {
    const req = request();
    const read = readJsonBody(req, 16);
    req.write(Buffer.alloc(10, 0x20));
    req.write(Buffer.alloc(10, 0x20));
    const error = await refusal(read);
    assert.deepEqual([error.code, error.httpStatus, error.unreadBody], ['REVIEW_TOO_LARGE', 413, true]);
  });

  it('refuses encodings and charsets it does not read with a 415', async () => {
    const gzip = await refusal(readJsonBody(request({ 'content-encoding': 'gzip' }), 1024));
    assert.deepEqual([gzip.code, gzip.httpStatus, gzip.message], ['REVIEW_CONTENT_TYPE', 415, 'unsupported content encoding "gzip"']);
    const latin1 = await refusal(readJsonBody(request({ 'content-type': 'application/json; charset=latin1' }), 1024));
    assert.deepEqual([latin1.code, latin1.httpStatus, latin1.unreadBody], ['REVIEW_CONTENT_TYPE', 415, false]);
    const utf8 = request({ 'content-type': 'application/json; charset="UTF-8"' });
    const read = readJsonBody(utf8, 1024);
    utf8.end('{}');
    assert.deepEqual(await read, {});
  });

  it('says where JSON parsing stopped without quoting the body, which may hold Secret data', async () => {
    const req = request();
    const read = readJsonBody(req, 1024);
    req.end('{"data": {"password": "hunter2"}, oops}');
    const error = await refusal(read);
    assert.deepEqual([error.code, error.httpStatus, error.unreadBody], ['REVIEW_NOT_JSON', 400, false]);
    assert.match(error.message, /^body is not valid JSON( \(at position \d+\))?$/);
    assert.doesNotMatch(error.message, /hunter2/);
    const truncated = request();
    const cut = readJsonBody(truncated, 1024);
    truncated.end('{"kind": "Admission');
    assert.doesNotMatch((await refusal(cut)).message, /Admission/);
  });

  it('reports a client that aborts mid-body, leaving the rest unread', async () => {
    const req = request();
    const read = readJsonBody(req, 1024);
    req.write('{"kind":');
    req.emit('aborted');
    const error = await refusal(read);
    assert.deepEqual([error.code, error.httpStatus, error.unreadBody, error.message], ['REVIEW_INVALID', 400, true, 'request aborted by the client']);
  });
});
