import type { Command } from 'commander';
import { addClientOptions } from '../options.js';
import { printObject } from '../output.js';
import { enc, ONS, readMessageBody, resolveTopic, withOns, type Row } from '../resolve.js';

export function registerPublishCommand(program: Command): void {
  addClientOptions(
    program
      .command('publish')
      .description('Publish a message to a topic; the body comes from --body, --body-file or stdin')
      .requiredOption('--topic <topic>', 'topic OCID or name')
      .option('--title <title>', 'message title (the subject of emails)')
      .option('--body <text>', 'message body')
      .option('--body-file <path>', 'read the message body from this file')
      .option('--compartment <ocid>', 'look the topic name up only in this compartment'),
  ).action(async (opts: Row) =>
    withOns(opts, async (ons, format) => {
      // The body is read first: a missing file should not cost a topic lookup.
      const body = await readMessageBody(opts);
      const topic = await resolveTopic(ons, String(opts.topic), opts.compartment as string | undefined);
      const res = await ons.client.call<{ messageId: string; timeStamp: string }>('POST', `${ONS}/topics/${enc(String(topic.topicId))}/messages`, { title: opts.title, body });
      if (format === 'json') printObject({ messageId: res.messageId, timeStamp: res.timeStamp });
      else process.stdout.write(`${res.messageId}\n`);
    }),
  );
}
