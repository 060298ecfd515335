/** Who is calling: an IAM user of a tenancy, authenticated by signature or console session. */
export interface Principal {
  tenancyId: string;
  userId: string;
}
