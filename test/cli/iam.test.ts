import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { cliFor as cli, runCli, type CliRun } from '../helpers/process.js';
import { type Row, fails, json, ok } from '../helpers/cli.js';

/** OCI's fingerprint: MD5 of the DER SubjectPublicKeyInfo, lowercase colon-separated hex. */
const fingerprintOf = (publicPem: string): string =>
  createHash('md5')
    .update(createPublicKey(publicPem).export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');

describe('herald CLI: iam (OCI Identity)', () => {
  let h: TestHerald;
  let work: string;
  before(async () => {
    h = await startTestHerald('sqlite');
    work = await mkdtemp(join(tmpdir(), 'herald-iam-cli-'));
  });
  after(async () => {
    await h.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('manages compartments, users, groups, memberships, API keys and policies end to end', async () => {
    assert.equal(json(await ok(h, ['iam', 'tenancy', 'get'])).id, h.tenancyId);

    // Compartments: a parent by name, the tree with --subtree.
    const orders = (await ok(h, ['iam', 'compartment', 'create', '--name', 'Orders', '--description', 'order topics', '--output', 'table'])).trim();
    assert.match(orders, /^ocid1\.compartment\./);
    const archive = json(await ok(h, ['iam', 'compartment', 'create', '--name', 'Archive', '--description', 'old orders', '--parent', 'Orders', '--output', 'json']));
    assert.equal(archive.compartmentId, orders);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'compartment', 'list'])).map((c) => c.name), ['Orders']);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'compartment', 'list', '--parent', orders])).map((c) => c.name), ['Archive']);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'compartment', 'list', '--subtree'])).map((c) => c.name).sort(), ['Archive', 'Orders']);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'compartment', 'list', '--parent', 'Orders', '--subtree'])).map((c) => c.name), ['Archive']);
    assert.match(await ok(h, ['iam', 'compartment', 'list', '--output', 'table']), /^name\s+id\s+compartmentId\s+lifecycleState[\s\S]*Orders\s+ocid1\.compartment\.\S+\s+ocid1\.tenancy\.\S+\s+ACTIVE\s+order topics/m);
    assert.equal(json(await ok(h, ['iam', 'compartment', 'get', orders])).name, 'Orders');
    assert.equal(json(await ok(h, ['iam', 'compartment', 'update', 'Archive', '--description', 'orders before 2020'])).description, 'orders before 2020');

    // Users: a name with `+` goes through the raw Identity query as %2B.
    const alice = json(await ok(h, ['iam', 'user', 'create', '--name', 'alice+ops@example.com', '--description', 'publisher', '--email', 'alice@example.com', '--output', 'json']));
    assert.match(String(alice.id), /^ocid1\.user\./);
    assert.ok(json<Row[]>(await ok(h, ['iam', 'user', 'list'])).some((u) => u.id === alice.id));
    assert.equal(json(await ok(h, ['iam', 'user', 'get', 'alice+ops@example.com'])).id, alice.id);
    assert.equal(json(await ok(h, ['iam', 'user', 'update', String(alice.id), '--email', 'alice@shop.example'])).email, 'alice@shop.example');

    // Groups and membership.
    const publishers = (await ok(h, ['iam', 'group', 'create', '--name', 'Publishers', '--description', 'may publish', '--output', 'table'])).trim();
    assert.match(publishers, /^ocid1\.group\./);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'group', 'list'])).map((g) => g.name).sort(), ['Administrators', 'Publishers']);
    assert.equal(json(await ok(h, ['iam', 'group', 'update', 'Publishers', '--description', 'publish order events'])).description, 'publish order events');
    assert.equal(json(await ok(h, ['iam', 'group', 'get', publishers])).description, 'publish order events');
    const membership = (await ok(h, ['iam', 'group', 'add-user', '--group', 'Publishers', '--user', 'alice+ops@example.com', '--output', 'table'])).trim();
    assert.match(membership, /^ocid1\.groupmembership\./);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'group', 'list-users', '--group', 'Publishers'])).map((u) => [u.name, u.membershipId]), [['alice+ops@example.com', membership]]);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'user', 'list-groups', 'alice+ops@example.com'])).map((g) => g.name), ['Publishers']);

    // An API key for alice, and a config profile that signs as her.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
    const publicFile = join(work, 'alice_public.pem');
    const privateFile = join(work, 'alice_private.pem');
    await writeFile(publicFile, publicKey);
    await writeFile(privateFile, privateKey, { mode: 0o600 });
    const fingerprint = (await ok(h, ['iam', 'api-key', 'upload', '--user', 'alice+ops@example.com', '--key-file', publicFile, '--output', 'table'])).trim();
    assert.equal(fingerprint, fingerprintOf(publicKey));
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'api-key', 'list', '--user', String(alice.id)])).map((k) => k.fingerprint), [fingerprint]);
    const aliceConfig = join(work, 'alice_config');
    await writeFile(aliceConfig, `[DEFAULT]\nuser=${String(alice.id)}\nfingerprint=${fingerprint}\ntenancy=${h.tenancyId}\nregion=us-ashburn-1\nkey_file=${privateFile}\n`);
    const asAlice = (args: string[]): Promise<CliRun> => runCli([...args, '--endpoint', h.herald.url, '--config-file', aliceConfig, '--output', 'json']);

    // Policies: what alice may do follows the policy, her membership and her key.
    await ok(h, ['topic', 'create', '--name', 'order-events', '--compartment', orders]);
    const policy = (await ok(h, ['iam', 'policy', 'create', '--name', 'publishers', '--description', 'read order topics', '--statement', 'Allow group Publishers to read ons-topics in compartment Orders', '--output', 'table'])).trim();
    assert.match(policy, /^ocid1\.policy\./);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'policy', 'list'])).map((p) => p.name).sort(), ['Tenant-Admin-Policy', 'publishers']);
    assert.deepEqual(json(await ok(h, ['iam', 'policy', 'get', 'publishers'])).statements, ['Allow group Publishers to read ons-topics in compartment Orders']);
    let listed = await asAlice(['topic', 'list', '--compartment', orders]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(json<Row[]>(listed.stdout).map((t) => t.name), ['order-events']);
    assert.equal((await asAlice(['topic', 'list'])).code, 1, 'no grant in the root compartment');

    const statementsFile = join(work, 'statements.json');
    const statements = ['Allow group Publishers to read ons-topics in compartment Orders', 'Allow group Publishers to inspect compartments in tenancy'];
    await writeFile(statementsFile, JSON.stringify(statements));
    const updated = json(await ok(h, ['iam', 'policy', 'update', policy, '--statements-file', statementsFile, '--description', 'read order topics, see compartments']));
    assert.deepEqual([updated.statements, updated.description], [statements, 'read order topics, see compartments']);
    const current = json(await ok(h, ['iam', 'policy', 'get', 'publishers']));
    assert.deepEqual(current.statements, statements);
    // The etag a get shows guards an update.
    assert.equal(typeof current.etag, 'string');
    await fails(h, ['iam', 'policy', 'update', 'publishers', '--description', 'stale', '--if-match', 'not-the-etag'], /^herald: 412 NoEtagMatch: /);
    assert.equal(json(await ok(h, ['iam', 'policy', 'update', 'publishers', '--description', 'order topics', '--if-match', String(current.etag)])).description, 'order topics');

    // Out of the group: the policy no longer covers her.
    const removed = await cli(h, ['iam', 'group', 'remove-user', '--group', publishers, '--user', 'alice+ops@example.com']);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stderr, /Removed user alice\+ops@example\.com from group Publishers/);
    assert.deepEqual(json(await ok(h, ['iam', 'group', 'list-users', '--group', 'Publishers'])), []);
    assert.deepEqual(json(await ok(h, ['iam', 'user', 'list-groups', String(alice.id)])), []);
    await fails(h, ['iam', 'group', 'remove-user', '--group', 'Publishers', '--user', 'alice+ops@example.com'], /^herald: User alice\+ops@example\.com is not in group Publishers\.\n$/);
    listed = await asAlice(['topic', 'list', '--compartment', orders]);
    assert.equal(listed.code, 1, `alice outside Publishers listed: ${listed.stdout}`);
    assert.match(listed.stderr, /^herald: 404 NotAuthorizedOrNotFound/);

    // Revoked: her key signs nothing any more.
    const revoked = await cli(h, ['iam', 'api-key', 'delete', '--user', 'alice+ops@example.com', '--fingerprint', fingerprint]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stderr, /Deleted API key/);
    assert.deepEqual(json(await ok(h, ['iam', 'api-key', 'list', '--user', 'alice+ops@example.com'])), []);
    const unsigned = await asAlice(['iam', 'user', 'get', String(alice.id)]);
    assert.equal(unsigned.code, 1);
    assert.match(unsigned.stderr, /^herald: 401 NotAuthenticated/);

    // Tear down, each by name.
    await ok(h, ['iam', 'policy', 'delete', 'publishers']);
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'policy', 'list'])).map((p) => p.name), ['Tenant-Admin-Policy']);
    await ok(h, ['iam', 'group', 'delete', 'Publishers']);
    await fails(h, ['iam', 'group', 'get', 'Publishers'], /^herald: No group named "Publishers" in the tenancy\.\n$/);
    const deletedUser = await cli(h, ['iam', 'user', 'delete', 'alice+ops@example.com']);
    assert.equal(deletedUser.code, 0, deletedUser.stderr);
    assert.match(deletedUser.stderr, /Deleted user alice\+ops@example\.com/);
    assert.ok(!json<Row[]>(await ok(h, ['iam', 'user', 'list'])).some((u) => u.id === alice.id));
    await fails(h, ['iam', 'compartment', 'delete', 'Orders'], /^herald: 409 Conflict: /);
    await ok(h, ['topic', 'delete', 'order-events']);
    await ok(h, ['iam', 'compartment', 'delete', String(archive.id)]);
    await ok(h, ['iam', 'compartment', 'delete', 'Orders']);
    assert.deepEqual(json(await ok(h, ['iam', 'compartment', 'list', '--subtree'])), []);
  });

  it('refuses bad arguments on stderr with exit 1, before calling the server', async () => {
    await fails(h, ['iam', 'policy', 'create', '--name', 'p', '--description', 'd'], /^herald: A policy needs statements: give --statement \(once per statement\) or --statements-file\.\n$/);
    const file = join(work, 'one.txt');
    await writeFile(file, 'Allow group Administrators to manage all-resources in tenancy\n');
    await fails(h, ['iam', 'policy', 'create', '--name', 'p', '--description', 'd', '--statement', 'x', '--statements-file', file], /^herald: Give --statement or --statements-file, not both\.\n$/);
    await fails(h, ['iam', 'policy', 'create', '--name', 'p', '--description', 'd', '--statements-file', join(work, 'missing.json')], /^herald: --statements-file cannot be read: /);
    await fails(h, ['iam', 'user', 'update', 'admin'], /^herald: Nothing to update: give --description, --email or both\.\n$/);
    await fails(h, ['iam', 'api-key', 'delete', '--fingerprint', 'not-a-fingerprint'], /^herald: --fingerprint wants 16 colon-separated hex bytes/);
    // Nothing was created by the refused policy commands.
    assert.deepEqual(json<Row[]>(await ok(h, ['iam', 'policy', 'list'])).map((p) => p.name), ['Tenant-Admin-Policy']);
  });
});
