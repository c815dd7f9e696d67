// Runs the levee CLI in this process and reports its resource usage on stderr, for bench/audit.mjs.
const { main } = await import(new URL('../dist/src/cli.js', import.meta.url).href);
const code = await main(process.argv.slice(2));
const usage = process.resourceUsage();
process.stderr.write(`levee-bench-usage ${JSON.stringify({ userMicros: usage.userCPUTime, systemMicros: usage.systemCPUTime, maxRssKiB: usage.maxRSS })}\n`);
process.exitCode = code;
