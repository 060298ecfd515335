import type { MailRecord } from '../deliveries.js';

/** The development mailbox: EMAIL deliveries kept in the store when no SMTP server is configured. */
export interface MailboxStore {
  insertMail(mail: Omit<MailRecord, 'id'>): Promise<MailRecord>;
  /** The tenancy's mail, newest first. */
  listMail(tenancyId: string, limit: number, to?: string): Promise<MailRecord[]>;
}
