/**
 * The storage ports the domain declares, one per aggregate. A backend (src/store/) implements
 * every one; each consumer is handed only those it uses, typed as `Pick<Ports, ...>` or the port itself.
 */
import type { IdentityStore } from '../iam/identity-store.js';
import type { RetentionStore } from '../retention.js';
import type { ActivityStore } from './activity.js';
import type { ConsoleStore } from './console.js';
import type { DeliveryStore } from './deliveries.js';
import type { DeliveryControlStore } from './delivery-control.js';
import type { DirectoryStore } from './directory.js';
import type { FunctionStore } from './functions.js';
import type { MailboxStore } from './mailbox.js';
import type { MessageStore, PublishStore } from './messages.js';
import type { RetryTokenStore } from './retry-tokens.js';
import type { SettingsStore } from './settings.js';
import type { StatsStore } from './stats.js';
import type { SubscriptionStore } from './subscriptions.js';
import type { TopicStore } from './topics.js';

export interface Ports {
  readonly settings: SettingsStore;
  /** Tenancies, compartments and API keys. */
  readonly directory: DirectoryStore;
  /** Users, groups, memberships, policies, compartment changes and key revocation. */
  readonly identity: IdentityStore;
  readonly retryTokens: RetryTokenStore;
  readonly topics: TopicStore;
  readonly subscriptions: SubscriptionStore;
  readonly messages: MessageStore;
  readonly publishing: PublishStore;
  readonly deliveries: DeliveryStore;
  /** Enabling disabled subscriptions, replay. */
  readonly deliveryControl: DeliveryControlStore;
  readonly activity: ActivityStore;
  readonly mailbox: MailboxStore;
  readonly functions: FunctionStore;
  readonly console: ConsoleStore;
  /** Pruning of what is older than the retention window. */
  readonly retention: RetentionStore;
  /** Per-minute counters of each topic: the console's stored history. */
  readonly stats: StatsStore;
}
