import { z } from 'zod';
import { definedTagsSchema, tagsSchema } from './topics.js';
import type { Subscription } from '../../core/models.js';

export const createSubscriptionDetails = z.object({
  topicId: z.string(),
  compartmentId: z.string(),
  protocol: z.string(),
  endpoint: z.string(),
  metadata: z.string().optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export const updateSubscriptionDetails = z.object({
  deliveryPolicy: z
    .object({
      backoffRetryPolicy: z
        .object({
          maxRetryDuration: z.number(),
          policyType: z.literal('EXPONENTIAL'),
        })
        .optional(),
    })
    .optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export function deliveryPolicy(s: Subscription): { backoffRetryPolicy: { maxRetryDuration: number; policyType: 'EXPONENTIAL' } } {
  return { backoffRetryPolicy: { maxRetryDuration: s.maxRetryDurationMs, policyType: 'EXPONENTIAL' } };
}

function common(s: Subscription): Record<string, unknown> {
  return {
    id: s.id,
    topicId: s.topicId,
    protocol: s.protocol,
    endpoint: s.endpoint,
    lifecycleState: s.lifecycleState,
    compartmentId: s.compartmentId,
    // OCI sends epoch milliseconds here, unlike every other timestamp.
    createdTime: s.createdAt,
    etag: s.etag,
    freeformTags: s.freeformTags,
    definedTags: s.definedTags,
  };
}

/** Get/Create/Resend: the policy travels as a JSON-encoded string named deliverPolicy. */
export function toSubscription(s: Subscription): Record<string, unknown> {
  return { ...common(s), deliverPolicy: JSON.stringify(deliveryPolicy(s)) };
}

/** List items carry the policy as an object named deliveryPolicy. */
export function toSubscriptionSummary(s: Subscription): Record<string, unknown> {
  return { ...common(s), deliveryPolicy: deliveryPolicy(s) };
}

/** UpdateSubscription answers with UpdateSubscriptionDetails, not a Subscription. */
export function toUpdateSubscriptionDetails(s: Subscription): Record<string, unknown> {
  return { deliveryPolicy: deliveryPolicy(s), freeformTags: s.freeformTags, definedTags: s.definedTags };
}
