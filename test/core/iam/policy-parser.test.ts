import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { permissionsFor } from '../../../src/core/iam/permissions.js';
import { parsePolicyStatements, parseStatement, PolicySyntaxError } from '../../../src/core/iam/policy-parser.js';
import type { Statement } from '../../../src/core/iam/policy-parser.js';

/** The statement without its text, permissions as a sorted array, for deepEqual. */
function shape(st: Statement): unknown {
  return {
    subject: st.subject,
    grant: { ...st.grant, permissions: [...st.grant.permissions].sort() },
    location: st.location,
    condition: st.condition,
  };
}

function rejects(statements: string[], index: number, position: number, reason: string | RegExp): void {
  assert.throws(
    () => parsePolicyStatements(statements),
    (err: unknown) => {
      assert.ok(err instanceof PolicySyntaxError, `expected a PolicySyntaxError, got ${String(err)}`);
      assert.equal(err.statementIndex, index);
      assert.equal(err.position, position, err.message);
      if (typeof reason === 'string') {
        assert.equal(err.reason, reason);
        assert.equal(err.message, `Statement ${index + 1}, position ${position}: ${reason}`);
      } else {
        assert.match(err.reason, reason);
      }
      return true;
    },
  );
}

const OK = 'Allow group Admins to manage all-resources in tenancy';

describe('policy parser: subjects', () => {
  it('reads one group name and the bootstrap statement', () => {
    const st = parseStatement(OK);
    assert.equal(st.text, OK);
    assert.deepEqual(st.subject, { kind: 'group-names', names: ['Admins'] });
    assert.equal(st.grant.kind, 'verb');
    assert.equal(st.grant.permissions, permissionsFor('manage', 'all-resources'));
    assert.deepEqual(st.location, { kind: 'tenancy' });
    assert.equal(st.condition, null);
  });

  it('reads several group names, quoted names and Domain/Name', () => {
    const st = parseStatement("Allow group A, 'Ops Team' , Default/Devs, 'My Domain'/'Net Admins' to read users in tenancy");
    assert.deepEqual(st.subject, { kind: 'group-names', names: ['A', 'Ops Team', 'Devs', 'Net Admins'] });
    assert.deepEqual(parseStatement("Allow group 'Default/Auditors' to read users in tenancy").subject, {
      kind: 'group-names',
      names: ['Auditors'],
    });
  });

  it('reads group ids', () => {
    const st = parseStatement('Allow group id ocid1.group.oc1..aaa, id ocid1.group.oc1..bbb to inspect groups in tenancy');
    assert.deepEqual(st.subject, { kind: 'group-ids', ids: ['ocid1.group.oc1..aaa', 'ocid1.group.oc1..bbb'] });
  });

  it('reads any-user and any-group', () => {
    assert.deepEqual(parseStatement('Allow any-user to inspect ons-topics in tenancy').subject, { kind: 'any-user' });
    assert.deepEqual(parseStatement('Allow any-group to inspect ons-topics in tenancy').subject, { kind: 'any-group' });
  });
});

describe('policy parser: grants and locations', () => {
  it('expands verb + resource type', () => {
    const st = parseStatement('Allow group G to use fn-invocation in compartment Apps');
    assert.deepEqual(shape(st), {
      subject: { kind: 'group-names', names: ['G'] },
      grant: { kind: 'verb', verb: 'use', resourceType: 'fn-invocation', permissions: ['FN_INVOCATION'] },
      location: { kind: 'compartment-path', path: ['Apps'] },
      condition: null,
    });
  });

  it('reads a permission list, upper-casing the names', () => {
    const st = parseStatement('Allow group G to {ONS_TOPIC_PUBLISH, ons_topic_read} in compartment id ocid1.compartment.oc1..x');
    assert.deepEqual(shape(st), {
      subject: { kind: 'group-names', names: ['G'] },
      grant: { kind: 'permissions', permissions: ['ONS_TOPIC_PUBLISH', 'ONS_TOPIC_READ'] },
      location: { kind: 'compartment-id', id: 'ocid1.compartment.oc1..x' },
      condition: null,
    });
    assert.deepEqual([...parseStatement('Allow group G to {FN_INVOCATION} in tenancy').grant.permissions], ['FN_INVOCATION']);
  });

  it('reads compartment paths, including quoted names', () => {
    assert.deepEqual(parseStatement('Allow group G to read ons-topics in compartment Eng:Dev:Compute').location, {
      kind: 'compartment-path',
      path: ['Eng', 'Dev', 'Compute'],
    });
    assert.deepEqual(parseStatement("Allow group G to read ons-topics in compartment Eng : 'Dev Box'").location, {
      kind: 'compartment-path',
      path: ['Eng', 'Dev Box'],
    });
  });
});

