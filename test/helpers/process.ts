import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface HeraldProcess {
  child: ChildProcess;
  url: string;
  logs: string[];
  exited: Promise<number | null>;
}

/** Runs the built `herald serve` as a real process and waits for its "listening" log line. */
export async function spawnHerald(env: Record<string, string>, args: string[] = []): Promise<HeraldProcess> {
  assert.ok(existsSync(BIN), `build first (npm run build): ${BIN} is missing`);
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('herald serve did not start:\n' + logs.join(''))), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      logs.push(d.toString());
      const all = logs.join('');
      const m = /"url":"(https?:\/\/[^"]+)"[^\n]*Herald is listening/.exec(all);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`herald serve exited with ${code}:\n${logs.join('')}`));
    });
  });
  return { child, url, logs, exited };
}

export async function stopHerald(p: HeraldProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode;
  p.child.kill(signal);
  return p.exited;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `herald` CLI with only PATH (plus env) from this process, optionally feeding stdin. */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    if (stdin !== undefined) child.stdin!.end(stdin);
  });
}

/** The CLI pointed at a test server with its bootstrap config file. */
export function cliFor(h: { herald: { url: string }; configFile: string }, args: string[], stdin?: string): Promise<CliRun> {
  return runCli([...args, '--endpoint', h.herald.url, '--config-file', h.configFile], {}, stdin);
}
