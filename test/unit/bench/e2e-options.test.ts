import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface Overrides {
  rounds?: number;
  seconds?: number;
  writers?: number[];
  large?: number;
  apiServerProfiles?: string;
}
interface BenchOptions {
  parseE2eOptions(argv: string[]): Overrides;
  E2eOptionError: new (message: string) => Error;
}

const load = async (): Promise<BenchOptions> => (await import(pathToFileURL(join(process.cwd(), 'bench', 'e2e', 'options.mjs')).href)) as BenchOptions;

async function rejects(argv: string[], message: RegExp): Promise<void> {
  const { parseE2eOptions, E2eOptionError } = await load();
  assert.throws(() => parseE2eOptions(argv), (err: unknown) => err instanceof E2eOptionError && message.test(err.message));
}

describe('bench/e2e/options: the end-to-end bench\'s command line', () => {
  it('gives no overrides when only the flags the entry point reads are given', async () => {
    const { parseE2eOptions } = await load();
    assert.deepEqual(parseE2eOptions(['--e2e', '--quick', '--breakdown', '--node-flags=--max-semi-space-size=64']), {});
  });

  it('reads rounds, seconds, writers and large', async () => {
    const { parseE2eOptions } = await load();
    assert.deepEqual(parseE2eOptions(['--e2e', '--rounds=9', '--seconds=20', '--writers=16', '--large=5000']), { rounds: 9, seconds: 20, writers: [16], large: 5000 });
  });

  it('reads --apiserver-profiles as a directory, made absolute', async () => {
    const { parseE2eOptions } = await load();
    assert.deepEqual(parseE2eOptions(['--apiserver-profiles=/tmp/profiles']), { apiServerProfiles: '/tmp/profiles' });
    assert.equal(parseE2eOptions(['--apiserver-profiles=profiles']).apiServerProfiles, join(process.cwd(), 'profiles'));
  });

  it('refuses --apiserver-profiles without a directory, or twice', async () => {
    await rejects(['--apiserver-profiles='], /--apiserver-profiles=: expected a directory/);
    await rejects(['--apiserver-profiles'], /--apiserver-profiles needs a value/);
    await rejects(['--apiserver-profiles=a', '--apiserver-profiles=b'], /--apiserver-profiles is given more than once/);
  });

  it('sorts the writer counts', async () => {
    const { parseE2eOptions } = await load();
    assert.deepEqual(parseE2eOptions(['--writers=64,1,16']).writers, [1, 16, 64]);
  });

  it('accepts the bounds themselves', async () => {
    const { parseE2eOptions } = await load();
    assert.deepEqual(parseE2eOptions(['--rounds=1', '--seconds=3600', '--writers=1,64', '--large=1000']), { rounds: 1, seconds: 3600, writers: [1, 64], large: 1000 });
    assert.deepEqual(parseE2eOptions(['--rounds=100', '--large=1000000']), { rounds: 100, large: 1_000_000 });
  });

  it('refuses an unknown option, naming it and the ones it takes', async () => {
    await rejects(['--e2e', '--round=9'], /unknown option --round=9.*--rounds=N/);
    await rejects(['--e2e', 'rounds=9'], /unknown option rounds=9/);
  });

  it('refuses an option without a value, as `--rounds 9` would be', async () => {
    await rejects(['--rounds', '9'], /--rounds needs a value/);
  });

  it('refuses an option given twice', async () => {
    await rejects(['--rounds=3', '--rounds=9'], /--rounds is given more than once/);
  });

  it('refuses rounds out of range or not whole', async () => {
    await rejects(['--rounds=0'], /--rounds=0: expected a whole number from 1 to 100/);
    await rejects(['--rounds=101'], /from 1 to 100/);
    await rejects(['--rounds=2.5'], /--rounds=2.5/);
    await rejects(['--rounds='], /--rounds=: expected/);
  });

  it('refuses seconds out of range', async () => {
    await rejects(['--seconds=0'], /--seconds=0: expected a whole number from 1 to 3600/);
    await rejects(['--seconds=3601'], /from 1 to 3600/);
  });

  it('refuses a writer count out of range or not a number', async () => {
    await rejects(['--writers=16,99'], /--writers=99: expected a whole number from 1 to 64/);
    await rejects(['--writers=0'], /from 1 to 64/);
    await rejects(['--writers=16,,64'], /--writers=: expected/);
    await rejects(['--writers=sixteen'], /--writers=sixteen/);
  });

  it('refuses a writer count given twice', async () => {
    await rejects(['--writers=16,1,16'], /a writer count is given twice/);
  });

  it('refuses a large cluster below the small one or absurdly large', async () => {
    await rejects(['--large=999'], /--large=999: expected a whole number from 1000 to 1000000/);
    await rejects(['--large=1000001'], /from 1000 to 1000000/);
  });

  it('refuses numbers written in other notations', async () => {
    await rejects(['--large=5e3'], /--large=5e3/);
    await rejects(['--rounds=-3'], /--rounds=-3/);
    await rejects(['--rounds=0x9'], /--rounds=0x9/);
  });
});