describe('policy parser: conditions', () => {
  it('reads = and != with strings and patterns, lower-casing variable names', () => {
    const st = parseStatement("Allow group G to manage groups in tenancy where Target.Group.Name != 'Administrators'");
    assert.deepEqual(st.condition, {
      kind: 'compare',
      variable: 'target.group.name',
      op: '!=',
      value: { kind: 'string', text: 'Administrators' },
    });
    const p = parseStatement('Allow group G to manage groups in tenancy where target.group.name=/A-Users-*/');
    assert.deepEqual(p.condition, { kind: 'compare', variable: 'target.group.name', op: '=', value: { kind: 'pattern', pattern: 'A-Users-*' } });
  });

  it('reads nested any/all', () => {
    const st = parseStatement(
      "Allow any-user to use ons-topics in tenancy where any {request.permission='ONS_TOPIC_PUBLISH', all {request.user.id = 'u1', target.compartment.name = /*prod*/}}",
    );
    assert.deepEqual(st.condition, {
      kind: 'any',
      items: [
        { kind: 'compare', variable: 'request.permission', op: '=', value: { kind: 'string', text: 'ONS_TOPIC_PUBLISH' } },
        {
          kind: 'all',
          items: [
            { kind: 'compare', variable: 'request.user.id', op: '=', value: { kind: 'string', text: 'u1' } },
            { kind: 'compare', variable: 'target.compartment.name', op: '=', value: { kind: 'pattern', pattern: '*prod*' } },
          ],
        },
      ],
    });
  });

  it('keeps string values verbatim: case is only ignored when matching', () => {
    const st = parseStatement("Allow any-user to inspect users in tenancy where request.operation = 'ListUsers'");
    assert.deepEqual(st.condition, { kind: 'compare', variable: 'request.operation', op: '=', value: { kind: 'string', text: 'ListUsers' } });
  });
});

describe('policy parser: case and whitespace', () => {
  it('treats keywords, verbs and types case-insensitively and ignores extra whitespace', () => {
    const loud = parseStatement("  ALLOW  GROUP  Admins\tTO\nMANAGE   ALL-RESOURCES IN TENANCY  WHERE  ANY { request.user.id = 'x' }  ");
    const quiet = parseStatement("allow group Admins to manage all-resources in tenancy where any {request.user.id='x'}");
    assert.deepEqual(shape(loud), shape(quiet));
    assert.equal(parseStatement('Allow Any-User to Read Ons-Topics in Compartment Id ocid1.compartment.oc1..a').grant.kind, 'verb');
  });

  it('keeps the case of names', () => {
    assert.deepEqual(parseStatement('allow group MixedCase to read users in compartment Eng:DevOps').location, {
      kind: 'compartment-path',
      path: ['Eng', 'DevOps'],
    });
  });

  it('parses a list of statements in order', () => {
    const sts = parsePolicyStatements([OK, 'Allow any-user to inspect tenancies in tenancy']);
    assert.equal(sts.length, 2);
    assert.equal(sts[1]?.grant.kind === 'verb' && sts[1].grant.resourceType, 'tenancies');
    assert.deepEqual(parsePolicyStatements([]), []);
  });
});

