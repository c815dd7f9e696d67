// One mocha run over a list of files, as `npm test` runs every layer: spec reporter, 20 s per
// test. Returns mocha's counts.
export async function runMocha(files) {
  // Imported only now: on a fresh clone the build has just installed the npm dependencies.
  const { default: Mocha } = await import('mocha');
  const mocha = new Mocha({ reporter: 'spec', timeout: 20_000, slow: 2_000 });
  for (const file of files) mocha.addFile(file);
  await mocha.loadFilesAsync();
  const stats = await new Promise((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats));
  });
  return { passes: stats.passes, failures: stats.failures, pending: stats.pending };
}
