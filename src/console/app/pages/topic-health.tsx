import { enc, type TopicHealth } from '../api';
import { EmptyRow } from '../empty-row';
import { ago } from '../time';

const pct = (r: number | null): string => (r === null ? '—' : `${(Math.floor(r * 1000) / 10).toFixed(1)}%`);

/** Per-topic health over the chart's range: busiest first, each row leading to its topic's page. */
export function TopicHealthTable({ topics, rangeText, now }: { topics: readonly TopicHealth[]; rangeText: string; now: number }) {
  return (
    <table aria-label="Topic health">
      <thead>
        <tr><th>Topic</th><th>Published</th><th>Delivered</th><th>Failed attempts</th><th>Success rate</th><th>Backlog</th><th>Oldest pending</th></tr>
      </thead>
      <tbody>
        {topics.length === 0 && <EmptyRow columns={7} text={`No topic had traffic or a backlog in ${rangeText}.`} />}
        {topics.map((t) => (
          <tr key={t.topicId} data-topic-id={t.topicId}>
            <td><a href={`#/topics/${enc(t.topicId)}`}>{t.name}</a></td>
            <td data-testid="topic-published">{t.published}</td>
            <td data-testid="topic-delivered">{t.delivered}</td>
            <td>{t.failedAttempts}</td>
            <td data-testid="topic-success-rate">{pct(t.successRate)}</td>
            <td data-testid="topic-backlog">{t.backlog}</td>
            <td>{t.oldestPendingAt === null ? '—' : <time dateTime={new Date(t.oldestPendingAt).toISOString()} title={new Date(t.oldestPendingAt).toLocaleString()}>{ago(t.oldestPendingAt, now)}</time>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