describe('policy parser: errors', () => {
  it('reports a misspelt "to" with its position and the statement number', () => {
    rejects([OK, 'Allow group A too manage users in tenancy'], 1, 14, 'expected "to" after the subject, found "too"');
  });

  it('refuses dynamic groups as unsupported', () => {
    rejects(['Allow dynamic-group Fns to use ons-topics in tenancy'], 0, 6, 'dynamic-group subjects are not supported');
  });

  it('refuses an unknown verb, resource type or permission at its position', () => {
    rejects(['Allow group A to write users in tenancy'], 0, 17, 'unknown verb "write" (expected inspect, read, use or manage)');
    rejects(['Allow group A to read topics in tenancy'], 0, 22, /^unknown resource type "topics" \(expected one of ons-topics, /);
    rejects(['Allow group A to {ONS_TOPIC_READ, ONS_TOPIC_FLY} in tenancy'], 0, 34, 'unknown permission "ONS_TOPIC_FLY"');
  });

  it('refuses a missing Allow, subject, location or trailing garbage', () => {
    rejects(['Permit group A to read users in tenancy'], 0, 0, 'expected "allow" at the start of the statement, found "Permit"');
    rejects(['Define tenancy Acme as ocid1.tenancy.oc1..x'], 0, 0, '"Define" statements are not supported (only "Allow")');
    rejects([''], 0, 0, 'expected "allow" at the start of the statement, found the end of the statement');
    rejects(['Allow users to read users in tenancy'], 0, 6, 'expected a subject (group, group id, any-user or any-group), found "users"');
    rejects(['Allow group to read users in tenancy'], 0, 12, 'expected a group name, found "to"');
    rejects(['Allow group A to read users in region'], 0, 31, 'expected "tenancy" or "compartment" after "in", found "region"');
    rejects(['Allow group A to read users'], 0, 27, 'expected "in" after the resource type, found the end of the statement');
    rejects(['Allow group A to read users in tenancy please'], 0, 39, 'expected "where" or the end of the statement, found "please"');
    rejects(['Allow group A to read users in compartment Eng:'], 0, 47, 'expected a compartment name after ":", found the end of the statement');
  });

  it('refuses malformed group ids and permission lists', () => {
    rejects(['Allow group id ocid1.group.oc1..a, ocid1.group.oc1..b to read users in tenancy'], 0, 35, /^expected "id" before each group OCID, found "ocid1/);
    rejects(['Allow group A to {} in tenancy'], 0, 18, 'expected a permission name, found "}"');
    rejects(['Allow group A to {USER_READ in tenancy'], 0, 28, 'expected "," or "}" in the permission list, found "in"');
  });

  it('refuses malformed conditions', () => {
    const base = 'Allow group A to read users in tenancy where ';
    const at = base.length;
    rejects([`${base}user = 'x'`], 0, at, '"user" is not a variable (expected a name such as request.user.id)');
    rejects([`${base}request.user.id == 'x'`], 0, at + 17, 'expected a quoted \'value\' or a /pattern/ after "=", found "="');
    rejects([`${base}request.user.id 'x'`], 0, at + 16, 'expected "=" or "!=" after "request.user.id", found "\'x\'"');
    rejects([`${base}request.user.id = x`], 0, at + 18, 'expected a quoted \'value\' or a /pattern/ after "=", found "x"');
    rejects([`${base}request.user.id = 'x`], 0, at + 18, 'unterminated quoted string');
    rejects([`${base}request.user.id = /x*`], 0, at + 18, 'unterminated pattern (expected a closing "/")');
    rejects([`${base}any {request.user.id = 'x'`], 0, at + 26, 'expected "," or "}" closing "any", found the end of the statement');
    rejects([`${base}all request.user.id = 'x'`], 0, at + 4, 'expected "{" after "all", found "request.user.id"');
    rejects([`${base}any {}`], 0, at + 5, /^expected a condition .*, found "}"$/);
    rejects([base], 0, at, /^expected a condition .*, found the end of the statement$/);
  });

  it('labels a lone parseStatement as statement 1', () => {
    assert.throws(() => parseStatement('Allow group A to fly users in tenancy'), { name: 'PolicySyntaxError', message: /^Statement 1, position 17: / });
  });
});
