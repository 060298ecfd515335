import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BIN } from '../helpers/process.js';
import { fdkWheelDir, pipOfflineEnv, SYSTEM_PYTHON } from '../helpers/python-fdk.js';

const TIMEOUT_MS = 150_000;

/** Runs the example's entry as `npm run example:ecommerce -- ARGS` does (after its build step). */
function runExample(args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/ecommerce/run.ts', ...args], {
      env: { PATH: process.env.PATH ?? '', OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED: 'false', ECOMMERCE_TIMEOUT_MS: '90000', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Three orders, each with the label the function posted back and the supplier's email. */
function assertOutcome(stdout: string, fnName: string): void {
  const sections = stdout.split(/^=== /m).slice(1);
  assert.equal(sections.length, 3, stdout);
  for (const [i, section] of sections.entries()) {
    const orderId = `ORD-${1001 + i}`;
    assert.match(section, new RegExp(`^Order ${orderId} by u-\\w+: .* status LABELLED`));
    // The label the function posted back: its tracking number is derived from the order id.
    assert.match(section, new RegExp(`Shipping label \\(from the ${fnName} function\\):\\n {2}Herald Parcel (EXPRESS|STANDARD) {2}tracking HP[0-9A-F]{12}`));
    assert.match(section, new RegExp(`Supplier email to supplier@example\\.com, subject "New Order":\\n {2}\\| New Order has been placed: ${orderId} by user: u-\\w+`));
    assert.match(section, new RegExp(`\\| \\{"orderId":"${orderId}"`));
  }
  assert.equal((stdout.match(/tracking HP/g) ?? []).length, 3);
  assert.equal((stdout.match(/^Supplier email to/gm) ?? []).length, 3);
}

describe('examples/ecommerce', () => {
  it('places three orders and prints each with its shipping label and the supplier email', { timeout: TIMEOUT_MS + 10_000 }, async () => {
    assert.ok(existsSync(BIN), `build first (npm run build): ${BIN} is missing`);
    const r = await runExample();
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
    assertOutcome(r.stdout, 'shipping-label');
  });

  it('--python: the same with the Python function, its requirements.txt built by herald fn deploy', { timeout: TIMEOUT_MS + 10_000 }, async () => {
    assert.ok(existsSync(BIN), `build first (npm run build): ${BIN} is missing`);
    // The operator's pip settings reach pip through the example and the CLI: here, offline from a local wheel.
    const r = await runExample(['--python'], { ...pipOfflineEnv(await fdkWheelDir()), HERALD_FUNCTIONS_PYTHON: SYSTEM_PYTHON });
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr}`);
    assertOutcome(r.stdout, 'shipping-label-python');
  });
});
