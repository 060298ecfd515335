import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config/config.js';
import { startHerald } from '../../src/server/herald.js';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient } from '../helpers/oci.js';
import { runCli } from '../helpers/process.js';

/** Publishes acknowledged before the backup started: enough that the copy has real work while writes go on. */
const BEFORE_BACKUP = 300;
const PUBLISHERS = 4;

interface Ack {
  id: string;
  body: string;
  /** performance.now() when the 202 arrived. */
  at: number;
}

describe('herald backup (sqlite)', () => {
  let h: TestHerald;
  let work: string;
  before(async () => {
    h = await startTestHerald('sqlite');
    work = await mkdtemp(join(tmpdir(), 'herald-backup-'));
  });
  after(async () => {
    await h.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('copies a consistent store while publishes go on, and a Herald restored from it has every message acknowledged before it started', async () => {
    const topic = await h.cp.createTopic({ createTopicDetails: { name: 'backed-up', compartmentId: h.tenancyId } });
    const topicId = topic.notificationTopic.topicId;
    const acks: Ack[] = [];
    let publishing = true;
    let n = 0;
    const publisher = async (): Promise<void> => {
      while (publishing) {
        const body = `message ${n++}`;
        const res = await h.dp.publishMessage({ topicId, messageDetails: { body } });
        acks.push({ id: res.publishResult.messageId, body, at: performance.now() });
      }
    };
    // A reader that keeps its snapshot holds every checkpoint back: what is published from here on stays in the
    // WAL, so a copy of herald.db alone (not a backup through SQLite) would lack all of it.
    const reader = new Database(join(h.dataDir, 'herald.db'), { readonly: true, fileMustExist: true });
    reader.exec('BEGIN');
    reader.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    const publishers = Array.from({ length: PUBLISHERS }, publisher);

    const out = join(work, 'herald-backup.db');
    let backupStartedAt: number;
    let run;
    try {
      await eventually(() => acks.length >= BEFORE_BACKUP, 60_000, `${BEFORE_BACKUP} acknowledged publishes`);
      backupStartedAt = performance.now();
      // Another process, as an operator runs it beside the server; the publishers keep going meanwhile.
      run = await runCli(['backup', '--out', out, '--data-dir', h.dataDir]);
    } finally {
      publishing = false;
      await Promise.all(publishers);
      reader.exec('COMMIT');
      reader.close();
    }
    assert.equal(run.code, 0, run.stderr);
    const size = (await stat(out)).size;
    assert.equal(run.stdout, `Wrote ${out} (${size} bytes)\n`);
    assert.equal((await stat(out)).mode & 0o777, 0o600, 'the backup holds secrets: owner only');
    assert.deepEqual((await readdir(work)).sort(), ['herald-backup.db'], 'no temporary or journal file is left behind');

    const copy = new Database(out, { readonly: true, fileMustExist: true });
    try {
      assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      copy.close();
    }

    // Restore as README says: a data dir whose herald.db is the backup (0600), with no -wal or -shm of its own.
    const restoredDir = join(work, 'restored');
    await mkdir(restoredDir, { mode: 0o700 });
    await copyFile(out, join(restoredDir, 'herald.db'));
    await chmod(join(restoredDir, 'herald.db'), 0o600);
    const restored = await startHerald(resolveConfig({ port: '0', host: '127.0.0.1', dataDir: restoredDir, store: 'sqlite' }, {}), {
      logger: pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' }),
    });
    try {
      assert.equal(restored.consolePassword, undefined, 'the restored store keeps its console login');
      const signed = heraldClient({ ...h, herald: restored });
      const expected = acks.filter((a) => a.at < backupStartedAt);
      assert.ok(expected.length >= BEFORE_BACKUP);
      // The signed GET of each, a few at a time.
      const missing: string[] = [];
      for (let i = 0; i < expected.length; i += 16) {
        await Promise.all(
          expected.slice(i, i + 16).map(async (a) => {
            const res = await signed.raw('GET', `/herald/v1/messages/${encodeURIComponent(a.id)}`);
            if (res.status !== 200 || res.json.body !== a.body) missing.push(`${a.id}: ${res.status} ${res.text.slice(0, 200)}`);
          }),
        );
      }
      assert.deepEqual(missing, [], `${missing.length} of ${expected.length} messages acknowledged before the backup are missing`);
    } finally {
      await restored.close();
    }
  });

  it('refuses to overwrite an existing file unless --force', async () => {
    const out = join(work, 'existing.db');
    await writeFile(out, 'keep me');
    const refused = await runCli(['backup', '--out', out, '--data-dir', h.dataDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already exists\. Pass --force to overwrite it\./);
    assert.equal(await readFile(out, 'utf8'), 'keep me');

    // The data dir found as `serve` finds it: here from HERALD_DATA_DIR.
    const forced = await runCli(['backup', '--out', out, '--force'], { HERALD_DATA_DIR: h.dataDir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const copy = new Database(out, { readonly: true, fileMustExist: true });
    try {
      assert.equal(copy.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      copy.close();
    }
  });

  it('refuses a data dir without a database and a PostgreSQL store (with the pg_dump hint), and finds the data dir through serve\'s config file', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'herald-backup-empty-'));
    try {
      const none = await runCli(['backup', '--out', join(work, 'none.db'), '--data-dir', empty]);
      assert.equal(none.code, 1);
      assert.match(none.stderr, /No Herald database at .*herald\.db/);
      assert.deepEqual(await readdir(empty), [], 'nothing created in the empty data dir');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
    // ... or from serve's config file.
    const configFile = join(work, 'herald.yaml');
    await writeFile(configFile, `dataDir: ${JSON.stringify(h.dataDir)}\n`);
    const fromFile = await runCli(['backup', '--out', join(work, 'from-config.db'), '--config', configFile]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    const pg = await runCli(['backup', '--out', join(work, 'pg.db')], { HERALD_STORE: 'postgres://postgres@127.0.0.1:5432/test' });
    assert.equal(pg.code, 1);
    assert.match(pg.stderr, /pg_dump/);
    await assert.rejects(stat(join(work, 'pg.db')), { code: 'ENOENT' });
  });
});
