// `npm run test:stress`: the whole test suite with a CPU hog beside it, one busy loop per
// core, so a test that passes only on an idle machine fails here first. Arguments filter
// the test files as in run-tests.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

// Each loop also exits once its parent is gone, so a killed stress run leaves no hog behind.
const HOG = 'const parent = process.ppid; for (let i = 0; ; i++) if (i % 1e7 === 0 && process.ppid !== parent) process.exit(0);';
const hogs = Array.from({ length: availableParallelism() }, () => spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }));
const stop = () => hogs.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stop);
process.on('SIGINT', () => process.exit(130));
console.log(`test:stress: ${hogs.length} busy loops running beside the suite`);
const r = spawnSync(process.execPath, ['scripts/run-tests.mjs', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
