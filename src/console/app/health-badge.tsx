import type { HealthState } from './api';

const MEANING: Record<HealthState, string> = {
  HEALTHY: 'Its last delivery attempt succeeded.',
  FAILING: 'Attempts have been failing since its last success; it is disabled if that lasts too long.',
  DISABLED: 'No delivery succeeded for too long: its deliveries are held until it is enabled.',
};

/** A subscription's endpoint health (GET .../health) as a badge; the title says what the state means. A dash when unknown. */
export function HealthBadge({ state }: { state: HealthState | undefined }) {
  if (state === undefined) return <span class="hint" data-testid="health-state">—</span>;
  return (
    <span class={`state state-${state}`} data-testid="health-state" data-state={state} title={MEANING[state]}>
      {state}
    </span>
  );
}
