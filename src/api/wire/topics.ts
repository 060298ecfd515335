import { z } from 'zod';
import type { Topic } from '../../core/models.js';

export const tagsSchema = z.record(z.string(), z.string());
export const definedTagsSchema = z.record(z.string(), z.record(z.string(), z.unknown()));

export const createTopicDetails = z.object({
  name: z.string(),
  compartmentId: z.string(),
  description: z.string().optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export const topicAttributesDetails = z.object({
  description: z.string().optional(),
  freeformTags: tagsSchema.optional(),
  definedTags: definedTagsSchema.optional(),
});

export const changeCompartmentDetails = z.object({ compartmentId: z.string() });

/** NotificationTopic and NotificationTopicSummary share one field set. */
export function toNotificationTopic(t: Topic, apiEndpoint: string): Record<string, unknown> {
  return {
    name: t.name,
    topicId: t.id,
    shortTopicId: t.shortId,
    compartmentId: t.compartmentId,
    lifecycleState: t.lifecycleState,
    description: t.description ?? undefined,
    timeCreated: new Date(t.createdAt).toISOString(),
    etag: t.etag,
    freeformTags: t.freeformTags,
    definedTags: t.definedTags,
    // The SDK appends /20181201 itself, so this is the bare origin.
    apiEndpoint,
  };
}
